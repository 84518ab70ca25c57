// DORA ratings. The 'seed' profile has the thresholds of the seed service's
// classify_df / classify_lt / classify_cfr / classify_mttr; 'dora-2023' the
// 2023 State of DevOps report's clusters. The same thresholds are in the SQL
// functions fourkeys_rate_* (schemas/sql/004_dora_summary.sql) for BI
// tools; a test keeps the two in step.
#pragma once

#include <optional>
#include <string_view>

namespace fourkeys::worker {

enum class RatingProfile { seed, dora2023 };

// "seed" or "dora-2023"; nullopt for anything else.
std::optional<RatingProfile> parse_rating_profile(std::string_view text);
std::string_view profile_name(RatingProfile profile);

// Each returns "elite", "high", "medium" or "low".
std::string_view rate_deployment_frequency(double per_day, RatingProfile profile = RatingProfile::seed);
std::string_view rate_lead_time(double hours, RatingProfile profile = RatingProfile::seed);
std::string_view rate_change_failure_rate(double percent, RatingProfile profile = RatingProfile::seed);
std::string_view rate_time_to_restore(double minutes, RatingProfile profile = RatingProfile::seed);

}  // namespace fourkeys::worker

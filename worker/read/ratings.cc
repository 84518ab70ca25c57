#include "worker/read/ratings.h"

namespace fourkeys::worker {

std::optional<RatingProfile> parse_rating_profile(std::string_view text) {
  if (text == "seed") return RatingProfile::seed;
  if (text == "dora-2023") return RatingProfile::dora2023;
  return std::nullopt;
}

std::string_view profile_name(RatingProfile profile) {
  return profile == RatingProfile::seed ? "seed" : "dora-2023";
}

std::string_view rate_deployment_frequency(double d, RatingProfile) {
  // The 2023 report's frequency clusters (on demand / daily-weekly /
  // weekly-monthly / less) fall on the same boundaries.
  return d >= 1 ? "elite" : d >= 1.0 / 7 ? "high" : d >= 1.0 / 30 ? "medium" : "low";
}

std::string_view rate_lead_time(double h, RatingProfile profile) {
  if (profile == RatingProfile::dora2023) {
    return h < 24 ? "elite" : h < 24 * 7 ? "high" : h < 24 * 30 ? "medium" : "low";
  }
  return h < 1 ? "elite" : h < 24 * 7 ? "high" : h < 24 * 30 * 6 ? "medium" : "low";
}

std::string_view rate_change_failure_rate(double r, RatingProfile profile) {
  if (profile == RatingProfile::dora2023) {
    return r <= 5 ? "elite" : r <= 10 ? "high" : r <= 15 ? "medium" : "low";
  }
  return r <= 15 ? "elite" : r <= 30 ? "high" : r <= 45 ? "medium" : "low";
}

std::string_view rate_time_to_restore(double m, RatingProfile) {
  return m < 60 ? "elite" : m < 60 * 24 ? "high" : m < 60 * 24 * 7 ? "medium" : "low";
}

}  // namespace fourkeys::worker

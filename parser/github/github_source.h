// GitHub: authentication and normalization of deliveries.
#pragma once

#include "parser/source.h"
#include "parser/source_settings.h"

#include <memory>

namespace fourkeys::parser {

// Builds the github source with the credentials in `settings` (copied).
std::unique_ptr<Source> make_github_source(const SourceSettings& settings);

// The pure normalizer behind the source, callable without authentication
// (tests run it directly on fixtures). Requires nothing of the delivery;
// never throws on sender input.
Outcome normalize_github(const Delivery& delivery, const NormalizeOptions& options);

}  // namespace fourkeys::parser

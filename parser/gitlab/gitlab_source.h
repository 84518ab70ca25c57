// GitLab: authentication and normalization of deliveries.
#pragma once

#include "parser/source.h"
#include "parser/source_settings.h"

#include <memory>

namespace fourkeys::parser {

// Builds the gitlab source with the credentials in `settings` (copied).
std::unique_ptr<Source> make_gitlab_source(const SourceSettings& settings);

// The pure normalizer behind the source, callable without authentication
// (tests run it directly on fixtures). Requires nothing of the delivery;
// never throws on sender input.
// The event is the body's object_kind (X-Gitlab-Event only when the body has
// none); Outcome.source_event is the X-Gitlab-Event value ("Push Hook"), or
// object_kind without the header. The envelope id is "gitlab:" +
// Idempotency-Key, else X-Gitlab-Event-UUID, else the body's SHA-1.
// Content types other than application/json (or none) are unsupported.
Outcome normalize_gitlab(const Delivery& delivery, const NormalizeOptions& options);

}  // namespace fourkeys::parser

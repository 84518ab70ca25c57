// the API routes: authentication and normalization of deliveries.
#pragma once

#include <memory>

#include "parser/source.h"
#include "parser/source_settings.h"

namespace fourkeys::parser {

// Builds the api source with the credentials in `settings` (copied).
std::unique_ptr<Source> make_api_source(const SourceSettings& settings);

// The pure normalizer behind the source, callable without authentication
// (tests run it directly on fixtures). Requires nothing of the delivery;
// never throws on sender input.
//
// Routes: /events/deployment and /deployments -> deployment, /events/incident
// -> incident; source_event is "deployment", "deployments" or "incident".
// Bodies are JSON, sent as application/json, with no Content-Type, or as
// application/x-www-form-urlencoded when the body is JSON all the same
// (`curl -d` without -H); anything else is unsupported. The id is
// "api:<sha256 of the canonical body>", so a re-post is a redelivery and an
// update is a new event. A deployment with neither commit_sha nor deployed_at,
// or an incident without incident_id or detected_at, is dead-lettered with
// the missing fields named; a missing deployed_at otherwise falls back to the
// time of receipt, a missing status to success.
Outcome normalize_api(const Delivery& delivery, const NormalizeOptions& options);

}  // namespace fourkeys::parser

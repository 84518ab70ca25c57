// PagerDuty: authentication and normalization of deliveries.
#pragma once

#include <memory>

#include "parser/source.h"
#include "parser/source_settings.h"

namespace fourkeys::parser {

// Builds the pagerduty source with the credentials in `settings` (copied).
std::unique_ptr<Source> make_pagerduty_source(const SourceSettings& settings);

// The pure normalizer behind the source, callable without authentication
// (tests run it directly on fixtures). Requires nothing of the delivery;
// never throws on sender input.
//
// v3 (`{"event": {...}}`): incident.triggered and incident.reopened -> open,
// incident.acknowledged -> acknowledged, incident.resolved -> resolved
// (resolved_at = event.occurred_at); every other event type is ignored.
// id "pagerduty:<event.id>" (else X-Webhook-Id, else the SHA-1 fallback);
// service = the PagerDuty service name, repository empty; severity = urgency.
// Legacy v2 (`{"messages": [...]}`): incident.trigger / acknowledge / resolve,
// only the first such message of a delivery is normalized.
// An incident without its id or without a time is dead-lettered, and so is
// JSON that is neither v3 nor v2. Content types other than application/json
// (or none) are unsupported.
Outcome normalize_pagerduty(const Delivery& delivery, const NormalizeOptions& options);

}  // namespace fourkeys::parser

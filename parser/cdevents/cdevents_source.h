// CDEvents: authentication and normalization of deliveries.
#pragma once

#include <memory>

#include "parser/source.h"
#include "parser/source_settings.h"

namespace fourkeys::parser {

// Builds the cdevents source with the credentials in `settings` (copied).
std::unique_ptr<Source> make_cdevents_source(const SourceSettings& settings);

// The pure normalizer behind the source, callable without authentication
// (tests run it directly on fixtures). Requires nothing of the delivery;
// never throws on sender input.
//
// Takes CloudEvents binary mode (ce-* headers, the CDEvent as the JSON body),
// structured mode (application/cloudevents+json, the CDEvent under `data`)
// and a bare CDEvent posted as application/json; batch mode is unsupported.
// change.merged -> change; service.deployed / upgraded / rolledback ->
// a successful deployment with no sha (CDEvents name artifacts, not commits;
// rolledback sets is_rollback); incident.detected / reported -> open,
// incident.resolved -> resolved; pipelinerun.finished -> kind other; any
// other CDEvent, or a CloudEvent that is not a CDEvent, is ignored.
// id "cdevents:<context.id>" (else ce-id, else the SHA-1 fallback); a
// CDEvent with no time (context.timestamp or ce-time) is dead-lettered.
Outcome normalize_cdevents(const Delivery& delivery, const NormalizeOptions& options);

}  // namespace fourkeys::parser

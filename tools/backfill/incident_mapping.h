// A PagerDuty REST incident becomes what its webhooks would have become: a
// v3 webhook body per state the incident is known to have passed through
// (incident.triggered at created_at; incident.acknowledged when an
// acknowledgement time is known; incident.resolved at resolved_at), each run
// through the receiver's own PagerDuty normalizer. So a backfilled envelope
// has the webhook's source, service naming, incident id and field mapping by
// construction, and the worker folds webhook and backfill reports of one
// incident into one incidents row.
//
// Pure: no I/O, no clock (the receive time comes in).
#pragma once

#include "common/time.h"
#include "parser/envelope.h"

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace fourkeys::backfill {

struct SyntheticWebhook {
  std::string event_type;  // incident.triggered, incident.acknowledged, incident.resolved
  std::string event_id;    // event.id: backfill:<incident id>:<state>:<time>
  std::string body;        // the v3 webhook body, compact JSON
};

struct IncidentWebhooks {
  std::vector<SyntheticWebhook> webhooks;
  // Why the incident, or one of its states, could not be mapped (no id, no
  // creation time, resolved without a resolution time). Empty when all was.
  std::vector<std::string> problems;
};

// The webhook bodies for `incident` (an entry of `GET /incidents`), in
// lifecycle order. The event id is derived from the incident id, the state
// and the state's time, so a second run over the same history gives the same
// ids and the worker stores nothing twice.
IncidentWebhooks incident_webhooks(const boost::json::object& incident);

struct BackfillEnvelope {
  parser::Envelope envelope;
  std::string body;  // the webhook body the envelope's `raw` is, byte for byte
};

struct IncidentEnvelopes {
  std::vector<BackfillEnvelope> envelopes;
  std::vector<std::string> problems;
};

// incident_webhooks, then the receiver's PagerDuty normalizer on each body
// (as a delivery to /webhooks/pagerduty received at `received_at`). A body
// the normalizer does not publish is a problem, not an envelope.
IncidentEnvelopes incident_envelopes(const boost::json::object& incident, EpochMillis received_at);

}  // namespace fourkeys::backfill

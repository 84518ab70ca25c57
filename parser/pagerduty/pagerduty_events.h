// Internal to the pagerduty source: the two webhook generations PagerDuty
// has sent, each turned into an incident envelope. Both take the parsed body
// by value because it ends up as the envelope's `raw`.
#pragma once

#include <boost/json/value.hpp>
#include <initializer_list>
#include <string>
#include <string_view>

#include "parser/source.h"

namespace fourkeys::parser::pagerduty {

// Requires `body` to be an object with an `event` object (v3 webhook
// subscriptions: `{"event": {id, event_type, occurred_at, data}}`).
Outcome normalize_v3(boost::json::value body, const Delivery& delivery,
                     const NormalizeOptions& options);

// Requires `body` to be an object with a `messages` member (legacy v2
// webhooks: `{"messages": [{id, event, created_on, incident}]}`).
Outcome normalize_v2(boost::json::value body, const Delivery& delivery,
                     const NormalizeOptions& options);

// The PagerDuty service name as the envelope's service; repository stays
// empty (PagerDuty knows services, not repositories: the service map joins
// them). "unknown" plus the "service" default when the sender names none.
void set_service(Envelope& env, std::string name);

// The first "root cause: <sha>" found in the string members `keys` of
// `object` (non-strings and missing members are skipped).
std::string root_cause_in(const boost::json::value& object,
                          std::initializer_list<std::string_view> keys);

// `object[key]`, or a JSON null when `object` is not an object or lacks the
// key; lets nested reads go on without a check at every step.
const boost::json::value& member(const boost::json::value& object, std::string_view key);

// The first of `keys` present in `object` as a string, or empty.
std::string first_string(const boost::json::value& object,
                         std::initializer_list<std::string_view> keys);

}  // namespace fourkeys::parser::pagerduty

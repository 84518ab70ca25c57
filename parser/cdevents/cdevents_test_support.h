// Test helpers shared by the cdevents tests: deliveries in the CloudEvents
// HTTP binding's binary and structured modes, built from a CDEvent body.
#pragma once

#include <string>

#include "parser/cdevents/cdevents_source.h"

namespace fourkeys::parser::cdevents_test {

inline constexpr std::int64_t kReceivedAt = 1700000000000;  // 2023-11-14T22:13:20.000Z

NormalizeOptions options();

// Binary mode: the CDEvent is the body, its context goes in ce-* headers.
Outcome run_binary(const std::string& cdevent_json);

// Structured mode: the CDEvent becomes `data` of a CloudEvent whose
// attributes are taken from its context. `body_out` receives the body sent.
Outcome run_structured(const std::string& cdevent_json, std::string* body_out = nullptr);

// Any headers and body.
Outcome run(const Headers& headers, const std::string& body);

}  // namespace fourkeys::parser::cdevents_test

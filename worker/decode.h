// Decode stage: one Kafka message value (an envelope, JSON text) → typed base
// rows. Pure: no I/O. The envelope is checked against
// schemas/event.v1.schema.json (compiled into the program) before anything
// is read from it, so later stages can rely on its shape.
#pragma once

#include "worker/model.h"

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace fourkeys::worker {

// What one envelope says, as rows for the apply stage.
struct DecodedEvent {
  std::string id;            // envelope id, the idempotency key
  std::string source;
  std::string source_event;
  std::string kind;          // change, deployment, incident, other
  std::string service;
  std::string team;          // empty when null
  std::string repository;    // empty when null
  std::string signature;
  Millis occurred_at = 0;
  Millis received_at = 0;
  std::string environment;   // the deployment's or incident's; empty otherwise

  // At most one family is filled, by kind:
  std::optional<PushRow> push;            // change: a push (with commits)
  std::vector<ChangeRow> changes;         // change: its commits, or a merge commit
  std::optional<DeploymentEventRow> deployment;
  std::optional<IncidentEventRow> incident;
};

struct DecodeError {
  std::string reason;  // what is wrong, naming the field; safe to log (no body text)
};

using DecodeResult = std::variant<DecodedEvent, DecodeError>;

// Decodes one envelope. Never throws on bad input; a DecodeError says why
// (not JSON, schema violation with the JSON path, a string Postgres cannot
// store such as one holding U+0000).
DecodeResult decode_envelope(std::string_view text);

// What decode_envelope() gives for `text`, always the way it decodes what
// its common-case path refuses (the whole tree, valijson): for tests, which
// hold the two paths to the same result.
DecodeResult decode_envelope_whole(std::string_view text);

// The schema violations of `text` (empty when valid, or a message when it is
// not JSON). Exposed for tools and tests.
std::string envelope_schema_errors(std::string_view text);

}  // namespace fourkeys::worker

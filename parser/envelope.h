// The normalized event every source produces (schemas/event.v1.schema.json).
// Field names are a contract with the worker and other consumers; see
// DESIGN.md "The envelope". Empty strings mean "the sender did not say" and
// are written as JSON null.
#pragma once

#include "common/json.h"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fourkeys::parser {

struct Commit {
  std::string sha;
  std::string time;    // RFC 3339 UTC with milliseconds
  std::string author;
  std::string title;   // first line of the message
  // The repository paths the commit adds, modifies or removes, as the sender
  // lists them (GitHub and GitLab pushes). Not written to the envelope: the
  // service map splits a monorepo's push by them, and `raw` keeps them.
  std::vector<std::string> files;
};

// A push (ref, before, after, commits) or a merged pull/merge request
// (number, merge_sha, created_at, merged_at, base_ref).
struct Change {
  std::string ref;
  std::string before;
  std::string after;
  std::vector<Commit> commits;
  std::optional<std::int64_t> number;
  std::string merge_sha;
  std::string created_at;
  std::string merged_at;
  std::string base_ref;
  // Set when the service map split a monorepo's push (see
  // service_resolver.h): every commit of the push, oldest first, while
  // `commits` keeps only those that touched this service. Linking walks the
  // whole chain from a deployed commit but counts only `commits`.
  std::vector<std::string> chain;
};

struct Deployment {
  std::string id;
  std::string environment;  // "production" when the sender names none
  std::string sha;
  std::string status;       // success, failure, error, in_progress, queued, cancelled
  std::string started_at;
  std::string finished_at;
  bool is_rollback = false;
  bool is_hotfix = false;
  std::vector<std::string> additional_shas;
  std::string commit_time;  // optional; API callers may send it
};

struct Incident {
  std::string id;
  std::string status;  // open, acknowledged, resolved
  std::string created_at;
  std::string resolved_at;
  std::string root_cause_sha;
  std::string severity;
  std::string title;
  std::string environment;
};

// The delivery's parsed body. A parsed body lives in its own arena (see
// json::parse); Boost.JSON's move assignment would copy the whole tree into
// the target's storage, so this type's move assignment takes the source's
// storage instead. Everything else is boost::json::value.
class RawJson : public boost::json::value {
 public:
  RawJson() = default;
  RawJson(boost::json::value&& v) noexcept : boost::json::value(std::move(v)) {}  // NOLINT: implicit by design
  RawJson(const boost::json::value& v) : boost::json::value(v) {}                  // NOLINT
  RawJson(const RawJson&) = default;
  RawJson(RawJson&& other) noexcept = default;
  RawJson& operator=(const RawJson&) = default;
  RawJson& operator=(RawJson&& other) noexcept {
    return *this = static_cast<boost::json::value&&>(other);
  }
  RawJson& operator=(boost::json::value&& other) noexcept {
    if (&other == this) return *this;
    // `other` may live inside this value: take it out before replacing.
    boost::json::value taken(std::move(other));
    json::move_into(*this, std::move(taken));
    return *this;
  }
  RawJson& operator=(const boost::json::value& other) {
    boost::json::value::operator=(other);
    return *this;
  }
};

enum class Kind { change, deployment, incident, other };
const char* to_string(Kind kind);

struct Envelope {
  std::string id;            // "<source>:<stable delivery id>"
  std::string source;        // github, gitlab, pagerduty, api, cdevents
  std::string source_event;  // the sender's event name
  Kind kind = Kind::other;
  std::string service;
  std::string team;
  std::string repository;
  std::string received_at;
  std::string occurred_at;
  std::string signature;     // SHA-1 hex of the raw body
  std::optional<Change> change;
  std::optional<Deployment> deployment;
  std::optional<Incident> incident;
  // Defaults taken because the sender left something out ("service",
  // "environment", "id", "zone", ...); listed in README and counted in /metrics.
  std::vector<std::string> defaults;
  // Set on each part of a delivery the service map split into several
  // envelopes (a monorepo's push): the id the whole delivery would have had.
  std::string part_of;
  // What normalizing the delivery again needs besides `raw` (fourkeys-worker
  // --rebuild with a changed service map): the request path and the headers
  // the normalizers read (normalization_headers in delivery.h); never
  // credentials. Empty path: not kept (an envelope from an older receiver).
  std::string delivery_path;
  std::vector<std::pair<std::string, std::string>> delivery_headers;
  // The delivery's JSON body, unchanged: as a parsed tree in `raw`, or, from
  // normalizers that read their fields without building a tree (GitHub
  // push), as text in `raw_text` with `raw` left null.
  RawJson raw;
  // The body's JSON text when it is not the request body itself (GitHub's
  // form-encoded `payload=` field) or when `raw` holds no tree; empty
  // otherwise.
  std::string raw_text;

  // Not written: what the service map matches on besides the repository
  // and the service name (see service_map/service_resolver.h).
  struct Origin {
    std::string pagerduty_service_id;  // the PagerDuty service's id
    std::string cdevents_source;       // the CDEvent's context.source (or ce-source)
    std::string deployment_task;       // a GitHub deployment's task
    std::string deployment_service;    // a GitHub deployment payload's "service"
    std::string workflow;              // the GitHub workflow or check that deployed
  } origin;
};

// The body's JSON text to write as the envelope's `raw`: raw_text, or else
// `raw` serialized.
std::string raw_json_text(const Envelope& envelope);

// The schema's JSON object (for tests and tools; the receiver writes text
// with serialize_envelope).
boost::json::value to_json(const Envelope& envelope);

// The envelope as JSON text, with `raw_json` (a complete JSON text, already
// validated by the parser) written as `raw` byte for byte instead of
// re-serializing the parsed tree: the sender's body stays exactly as sent,
// and the receiver does not copy a large tree per delivery.
std::string serialize_envelope(const Envelope& envelope, std::string_view raw_json);

// The CloudEvents type for the envelope: "dev.fourkeys.<kind>.v1".
std::string cloudevents_type(const Envelope& envelope);

}  // namespace fourkeys::parser

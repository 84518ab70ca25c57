// The interface every source folder implements (parser/github, parser/gitlab,
// ...). A source authenticates a delivery with its own credentials and
// normalizes it into an Envelope. Both are pure: no I/O, no clock, no
// globals; everything they need comes in through the arguments, which is
// what lets the tests run them directly on fixture files.
#pragma once

#include "parser/delivery.h"
#include "parser/envelope.h"

#include <cstdint>
#include <memory>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

namespace fourkeys::parser {

enum class AuthStatus {
  ok,
  not_configured,  // no secret set for this source: 401 naming the setting
  missing,         // the delivery carries no signature or token: 401
  mismatch,        // signature or token present but wrong: 401
};

struct AuthResult {
  AuthStatus status = AuthStatus::ok;
  // Safe to show the sender: names headers and settings, never values.
  std::string message;
  bool ok() const { return status == AuthStatus::ok; }
};

enum class Disposition {
  publish,        // an envelope to put on the events topic (202)
  ignored,        // carries no DORA signal: 200 {"status":"ignored"}, not published
  dead_letter,    // valid JSON without the signal: raw bytes to the dead-letter topic (202)
  bad_request,    // the body is not what the content type says (400, says where)
  unsupported,    // a content type this route does not take (415)
};

struct Outcome {
  Disposition disposition = Disposition::publish;
  Envelope envelope;   // set when disposition == publish
  std::string reason;  // why it was ignored, dead-lettered or rejected
  std::string source_event;  // the sender's event name, when known (for logs and metrics)
};

// Settings that change how deliveries are read, passed to every normalize
// call. Owned by the caller.
struct NormalizeOptions {
  std::int64_t received_at_millis = 0;  // the receiver's clock when the request arrived
  std::string incident_label = "Incident";
  // GitHub Actions workflows (workflow_run) and checks (check_run) whose
  // completion is a deployment, by name, with the environment they deploy
  // to ("" means the default, production). FOURKEYS_GITHUB_DEPLOY_WORKFLOWS.
  std::vector<std::pair<std::string, std::string>> deploy_workflows;
};

// Reads "Deploy production=production,Deploy to staging=staging,release" into
// (name, environment) pairs; a name without "=" gets "" (the default).
std::vector<std::pair<std::string, std::string>> parse_deploy_workflows(std::string_view text);

class Source {
 public:
  virtual ~Source() = default;

  // "github", "gitlab", ...: the envelope's `source` and the metrics label.
  virtual std::string_view name() const = 0;

  // The request paths this source answers (exact match, POST only).
  virtual std::vector<std::string> routes() const = 0;

  // True when the headers show that this source sent the delivery; used by
  // `POST /`, which finds the source as Four Keys' event-handler does.
  virtual bool recognizes(const Headers& headers) const = 0;

  // Checks the signature or token against the configured secrets in
  // constant time. Must be called, and must succeed, before normalize.
  virtual AuthResult authenticate(const Delivery& delivery) const = 0;

  // Turns an authenticated delivery into an envelope, or says why not.
  virtual Outcome normalize(const Delivery& delivery, const NormalizeOptions& options) const = 0;
};

}  // namespace fourkeys::parser

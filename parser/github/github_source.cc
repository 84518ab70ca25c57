#include "parser/github/github_source.h"

#include "common/json.h"

#include "parser/github/github_events.h"
#include "parser/github/github_form.h"
#include "parser/github/github_signature.h"
#include "parser/normalize_support.h"

#include <string>

namespace fourkeys::parser {
namespace {

constexpr std::string_view kRoute = "/webhooks/github";

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

// Events that never carry a DORA signal here, with the reason given for them.
std::string ignored_reason(std::string_view event) {
  if (event == "check_suite") return "check suites are not deployments; name a check_run or workflow_run instead";
  if (event == "ping") return "ping: the hook is set up";
  return "github event '" + std::string(event) + "' carries no DORA signal";
}

class GithubSource final : public Source {
 public:
  explicit GithubSource(const SourceSettings& settings)
      : keys_(settings.github_secrets), allow_sha1_(settings.github_allow_sha1) {}

  std::string_view name() const override { return "github"; }

  std::vector<std::string> routes() const override { return {std::string(kRoute)}; }

  bool recognizes(const Headers& headers) const override {
    return starts_with_ignoring_case(headers.get("User-Agent"), "GitHub-Hookshot") ||
           headers.has("X-GitHub-Event");
  }

  AuthResult authenticate(const Delivery& delivery) const override {
    return check_github_signature(delivery.headers, delivery.body, keys_, allow_sha1_);
  }

  Outcome normalize(const Delivery& delivery, const NormalizeOptions& options) const override {
    return normalize_github(delivery, options);
  }

 private:
  GithubKeys keys_;
  bool allow_sha1_;
};

}  // namespace

std::unique_ptr<Source> make_github_source(const SourceSettings& settings) {
  return std::make_unique<GithubSource>(settings);
}

Outcome normalize_github(const Delivery& delivery, const NormalizeOptions& options) {
  const std::string event(delivery.headers.get("X-GitHub-Event"));
  Outcome outcome;
  outcome.source_event = event;

  // The JSON text: the body itself, or the form's `payload` field. The
  // signature (and the envelope's) stays over the body as sent.
  const std::string type = media_type(delivery.headers);
  std::string form_json;
  std::string_view json_text = delivery.body;
  if (type == "application/x-www-form-urlencoded") {
    std::string error;
    auto payload = form_payload(delivery.body, error);
    if (!payload) {
      outcome.disposition = Disposition::bad_request;
      outcome.reason = std::move(error);
      return outcome;
    }
    form_json = std::move(*payload);
    json_text = form_json;
  } else if (!type.empty() && type != "application/json") {
    return unsupported(event, "Content-Type " + type + " is not accepted on " + std::string(kRoute) +
                                  ": use application/json or application/x-www-form-urlencoded");
  }

  const GithubDeliveryContext ctx{event, delivery.headers.get("X-GitHub-Delivery"), delivery.body,
                                  options};
  if (event == "push") {
    // The most frequent delivery: its fields are read without a parsed tree,
    // and the envelope keeps the text.
    json::ParseError error;
    auto fields = read_push_fields(json_text, error);
    if (!fields) {
      reject_body(error, outcome);
      return outcome;
    }
    Outcome result = map_push(*fields, ctx);
    if (result.disposition == Disposition::publish) {
      result.envelope.raw_text = form_json.empty() ? std::string(json_text) : std::move(form_json);
    }
    return result;
  }

  auto payload = parse_body(json_text, outcome);
  if (!payload) return outcome;
  if (event.empty()) return dead_letter(event, "missing X-GitHub-Event header");

  Outcome result;
  if (event == "pull_request") result = map_pull_request(*payload, ctx);
  else if (event == "deployment") result = map_deployment(*payload, ctx);
  else if (event == "deployment_status") result = map_deployment_status(*payload, ctx);
  else if (event == "issues") result = map_issues(*payload, ctx);
  else if (event == "release") result = map_release(*payload, ctx);
  else if (event == "workflow_run" || event == "check_run") result = map_deploy_run(*payload, ctx);
  else return ignored(event, ignored_reason(event));

  if (result.disposition == Disposition::publish) {
    json::move_into(result.envelope.raw, std::move(*payload));
    if (!form_json.empty()) result.envelope.raw_text = std::move(form_json);
  }
  return result;
}

}  // namespace fourkeys::parser

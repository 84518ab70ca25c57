#include "parser/pagerduty/pagerduty_source.h"

#include "common/json.h"
#include "parser/normalize_support.h"
#include "parser/pagerduty/pagerduty_events.h"
#include "parser/pagerduty/pagerduty_signature.h"
#include "parser/root_cause.h"

namespace fourkeys::parser {

namespace pagerduty {

const boost::json::value& member(const boost::json::value& object, std::string_view key) {
  static const boost::json::value kNull;
  const auto* found = json::find(object, {key});
  return found ? *found : kNull;
}

void set_service(Envelope& env, std::string name) {
  if (name.empty()) {
    env.service = "unknown";
    env.defaults.push_back("service");
  } else {
    env.service = std::move(name);
  }
}

std::string root_cause_in(const boost::json::value& object,
                          std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) {
    const auto text = json::get_string(object, {key});
    if (!text) continue;
    std::string sha = find_root_cause_sha(*text);
    if (!sha.empty()) return sha;
  }
  return {};
}

std::string first_string(const boost::json::value& object,
                         std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) {
    auto text = json::get_string(object, {key});
    if (text && !text->empty()) return std::move(*text);
  }
  return {};
}

}  // namespace pagerduty

namespace {

bool starts_with_icase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

class PagerDutySource final : public Source {
 public:
  explicit PagerDutySource(SecretSet secrets) : secrets_(std::move(secrets)) {}

  std::string_view name() const override { return "pagerduty"; }
  std::vector<std::string> routes() const override { return {"/webhooks/pagerduty"}; }

  bool recognizes(const Headers& headers) const override {
    return headers.has("X-PagerDuty-Signature") ||
           starts_with_icase(headers.get("User-Agent"), "PagerDuty");
  }

  AuthResult authenticate(const Delivery& delivery) const override {
    return check_pagerduty_signature(delivery.headers.get("X-PagerDuty-Signature"), delivery.body,
                                     secrets_);
  }

  Outcome normalize(const Delivery& delivery, const NormalizeOptions& options) const override {
    return normalize_pagerduty(delivery, options);
  }

 private:
  SecretSet secrets_;
};

}  // namespace

std::unique_ptr<Source> make_pagerduty_source(const SourceSettings& settings) {
  return std::make_unique<PagerDutySource>(settings.pagerduty_secrets);
}

Outcome normalize_pagerduty(const Delivery& delivery, const NormalizeOptions& options) {
  const std::string type = media_type(delivery.headers);
  if (!type.empty() && type != "application/json") {
    return unsupported({}, "PagerDuty webhooks are application/json, not " + type);
  }
  Outcome outcome;
  auto body = parse_body(delivery.body, outcome);
  if (!body) return outcome;
  if (!body->is_object()) return dead_letter("", "the body is not a JSON object");
  if (pagerduty::member(*body, "event").is_object()) {
    return pagerduty::normalize_v3(std::move(*body), delivery, options);
  }
  if (!pagerduty::member(*body, "messages").is_null()) {
    return pagerduty::normalize_v2(std::move(*body), delivery, options);
  }
  return dead_letter("", "neither a v3 webhook (no event object) nor a v2 webhook (no messages)");
}

}  // namespace fourkeys::parser

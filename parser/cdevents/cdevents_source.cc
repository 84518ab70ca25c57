#include "parser/cdevents/cdevents_source.h"

#include "common/json.h"
#include "parser/bearer_auth.h"
#include "parser/cdevents/cdevents_mapping.h"
#include "parser/normalize_support.h"

namespace fourkeys::parser {
namespace {

constexpr std::string_view kStructured = "application/cloudevents+json";
constexpr std::string_view kBatch = "application/cloudevents-batch+json";

std::string string_member(const boost::json::value& v, std::string_view key) {
  return json::get_string(v, {key}).value_or("");
}

cdevents::CloudEventAttributes attributes_from_headers(const Headers& headers) {
  return {std::string(headers.get("ce-id")), std::string(headers.get("ce-type")),
          std::string(headers.get("ce-source")), std::string(headers.get("ce-time"))};
}

cdevents::CloudEventAttributes attributes_from_body(const boost::json::value& event) {
  return {json::get_id(event, {"id"}), string_member(event, "type"), string_member(event, "source"),
          string_member(event, "time")};
}

// Structured mode: the CDEvent is the CloudEvent's `data`, normally an
// object; some SDKs put it there as a JSON string.
Outcome normalize_structured(boost::json::value&& body, std::string_view raw_body,
                             const NormalizeOptions& options) {
  const auto attributes = attributes_from_body(body);
  const auto* data = json::find(body, {"data"});
  if (!data || data->is_null()) {
    if (json::find(body, {"data_base64"})) {
      return dead_letter(attributes.type, "data_base64 is not read: send the CDEvent as JSON data");
    }
    return dead_letter(attributes.type, "the CloudEvent has no data (the CDEvent)");
  }
  if (const auto* text = data->if_string()) {
    json::ParseError error;
    const auto parsed = json::parse(*text, error);
    if (!parsed || !parsed->is_object()) {
      return dead_letter(attributes.type, "the CloudEvent's data string is not a JSON object");
    }
    return cdevents::map_cdevent(*parsed, attributes, raw_body, std::move(body), options);
  }
  if (!data->is_object())
    return dead_letter(attributes.type, "the CloudEvent's data is not an object");
  return cdevents::map_cdevent(*data, attributes, raw_body, std::move(body), options);
}

class CdeventsSource final : public Source {
 public:
  explicit CdeventsSource(SecretSet tokens) : tokens_(std::move(tokens)) {}

  std::string_view name() const override { return "cdevents"; }
  std::vector<std::string> routes() const override { return {"/webhooks/cdevents"}; }

  bool recognizes(const Headers& headers) const override {
    // The batch media type is recognized too, so that it gets its 415 here
    // rather than a wrong source's answer.
    return headers.has("ce-specversion") ||
           media_type(headers).rfind("application/cloudevents", 0) == 0;
  }

  AuthResult authenticate(const Delivery& delivery) const override {
    return check_bearer(delivery.headers, tokens_, "FOURKEYS_API_TOKEN");
  }

  Outcome normalize(const Delivery& delivery, const NormalizeOptions& options) const override {
    return normalize_cdevents(delivery, options);
  }

 private:
  SecretSet tokens_;
};

}  // namespace

std::unique_ptr<Source> make_cdevents_source(const SourceSettings& settings) {
  return std::make_unique<CdeventsSource>(settings.api_tokens);
}

Outcome normalize_cdevents(const Delivery& delivery, const NormalizeOptions& options) {
  const std::string type = media_type(delivery.headers);
  if (type == kBatch) {
    return unsupported({},
        "CloudEvents batch mode is not supported: send one event per request, in binary or "
        "structured mode");
  }
  const bool structured = type == kStructured;
  if (!structured && !type.empty() && type != "application/json") {
    return unsupported({}, "CDEvents are taken as application/json (binary mode) or " +
                       std::string(kStructured) + " (structured mode), not " + type);
  }
  Outcome outcome;
  auto body = parse_body(delivery.body, outcome);
  if (!body) return outcome;
  if (!body->is_object()) return dead_letter("", "the body is not a JSON object");

  if (structured) return normalize_structured(std::move(*body), delivery.body, options);
  if (delivery.headers.has("ce-specversion")) {
    const auto attributes = attributes_from_headers(delivery.headers);
    const boost::json::value& cdevent = *body;
    return cdevents::map_cdevent(cdevent, attributes, delivery.body, std::move(*body), options);
  }
  // Without ce-* headers or the structured media type: a bare CDEvent, or a
  // structured CloudEvent sent as plain JSON, as hand-written emitters do.
  if (json::find(*body, {"context"})) {
    const boost::json::value& cdevent = *body;
    return cdevents::map_cdevent(cdevent, {}, delivery.body, std::move(*body), options);
  }
  if (json::find(*body, {"specversion"})) {
    return normalize_structured(std::move(*body), delivery.body, options);
  }
  return dead_letter(
      "", "neither a CDEvent (no context) nor a CloudEvent (no ce-* headers, no specversion)");
}

}  // namespace fourkeys::parser

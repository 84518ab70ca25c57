#include "parser/cdevents/cdevents_test_support.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "common/json.h"

namespace fourkeys::parser::cdevents_test {
namespace {

boost::json::value parse_or_throw(const std::string& text) {
  json::ParseError error;
  auto v = json::parse(text, error);
  if (!v) throw std::runtime_error("test body is not JSON: " + error.message);
  return *v;
}

std::string context_field(const boost::json::value& cdevent, std::string_view key) {
  return json::get_string(cdevent, {"context", key}).value_or("");
}

}  // namespace

NormalizeOptions options() {
  NormalizeOptions o;
  o.received_at_millis = kReceivedAt;
  return o;
}

Outcome run(const Headers& headers, const std::string& body) {
  return normalize_cdevents(Delivery{"/webhooks/cdevents", headers, body}, options());
}

Outcome run_binary(const std::string& cdevent_json) {
  const auto cdevent = parse_or_throw(cdevent_json);
  const Headers headers{{"Content-Type", "application/json"},
                        {"ce-specversion", "1.0"},
                        {"ce-id", context_field(cdevent, "id")},
                        {"ce-type", context_field(cdevent, "type")},
                        {"ce-source", context_field(cdevent, "source")},
                        {"ce-time", context_field(cdevent, "timestamp")}};
  return run(headers, cdevent_json);
}

Outcome run_structured(const std::string& cdevent_json, std::string* body_out) {
  auto cdevent = parse_or_throw(cdevent_json);
  boost::json::object event;
  event["specversion"] = "1.0";
  event["id"] = context_field(cdevent, "id");
  event["type"] = context_field(cdevent, "type");
  event["source"] = context_field(cdevent, "source");
  event["time"] = context_field(cdevent, "timestamp");
  event["datacontenttype"] = "application/json";
  event["data"] = std::move(cdevent);
  const std::string body = boost::json::serialize(event);
  if (body_out) *body_out = body;
  return run(Headers{{"Content-Type", "application/cloudevents+json; charset=utf-8"}}, body);
}

}  // namespace fourkeys::parser::cdevents_test

#include <catch2/catch.hpp>

#include "common/json.h"
#include "parser/server/kafka_record.h"
#include "tests/support/schema_check.h"

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using fourkeys::KafkaMessage;
using fourkeys::parser::Delivery;
using fourkeys::parser::Envelope;
using fourkeys::parser::Headers;
using fourkeys::parser::Kind;
using Strings = std::vector<std::string>;

namespace json = fourkeys::json;

namespace {

// Every value of header `name` in the record (exact, case-sensitive name).
Strings header_values(const KafkaMessage& m, std::string_view name) {
  Strings out;
  for (const auto& [k, v] : m.headers) {
    if (k == name) out.push_back(v);
  }
  return out;
}

Strings header_names(const KafkaMessage& m) {
  Strings out;
  for (const auto& h : m.headers) out.push_back(h.first);
  return out;
}

// The single value of `name`; fails the test when it is absent or repeated.
std::string header(const KafkaMessage& m, std::string_view name) {
  const Strings values = header_values(m, name);
  INFO("header " << name);
  REQUIRE(values.size() == 1);
  return values.front();
}

Envelope deployment_envelope() {
  Envelope e;
  e.id = "github:3f1c2a90-2a1b-11f0-8f3e-6d1c0b4e5a7f";
  e.source = "github";
  e.source_event = "deployment_status";
  e.kind = Kind::deployment;
  e.service = "checkout";
  e.team = "payments";
  e.repository = "acme/checkout";
  e.received_at = "2025-05-02T11:55:17.204Z";
  e.occurred_at = "2025-05-02T11:55:16.000Z";
  e.signature = "01dc10d0c83e72ed246219cdd91669667fe2ca59";
  fourkeys::parser::Deployment d;
  d.id = "1234567";
  d.environment = "production";
  d.sha = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
  d.status = "success";
  d.finished_at = "2025-05-02T11:55:16.000Z";
  e.deployment = d;
  e.defaults = {"team"};
  e.raw = boost::json::parse(R"({"action":"created","deployment_status":{"state":"success"}})");
  return e;
}

boost::json::value parse_value(const KafkaMessage& m) {
  json::ParseError error;
  auto v = json::parse(m.value, error);
  INFO("value: " << m.value << "\nerror at " << error.offset << ": " << error.message);
  REQUIRE(v.has_value());
  return *v;
}

}  // namespace

TEST_CASE("event_record keys by service and sets the topic", "[kafka_record]") {
  const auto m = fourkeys::parser::event_record(deployment_envelope(), "fourkeys.events.v1");
  CHECK(m.topic == "fourkeys.events.v1");
  CHECK(m.key == "checkout");

  auto other = deployment_envelope();
  other.service = "search";
  const auto m2 = fourkeys::parser::event_record(other, "custom.topic");
  CHECK(m2.topic == "custom.topic");
  CHECK(m2.key == "search");
}

TEST_CASE("event_record carries the CloudEvents binary-mode headers", "[kafka_record]") {
  const Envelope e = deployment_envelope();
  const auto m = fourkeys::parser::event_record(e, "fourkeys.events.v1");
  CHECK(header(m, "ce_specversion") == "1.0");
  CHECK(header(m, "ce_id") == "github:3f1c2a90-2a1b-11f0-8f3e-6d1c0b4e5a7f");
  CHECK(header(m, "ce_source") == "fourkeys/github");
  CHECK(header(m, "ce_type") == "dev.fourkeys.deployment.v1");
  CHECK(header(m, "ce_time") == "2025-05-02T11:55:16.000Z");
  CHECK(header(m, "content-type") == "application/json");
  // Nothing else: no duplicates, no stray headers.
  CHECK(m.headers.size() == 6);
}

TEST_CASE("event_record's ce_type follows the kind", "[kafka_record]") {
  struct Case {
    Kind kind;
    const char* type;
  };
  for (const Case c : {Case{Kind::change, "dev.fourkeys.change.v1"},
                       Case{Kind::deployment, "dev.fourkeys.deployment.v1"},
                       Case{Kind::incident, "dev.fourkeys.incident.v1"},
                       Case{Kind::other, "dev.fourkeys.other.v1"}}) {
    CAPTURE(c.type);
    Envelope e = deployment_envelope();
    e.kind = c.kind;
    const auto m = fourkeys::parser::event_record(e, "t");
    CHECK(header(m, "ce_type") == c.type);
    CHECK(json::get_string(parse_value(m), {"kind"}) ==
          std::optional<std::string>(fourkeys::parser::to_string(c.kind)));
  }
}

TEST_CASE("event_record's value is the envelope as JSON", "[kafka_record]") {
  const Envelope e = deployment_envelope();
  const auto m = fourkeys::parser::event_record(e, "fourkeys.events.v1");
  const auto v = parse_value(m);
  CHECK(json::get_string(v, {"id"}) == std::optional<std::string>(e.id));
  CHECK(json::get_string(v, {"schema"}) == std::optional<std::string>("fourkeys.event.v1"));
  CHECK(json::get_string(v, {"source"}) == std::optional<std::string>("github"));
  CHECK(json::get_string(v, {"source_event"}) == std::optional<std::string>("deployment_status"));
  CHECK(json::get_string(v, {"service"}) == std::optional<std::string>("checkout"));
  CHECK(json::get_string(v, {"occurred_at"}) == std::optional<std::string>(e.occurred_at));
  CHECK(json::get_string(v, {"received_at"}) == std::optional<std::string>(e.received_at));
  CHECK(json::get_string(v, {"deployment", "sha"}) == std::optional<std::string>(e.deployment->sha));
  CHECK(json::get_string(v, {"deployment", "status"}) == std::optional<std::string>("success"));
  // The raw body is carried unchanged.
  CHECK(json::get_string(v, {"raw", "deployment_status", "state"}) ==
        std::optional<std::string>("success"));
  CHECK(json::canonical(*json::find(v, {"raw"})) == json::canonical(e.raw));
  // The value and the ce_id header agree.
  CHECK(header(m, "ce_id") == json::get_string(v, {"id"}).value_or(""));
}

TEST_CASE("event_record's value stays valid JSON for awkward strings", "[kafka_record]") {
  Envelope e = deployment_envelope();
  e.service = "caf\xc3\xa9 \"quoted\" \\ back\nslash";
  e.id = "api:id with \"quotes\" and \x01 control";
  e.raw = boost::json::parse(R"({"title":"\u2603 snow \ud83d\ude00","nested":[[[{"k":null}]]]})");
  const auto m = fourkeys::parser::event_record(e, "t");
  CHECK(m.key == e.service);
  const auto v = parse_value(m);
  CHECK(json::get_string(v, {"service"}) == std::optional<std::string>(e.service));
  CHECK(json::get_string(v, {"id"}) == std::optional<std::string>(e.id));
  CHECK(json::get_string(v, {"raw", "title"}) ==
        std::optional<std::string>("\xe2\x98\x83 snow \xf0\x9f\x98\x80"));
}

// Guards against this: a body holding a number beyond the
// double range, e.g. {"x":1e400}, is accepted by json::parse as infinity and
// serialized by Boost.JSON as `Infinity`, so the events-topic value is not
// JSON and consumers cannot parse it. Fix in json::parse (reject non-finite
// numbers), so such a body is a 400 instead.
TEST_CASE("event_record's value is JSON even when raw held an out-of-range number",
          "[kafka_record]") {
  json::ParseError error;
  const auto raw = json::parse(R"({"x":1e400})", error);
  if (!raw) {
    SUCCEED("json::parse rejects the body, so it never reaches an envelope");
    return;
  }
  Envelope e = deployment_envelope();
  e.raw = *raw;
  const auto m = fourkeys::parser::event_record(e, "t");
  json::ParseError again;
  INFO("value: " << m.value);
  CHECK(json::parse(m.value, again).has_value());
}

TEST_CASE("dead_letter_record keeps the body byte for byte", "[kafka_record]") {
  // Invalid UTF-8 (0xff 0xfe, a lone continuation byte 0x80), a NUL in the
  // middle and a CR LF: nothing may be decoded, re-encoded or cut at the NUL.
  const std::string body("\xff\xfe{\"a\":\0\x80 not json\r\n", 20);
  REQUIRE(body.size() == 20);
  const Headers headers{{"Content-Type", "application/json"}};
  const Delivery delivery{"/webhooks/github", headers, body};
  const auto m = fourkeys::parser::dead_letter_record("github", "the body is not JSON", delivery,
                                                      "2025-05-02T11:55:17.204Z",
                                                      "fourkeys.deadletter.v1");
  CHECK(m.topic == "fourkeys.deadletter.v1");
  CHECK(m.value.size() == 20);
  CHECK(m.value == body);
  CHECK(m.value[7] == '\0');
  CHECK(static_cast<unsigned char>(m.value[0]) == 0xff);
  CHECK(static_cast<unsigned char>(m.value[8]) == 0x80);
  CHECK(m.value.substr(9) == " not json\r\n");
}

TEST_CASE("dead_letter_record keeps an empty body empty", "[kafka_record]") {
  const Headers headers;
  const Delivery delivery{"/webhooks/gitlab", headers, ""};
  const auto m = fourkeys::parser::dead_letter_record("gitlab", "empty body", delivery, "t", "dl");
  CHECK(m.value.empty());
  CHECK(header(m, "fourkeys_reason") == "empty body");
  CHECK(m.headers.size() == 4);
}

TEST_CASE("dead_letter_record says why, where and when", "[kafka_record]") {
  const Headers headers{{"X-GitHub-Event", "push"}};
  const Delivery delivery{"/webhooks/github", headers, "{}"};
  const auto m = fourkeys::parser::dead_letter_record(
      "github", "push without a ref at offset 12", delivery, "2025-05-02T11:55:17.204Z", "dl");
  CHECK(header(m, "fourkeys_reason") == "push without a ref at offset 12");
  CHECK(header(m, "fourkeys_source") == "github");
  CHECK(header(m, "fourkeys_path") == "/webhooks/github");
  CHECK(header(m, "fourkeys_received_at") == "2025-05-02T11:55:17.204Z");
  CHECK(header(m, "http_x-github-event") == "push");
  CHECK(m.headers.size() == 5);
}

TEST_CASE("dead_letter_record copies original headers as http_<lowercased name>", "[kafka_record]") {
  const Headers headers{
      {"Content-Type", "application/json; charset=utf-8"},
      {"X-GitHub-Delivery", "3f1c2a90-2a1b-11f0-8f3e-6d1c0b4e5a7f"},
      {"X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
      {"USER-AGENT", "GitHub-Hookshot/abc123"},
      {"x-custom", "Mixed Case Value"},
      {"Accept", "*/*"},
      {"accept", "application/json"},  // repeated field: both kept, in order
  };
  const Delivery delivery{"/webhooks/github", headers, "{}"};
  const auto m = fourkeys::parser::dead_letter_record("github", "r", delivery, "t", "dl");

  CHECK(header(m, "http_content-type") == "application/json; charset=utf-8");
  CHECK(header(m, "http_x-github-delivery") == "3f1c2a90-2a1b-11f0-8f3e-6d1c0b4e5a7f");
  // A signature is not a credential: kept, so the delivery can be re-verified.
  CHECK(header(m, "http_x-hub-signature-256") ==
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  CHECK(header(m, "http_user-agent") == "GitHub-Hookshot/abc123");
  CHECK(header(m, "http_x-custom") == "Mixed Case Value");  // values keep their case
  CHECK(header_values(m, "http_accept") == Strings{"*/*", "application/json"});
  CHECK(m.headers.size() == 4 + 7);

  // Names are lowercased; none keeps its original spelling.
  for (const auto& name : header_names(m)) {
    CAPTURE(name);
    CHECK(name.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos);
  }
  CHECK(header_values(m, "http_Content-Type").empty());
  CHECK(header_values(m, "Content-Type").empty());
}

TEST_CASE("dead_letter_record redacts credentials sent in clear", "[kafka_record]") {
  const std::string bearer = "Bearer tok_live_5d41402abc4b2a76b9719d911017c592";
  const std::string gitlab = "glpat-gitlab-shared-secret-9f86d081";
  const Headers headers{
      {"Authorization", bearer},
      {"X-Gitlab-Token", gitlab},
      {"Cookie", "session=cookie-secret-value"},
      {"X-Gitlab-Event", "Push Hook"},
      {"X-Hub-Signature-256", "sha256=abcdef0123456789"},
  };
  const Delivery delivery{"/webhooks/gitlab", headers, "not json"};
  const auto m = fourkeys::parser::dead_letter_record("gitlab", "r", delivery, "t", "dl");

  CHECK(header(m, "http_authorization") == "[redacted]");
  CHECK(header(m, "http_x-gitlab-token") == "[redacted]");
  CHECK(header(m, "http_cookie") == "[redacted]");
  CHECK(header(m, "http_x-gitlab-event") == "Push Hook");
  CHECK(header(m, "http_x-hub-signature-256") == "sha256=abcdef0123456789");
  CHECK(m.headers.size() == 4 + 5);

  // The secrets appear nowhere in the record.
  for (const auto& [name, value] : m.headers) {
    CAPTURE(name, value);
    CHECK(value.find("tok_live") == std::string::npos);
    CHECK(value.find("gitlab-shared-secret") == std::string::npos);
    CHECK(value.find("cookie-secret") == std::string::npos);
  }
  CHECK(m.key.find("tok_live") == std::string::npos);
  CHECK(m.value == "not json");
}

TEST_CASE("dead_letter_record redacts credentials whatever the name's case", "[kafka_record]") {
  const Headers headers{
      {"authorization", "Bearer lower-secret"},
      {"AUTHORIZATION", "Bearer upper-secret"},
      {"x-gitlab-token", "lower-gitlab-secret"},
      {"X-GITLAB-TOKEN", "upper-gitlab-secret"},
  };
  const Delivery delivery{"/", headers, "{}"};
  const auto m = fourkeys::parser::dead_letter_record("gitlab", "r", delivery, "t", "dl");
  CHECK(header_values(m, "http_authorization") == Strings{"[redacted]", "[redacted]"});
  CHECK(header_values(m, "http_x-gitlab-token") == Strings{"[redacted]", "[redacted]"});
  for (const auto& [name, value] : m.headers) {
    CAPTURE(name, value);
    CHECK(value.find("secret") == std::string::npos);
  }
}

TEST_CASE("event_record with the raw text keeps the sender's bytes and stays schema-valid",
          "[kafka_record]") {
  Envelope e = deployment_envelope();
  e.defaults = {"environment"};
  // Spacing and key order a re-serialization would change.
  const std::string body = "{ \"b\" : 1,\n  \"a\" : [1, 2.50, \"\\u00e9\"] }\n";
  json::ParseError error;
  const auto parsed = json::parse(body, error);
  REQUIRE(parsed);
  e.raw = *parsed;
  const auto m = fourkeys::parser::event_record(e, "t", body);
  CHECK(m.value.find("\"raw\":{ \"b\" : 1,\n  \"a\" : [1, 2.50, \"\\u00e9\"] }}") != std::string::npos);
  const auto value = json::parse(m.value, error);
  REQUIRE(value);
  CHECK(value->at("raw") == *parsed);
  CHECK(fourkeys::testing::schema_errors(*value).empty());
  // Without the text, the parsed tree is serialized: same fields, same raw value.
  const auto plain = json::parse(fourkeys::parser::event_record(e, "t").value, error);
  REQUIRE(plain);
  CHECK(*plain == *value);
}

#include "parser/envelope.h"

#include "common/json.h"
#include "tests/support/schema_check.h"

#include <catch2/catch.hpp>

namespace fourkeys::parser {

TEST_CASE("serialize_envelope escapes sender text and writes every section", "[envelope]") {
  Envelope e;
  e.id = "github:\"quoted\"\\id";
  e.source = "github";
  e.source_event = "push";
  e.kind = Kind::change;
  e.service = "acme/caf\xc3\xa9";  // UTF-8 passes through
  e.received_at = "2025-05-02T11:55:17.204Z";
  e.occurred_at = "2025-05-02T11:55:16.000Z";
  e.signature = "01dc10d0c83e72ed246219cdd91669667fe2ca59";
  Change c;
  c.ref = "refs/heads/main";
  c.commits.push_back({"abc1234", "2025-05-02T11:55:16.000Z", "Ann \"the\" Dev", "line\twith\x01control"});
  c.number = 42;
  e.change = c;
  e.defaults = {"zone"};
  const std::string raw = R"({"a": [1, 2.5e3, "x"]})";
  const std::string text = serialize_envelope(e, raw + "\n");

  json::ParseError error;
  const auto v = json::parse(text, error);
  INFO(text);
  REQUIRE(v);
  const auto& o = v->as_object();
  CHECK(o.at("id").as_string() == "github:\"quoted\"\\id");
  CHECK(o.at("service").as_string() == "acme/caf\xc3\xa9");
  CHECK(o.at("team").is_null());
  CHECK(o.at("change").at("commits").at(0).at("author").as_string() == "Ann \"the\" Dev");
  CHECK(o.at("change").at("commits").at(0).at("title").as_string() == "line\twith\x01control");
  CHECK(o.at("change").at("number").as_int64() == 42);
  CHECK(o.at("change").at("before").is_null());
  CHECK_FALSE(o.contains("deployment"));
  CHECK(text.find(",\"raw\":" + raw + "}") != std::string::npos);
  CHECK(testing::schema_errors(*v).empty());
}

TEST_CASE("bytes that are not UTF-8 become U+FFFD so the envelope stays JSON", "[envelope]") {
  Envelope e;
  e.id = std::string("github:bad\xff\xfe-id");
  e.source = "github";
  e.source_event = std::string("pu\xc3sh");  // a lead byte without its continuation
  e.kind = Kind::other;
  e.service = "svc\xe2\x82\xac";             // a valid euro sign stays
  e.received_at = e.occurred_at = "2025-05-02T11:55:16.000Z";
  e.signature = std::string(40, 'a');
  const std::string text = serialize_envelope(e, "{}");
  json::ParseError error;
  const auto v = json::parse(text, error);
  INFO(text);
  REQUIRE(v);
  CHECK(v->at("id").as_string() == "github:bad\xef\xbf\xbd\xef\xbf\xbd-id");
  CHECK(v->at("source_event").as_string() == "pu\xef\xbf\xbdsh");
  CHECK(v->at("service").as_string() == "svc\xe2\x82\xac");
}

TEST_CASE("to_json and serialize_envelope agree", "[envelope]") {
  Envelope e;
  e.id = "api:1";
  e.source = "api";
  e.source_event = "deployment";
  e.kind = Kind::deployment;
  e.service = "svc";
  e.received_at = e.occurred_at = "2025-05-02T11:55:16.000Z";
  e.signature = std::string(40, 'a');
  Deployment d;
  d.environment = "production";
  d.status = "success";
  d.is_rollback = true;
  d.additional_shas = {"abc1234", "def5678"};
  e.deployment = d;
  e.raw = boost::json::value{{"k", "v"}};
  const auto v = to_json(e);
  CHECK(v.at("deployment").at("is_rollback").as_bool());
  CHECK(v.at("deployment").at("additional_shas").as_array().size() == 2);
  CHECK(v.at("raw").at("k").as_string() == "v");
  json::ParseError error;
  CHECK(*json::parse(serialize_envelope(e, R"({"k":"v"})"), error) == v);
}

}  // namespace fourkeys::parser

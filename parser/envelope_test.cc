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
  c.commits.push_back({"abc1234", "2025-05-02T11:55:16.000Z", "Ann \"the\" Dev", "line\twith\x01control", {}});
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

TEST_CASE("a split push's chain, part_of and the kept delivery are written before raw", "[envelope]") {
  Envelope e;
  e.id = "github:d-1#cart";
  e.part_of = "github:d-1";
  e.source = "github";
  e.source_event = "push";
  e.kind = Kind::change;
  e.service = "cart";
  e.received_at = "2025-05-02T11:55:17.204Z";
  e.occurred_at = "2025-05-02T11:55:16.000Z";
  e.signature = "01dc10d0c83e72ed246219cdd91669667fe2ca59";
  Change c;
  c.commits.push_back({"b2", "2025-05-02T11:55:16.000Z", "Ann", "cart fix", {"services/cart/x"}});
  c.chain = {"a1", "b2"};
  e.change = c;
  e.delivery_path = "/webhooks/github";
  e.delivery_headers = {{"x-github-event", "push"}, {"content-type", "application/json"}};
  const std::string text = serialize_envelope(e, R"({"ref":"r"})");

  json::ParseError error;
  const auto v = json::parse(text, error);
  INFO(text);
  REQUIRE(v);
  const auto& o = v->as_object();
  CHECK(o.at("part_of").as_string() == "github:d-1");
  CHECK(o.at("change").at("chain").as_array().size() == 2);
  CHECK_FALSE(o.at("change").at("commits").at(0).as_object().contains("files"));
  CHECK(o.at("delivery").at("path").as_string() == "/webhooks/github");
  CHECK(o.at("delivery").at("headers").at("x-github-event").as_string() == "push");
  CHECK(text.ends_with(R"(,"raw":{"ref":"r"}})"));
  CHECK(testing::schema_errors(*v).empty());

  // Without them the members are left out, not null.
  e.part_of.clear();
  e.change->chain.clear();
  e.delivery_path.clear();
  const auto plain = json::parse(serialize_envelope(e, "{}"), error);
  REQUIRE(plain);
  CHECK_FALSE(plain->as_object().contains("part_of"));
  CHECK_FALSE(plain->as_object().contains("delivery"));
  CHECK_FALSE(plain->at("change").as_object().contains("chain"));
  CHECK(testing::schema_errors(*plain).empty());
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

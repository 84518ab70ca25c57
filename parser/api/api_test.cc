// The API routes as a whole: ids, content types, authentication.
#include <catch2/catch.hpp>

#include "common/crypto.h"
#include "parser/api/api_test_support.h"

namespace fourkeys::parser {

using api_test::post;
using api_test::post_published;

namespace {

bool is_lower_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

TEST_CASE("API ids hash the canonical body", "[api][id]") {
  const std::string body =
      R"({ "service": "checkout", "commit_sha": "abc1234", "deployed_at": "2024-05-02T11:55:16Z" })";
  const Envelope env = post_published("/deployments", body);
  // Keys sorted, no whitespace: written out by hand so the test does not
  // trust json::canonical.
  const std::string canonical =
      R"({"commit_sha":"abc1234","deployed_at":"2024-05-02T11:55:16Z","service":"checkout"})";
  CHECK(env.id == "api:" + sha256_hex(canonical));
  REQUIRE(env.id.size() == 4 + 64);
  CHECK(env.id.rfind("api:", 0) == 0);
  CHECK(is_lower_hex(env.id.substr(4)));
  CHECK(env.signature == sha1_hex(body));
  CHECK_FALSE(api_test::has_default(env, "id"));

  SECTION("a redelivery in another key order and spacing has the same id") {
    const std::string again =
        "{\"deployed_at\":\"2024-05-02T11:55:16Z\",\n  "
        "\"service\":\"checkout\",\"commit_sha\":\"abc1234\"}";
    const Envelope env2 =
        post_published("/deployments", again, "application/x-www-form-urlencoded");
    CHECK(env2.id == env.id);
    CHECK(env2.signature != env.signature);  // the raw bytes differ
  }
  SECTION("an update is a new event") {
    const std::string open = R"({"detected_at":"2024-05-02T12:00:00Z","incident_id":"I-9"})";
    const std::string resolved =
        R"({"incident_id":"I-9","detected_at":"2024-05-02T12:00:00Z","resolved_at":"2024-05-02T12:30:00Z"})";
    const Envelope a = post_published("/events/incident", open);
    const Envelope b = post_published("/events/incident", resolved);
    CHECK(a.id != b.id);
    CHECK(a.incident->id == b.incident->id);
    CHECK(a.id == "api:" + sha256_hex(open));  // written canonical
  }
}

TEST_CASE("API content types", "[api][content_type]") {
  const std::string body = R"({"service":"s","commit_sha":"abc1234"})";
  CHECK(post("/deployments", body, "application/json; charset=utf-8").disposition ==
        Disposition::publish);
  CHECK(post("/deployments", body, "").disposition == Disposition::publish);
  CHECK(post("/deployments", body, "application/x-www-form-urlencoded").disposition ==
        Disposition::publish);

  SECTION("a real form is not read") {
    const Outcome out =
        post("/deployments", "service=s&commit_sha=abc1234", "application/x-www-form-urlencoded");
    REQUIRE(out.disposition == Disposition::unsupported);
    CHECK(out.source_event == "deployments");
    CHECK(out.reason.find("application/json") != std::string::npos);
  }
  SECTION("other media types") {
    CHECK(post("/deployments", body, "text/plain").disposition == Disposition::unsupported);
    CHECK(post("/events/incident", body, "application/xml").disposition ==
          Disposition::unsupported);
  }
  SECTION("broken JSON labelled as JSON is a bad request that says where") {
    const Outcome out = post("/events/deployment", R"({"service": "s",)");
    REQUIRE(out.disposition == Disposition::bad_request);
    CHECK(out.source_event == "deployment");
    CHECK(out.reason.find("byte") != std::string::npos);
  }
  SECTION("JSON that is not an object") {
    const Outcome out = post("/events/incident", R"(["I-1","2024-05-02T12:00:00Z"])");
    REQUIRE(out.disposition == Disposition::dead_letter);
    CHECK(out.source_event == "incident");
    CHECK(post("/deployments", "\"abc1234\"").disposition == Disposition::dead_letter);
  }
  SECTION("a path that is not an API route") {
    CHECK(post("/events/other", body).disposition == Disposition::dead_letter);
  }
}

TEST_CASE("API bearer authentication", "[api][auth]") {
  SourceSettings settings;
  settings.api_tokens.values = {"old-token", "new-token"};
  const auto source = make_api_source(settings);
  const std::string body = R"({"service":"s","commit_sha":"abc1234"})";
  auto auth = [&](const Headers& headers) {
    return source->authenticate(Delivery{"/deployments", headers, body});
  };
  CHECK(auth({{"Authorization", "Bearer old-token"}}).ok());
  CHECK(auth({{"Authorization", "Bearer new-token"}}).ok());
  CHECK(auth({{"Authorization", "Bearer nope"}}).status == AuthStatus::mismatch);
  CHECK(auth({{"Authorization", "Basic dXNlcjpwYXNz"}}).status == AuthStatus::missing);
  CHECK(auth({}).status == AuthStatus::missing);
  const auto r =
      make_api_source(SourceSettings{})->authenticate(Delivery{"/deployments", Headers{}, body});
  CHECK(r.status == AuthStatus::not_configured);
  CHECK(r.message.find("FOURKEYS_API_TOKEN") != std::string::npos);
}

TEST_CASE("the API source's name, routes and recognition", "[api]") {
  const auto source = make_api_source(SourceSettings{});
  CHECK(source->name() == "api");
  CHECK(source->routes() ==
        std::vector<std::string>{"/events/deployment", "/events/incident", "/deployments"});
  CHECK_FALSE(source->recognizes({{"Content-Type", "application/json"}}));
  CHECK_FALSE(source->recognizes({{"Authorization", "Bearer x"}}));
  const Headers headers{{"Content-Type", "application/json"}};
  const std::string body = R"({"incident_id":"I","detected_at":"2024-05-02T12:00:00Z"})";
  const Outcome out =
      source->normalize(Delivery{"/events/incident", headers, body}, NormalizeOptions{});
  REQUIRE(out.disposition == Disposition::publish);
  CHECK(out.envelope.received_at == "1970-01-01T00:00:00.000Z");
}

}  // namespace fourkeys::parser

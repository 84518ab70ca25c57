// How CDEvents arrive: content types, CloudEvents modes, missing context
// fields, bearer authentication and recognition on `POST /`.
#include <algorithm>
#include <catch2/catch.hpp>

#include "common/crypto.h"
#include "parser/cdevents/cdevents_test_support.h"
#include "tests/support/fixtures.h"
#include "tests/support/schema_check.h"

namespace fourkeys::parser {
namespace {

using cdevents_test::run;
using cdevents_test::run_binary;

bool has_default(const Envelope& env, const std::string& name) {
  return std::find(env.defaults.begin(), env.defaults.end(), name) != env.defaults.end();
}

const Headers kJson{{"Content-Type", "application/json"}};

std::string deployed() { return testing::read_fixture("cdevents/v0.4.1/service_deployed.json"); }

}  // namespace

TEST_CASE("CDEvents content types", "[cdevents][transport]") {
  SECTION("batch mode is 415 with the reason") {
    const Outcome out = run({{"Content-Type", "application/cloudevents-batch+json"}}, "[]");
    REQUIRE(out.disposition == Disposition::unsupported);
    CHECK(out.reason.find("batch") != std::string::npos);
  }
  SECTION("other media types are 415") {
    CHECK(run({{"Content-Type", "text/plain"}}, deployed()).disposition ==
          Disposition::unsupported);
    CHECK(run({{"Content-Type", "application/x-www-form-urlencoded"}}, deployed()).disposition ==
          Disposition::unsupported);
  }
  SECTION("a bare CDEvent as plain JSON, no ce-* headers, is taken") {
    const Outcome out = run(kJson, deployed());
    REQUIRE(out.disposition == Disposition::publish);
    CHECK(out.envelope.id == "cdevents:271069a8-fc18-44f1-b38f-9d70a1695819");
    CHECK(out.envelope.kind == Kind::deployment);
  }
  SECTION("no content type at all is read as JSON") {
    CHECK(run({}, deployed()).disposition == Disposition::publish);
  }
  SECTION("a structured CloudEvent sent as plain JSON is taken") {
    const std::string body =
        R"({"specversion":"1.0","id":"ce-1","type":"dev.cdevents.service.deployed.0.2.0",)"
        R"("source":"/tekton","time":"2024-05-01T12:00:00Z","data":{"context":{},)"
        R"("subject":{"id":"checkout","content":{"environment":{"id":"prod"}}}}})";
    const Outcome out = run(kJson, body);
    REQUIRE(out.disposition == Disposition::publish);
    CHECK(out.envelope.id == "cdevents:ce-1");
    CHECK(out.envelope.occurred_at == "2024-05-01T12:00:00.000Z");
    CHECK(out.envelope.service == "checkout");
    CHECK(out.envelope.deployment->environment == "prod");
  }
  SECTION("broken JSON is a bad request that says where") {
    const Outcome out = run(kJson, R"({"context": )");
    REQUIRE(out.disposition == Disposition::bad_request);
    CHECK(out.reason.find("byte") != std::string::npos);
  }
}

TEST_CASE("CDEvents structured-mode data forms", "[cdevents][transport]") {
  const Headers structured{{"Content-Type", "application/cloudevents+json"}};
  SECTION("data as a JSON string") {
    const std::string body =
        R"({"specversion":"1.0","id":"ce-2","type":"dev.cdevents.incident.detected.0.2.0",)"
        R"("time":"2024-05-01T12:00:00Z","data":"{\"context\":{\"id\":\"ctx-2\"},)"
        R"(\"subject\":{\"id\":\"inc-9\",\"content\":{\"description\":\"root cause: abcdef0123\"}}}"})";
    const Outcome out = run(structured, body);
    REQUIRE(out.disposition == Disposition::publish);
    CHECK(out.envelope.id == "cdevents:ctx-2");
    CHECK(out.envelope.incident->id == "inc-9");
    CHECK(out.envelope.incident->root_cause_sha == "abcdef0123");
    CHECK(out.envelope.service == "unknown");
    CHECK(has_default(out.envelope, "service"));
    CHECK(testing::schema_errors(to_json(out.envelope)).empty());
  }
  SECTION("data_base64 is dead-lettered") {
    const Outcome out =
        run(structured,
            R"({"specversion":"1.0","type":"dev.cdevents.x.y.0.1.0","data_base64":"e30="})");
    REQUIRE(out.disposition == Disposition::dead_letter);
    CHECK(out.reason.find("data_base64") != std::string::npos);
  }
  SECTION("no data is dead-lettered") {
    CHECK(run(structured, R"({"specversion":"1.0","type":"dev.cdevents.service.deployed.0.2.0"})")
              .disposition == Disposition::dead_letter);
  }
}

TEST_CASE("CDEvents tolerance", "[cdevents][tolerance]") {
  SECTION("context.id missing: ce-id is the id") {
    const std::string body =
        R"({"context":{"type":"dev.cdevents.service.deployed.0.2.0","timestamp":"2024-05-01T12:00:00Z"},)"
        R"("subject":{"id":"checkout","content":{}}})";
    const Outcome out = run({{"ce-specversion", "1.0"}, {"ce-id", "hdr-7"}}, body);
    REQUIRE(out.disposition == Disposition::publish);
    CHECK(out.envelope.id == "cdevents:hdr-7");
    // No environment: production, and the default is listed.
    CHECK(out.envelope.deployment->environment == "production");
    CHECK(has_default(out.envelope, "environment"));
    CHECK(testing::schema_errors(to_json(out.envelope)).empty());
  }
  SECTION("no id anywhere: the SHA-1 of the body") {
    const std::string body =
        R"({"context":{"type":"dev.cdevents.service.deployed.0.2.0","timestamp":"2024-05-01T12:00:00Z"},)"
        R"("subject":{"id":"checkout"}})";
    const Outcome out = run(kJson, body);
    REQUIRE(out.disposition == Disposition::publish);
    CHECK(out.envelope.id == "cdevents:sha1:" + sha1_hex(body));
    CHECK(has_default(out.envelope, "id"));
  }
  SECTION(
      "context.type and timestamp missing: the ce-* headers stand in; a time without zone is UTC") {
    const std::string body =
        R"({"context":{"id":"c-1"},"subject":{"id":"42","content":{"repository":"org/app"}}})";
    const Outcome out = run({{"ce-specversion", "1.0"},
                             {"ce-type", "dev.cdevents.change.merged.0.2.0"},
                             {"ce-time", "2024-05-01T14:00:00.123456"}},
                            body);
    REQUIRE(out.disposition == Disposition::publish);
    CHECK(out.envelope.kind == Kind::change);
    CHECK(out.envelope.occurred_at == "2024-05-01T14:00:00.123Z");
    CHECK(has_default(out.envelope, "zone"));
    CHECK(out.envelope.repository == "org/app");
    REQUIRE(out.envelope.change->number);
    CHECK(*out.envelope.change->number == 42);
  }
  SECTION("a change without a repository belongs to service unknown") {
    const std::string body =
        R"({"context":{"id":"c-2","type":"dev.cdevents.change.merged.0.2.0","timestamp":"2024-05-01T14:00:00Z"},)"
        R"("subject":{"id":"x"}})";
    const Outcome out = run(kJson, body);
    REQUIRE(out.disposition == Disposition::publish);
    CHECK(out.envelope.service == "unknown");
    CHECK(has_default(out.envelope, "service"));
    CHECK(testing::schema_errors(to_json(out.envelope)).empty());
  }
}

TEST_CASE("CDEvents without the signal, or without meaning here", "[cdevents][dead_letter]") {
  SECTION("no time anywhere") {
    const Outcome out = run(
        {{"ce-specversion", "1.0"}},
        R"({"context":{"id":"c","type":"dev.cdevents.service.deployed.0.2.0"},"subject":{"id":"s"}})");
    REQUIRE(out.disposition == Disposition::dead_letter);
    CHECK(out.reason.find("timestamp") != std::string::npos);
  }
  SECTION("an incident without its id") {
    const Outcome out =
        run(kJson, R"({"context":{"id":"c","type":"dev.cdevents.incident.detected.0.2.0",)"
                   R"("timestamp":"2024-05-01T12:00:00Z"},"subject":{"content":{}}})");
    REQUIRE(out.disposition == Disposition::dead_letter);
    CHECK(out.reason.find("subject.id") != std::string::npos);
  }
  SECTION("no type anywhere") {
    CHECK(run(kJson, R"({"context":{"id":"c"}})").disposition == Disposition::dead_letter);
  }
  SECTION("JSON that is neither a CDEvent nor a CloudEvent") {
    CHECK(run(kJson, R"({"hello":"world"})").disposition == Disposition::dead_letter);
    CHECK(run(kJson, "[1]").disposition == Disposition::dead_letter);
  }
  SECTION("a CloudEvent that is not a CDEvent (Tekton's own events) is ignored") {
    const Outcome out =
        run({{"ce-specversion", "1.0"}, {"ce-type", "dev.tekton.event.taskrun.successful.v1"}},
            R"({"taskRun":{}})");
    REQUIRE(out.disposition == Disposition::ignored);
    CHECK(out.source_event == "dev.tekton.event.taskrun.successful.v1");
  }
  SECTION("CDEvents without a DORA meaning are ignored") {
    const Outcome out =
        run(kJson, R"({"context":{"id":"c","type":"dev.cdevents.artifact.packaged.0.2.0",)"
                   R"("timestamp":"2024-05-01T12:00:00Z"},"subject":{"id":"a"}})");
    REQUIRE(out.disposition == Disposition::ignored);
    CHECK(out.reason.find("artifact.packaged") != std::string::npos);
  }
}

TEST_CASE("CDEvents bearer authentication", "[cdevents][auth]") {
  SourceSettings settings;
  settings.api_tokens.values = {"old-token", "new-token"};
  const auto source = make_cdevents_source(settings);
  const std::string body = deployed();
  auto auth = [&](const Headers& headers) {
    return source->authenticate(Delivery{"/webhooks/cdevents", headers, body});
  };
  CHECK(auth({{"Authorization", "Bearer new-token"}}).ok());
  CHECK(auth({{"authorization", "bearer old-token"}}).ok());
  CHECK(auth({{"Authorization", "Bearer wrong"}}).status == AuthStatus::mismatch);
  CHECK(auth({}).status == AuthStatus::missing);
  const auto unconfigured = make_cdevents_source(SourceSettings{});
  const auto r = unconfigured->authenticate(Delivery{"/webhooks/cdevents", Headers{}, body});
  CHECK(r.status == AuthStatus::not_configured);
  CHECK(r.message.find("FOURKEYS_API_TOKEN") != std::string::npos);
}

TEST_CASE("the CDEvents source's name, route and recognition", "[cdevents]") {
  const auto source = make_cdevents_source(SourceSettings{});
  CHECK(source->name() == "cdevents");
  CHECK(source->routes() == std::vector<std::string>{"/webhooks/cdevents"});
  CHECK(source->recognizes({{"Ce-Specversion", "1.0"}}));
  CHECK(source->recognizes({{"Content-Type", "application/cloudevents+json; charset=utf-8"}}));
  CHECK_FALSE(source->recognizes({{"Content-Type", "application/json"}}));
  const Headers headers{{"ce-specversion", "1.0"}};
  const std::string body = deployed();
  CHECK(source->normalize(Delivery{"/webhooks/cdevents", headers, body}, cdevents_test::options())
            .disposition == Disposition::publish);
}

}  // namespace fourkeys::parser

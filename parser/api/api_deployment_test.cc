// /events/deployment and /deployments with bodies modeled on the seed: the
// FastAPI service's DeploymentEvent and the GitHub Actions / GitLab CI
// snippets (../shared/seed/dora-metrics-examples.md).
#include <catch2/catch.hpp>

#include "parser/api/api_test_support.h"

namespace fourkeys::parser {

using api_test::has_default;
using api_test::kReceivedAtText;
using api_test::post;
using api_test::post_published;

TEST_CASE("the seed's DeploymentEvent", "[api][deployment]") {
  // Python's datetime.isoformat(): microseconds, and no zone for naive times.
  const std::string body = R"({
    "service": "checkout",
    "environment": "production",
    "commit_sha": "9f2c1a7e0b3d4c5e6f708192a3b4c5d6e7f80912",
    "commit_timestamp": "2024-05-02T09:15:00.250000+02:00",
    "deployed_at": "2024-05-02T11:55:16.123456",
    "is_rollback": false,
    "is_hotfix": true
  })";
  const Envelope env = post_published("/events/deployment", body);
  CHECK(env.source == "api");
  CHECK(env.source_event == "deployment");
  CHECK(env.kind == Kind::deployment);
  CHECK(env.service == "checkout");
  CHECK(env.repository.empty());
  CHECK(env.received_at == kReceivedAtText);
  CHECK(env.occurred_at == "2024-05-02T11:55:16.123Z");
  REQUIRE(env.deployment);
  const Deployment& d = *env.deployment;
  CHECK(d.sha == "9f2c1a7e0b3d4c5e6f708192a3b4c5d6e7f80912");
  CHECK(d.commit_time == "2024-05-02T07:15:00.250Z");
  CHECK(d.finished_at == "2024-05-02T11:55:16.123Z");
  CHECK(d.started_at.empty());
  CHECK(d.environment == "production");
  CHECK(d.status == "success");
  CHECK_FALSE(d.is_rollback);
  CHECK(d.is_hotfix);
  CHECK(d.id.empty());
  CHECK(d.additional_shas.empty());
  // The deployed_at had no zone; status was not given.
  CHECK(has_default(env, "zone"));
  CHECK(has_default(env, "status"));
  CHECK_FALSE(has_default(env, "environment"));
  CHECK_FALSE(has_default(env, "service"));
}

TEST_CASE("DeploymentEvent with the optional fields", "[api][deployment]") {
  const std::string body = R"({"service":"checkout","environment":"staging",
    "commit_sha":"aaaaaaa1","additional_shas":["bbbbbbb2","",7,"ccccccc3"],
    "deployment_id":"dep-42","started_at":"2024-05-02T11:50:00Z","deployed_at":"2024-05-02T11:55:00Z",
    "status":"failed","repository":"acme/checkout","team":"payments","is_rollback":"true"})";
  const Envelope env = post_published("/events/deployment", body);
  CHECK(env.service == "checkout");
  CHECK(env.repository == "acme/checkout");
  CHECK(env.team == "payments");
  const Deployment& d = *env.deployment;
  CHECK(d.id == "dep-42");
  CHECK(d.status == "failure");
  CHECK(d.environment == "staging");
  CHECK(d.started_at == "2024-05-02T11:50:00.000Z");
  CHECK(d.finished_at == "2024-05-02T11:55:00.000Z");
  CHECK(d.is_rollback);
  CHECK(d.additional_shas == std::vector<std::string>{"bbbbbbb2", "ccccccc3"});
  CHECK(env.defaults.empty());
}

TEST_CASE("the GitHub Actions snippet's body", "[api][deployments]") {
  // ${{ github.repository }}, ${{ github.sha }}, ${{ github.event.head_commit.timestamp }}
  const std::string body = R"({
              "service": "octo-org/checkout",
              "environment": "production",
              "commit_sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
              "deployed_at": "2024-05-02T13:55:16+02:00",
              "status": "success"
            })";
  const Envelope env = post_published("/deployments", body);
  CHECK(env.source_event == "deployments");
  CHECK(env.service == "octo-org/checkout");
  CHECK(env.occurred_at == "2024-05-02T11:55:16.000Z");
  CHECK(env.deployment->finished_at == "2024-05-02T11:55:16.000Z");
  CHECK(env.deployment->sha == "6dcb09b5b57875f334f61aebed695e2e4193db5e");
  CHECK(env.deployment->status == "success");
  CHECK(env.defaults.empty());
}

TEST_CASE("the GitHub Actions snippet when the run has no head commit", "[api][deployments]") {
  // head_commit.timestamp renders as "" for workflow_dispatch runs.
  const std::string body = R"({"service":"octo-org/checkout","environment":"production",
    "commit_sha":"6dcb09b5b57875f334f61aebed695e2e4193db5e","deployed_at":"","status":"success"})";
  const Envelope env = post_published("/deployments", body);
  CHECK(env.occurred_at == kReceivedAtText);
  CHECK(env.deployment->finished_at == kReceivedAtText);
  CHECK(has_default(env, "occurred_at"));
}

TEST_CASE("the GitLab CI snippet's body, sent form-encoded, without status", "[api][deployments]") {
  // What curl -d sends for the snippet when no JSON Content-Type is set:
  // the shell-expanded text, newlines and indentation included.
  const std::string body =
      "{\n          \"service\": \"checkout\",\n          \"environment\": \"production\",\n"
      "          \"commit_sha\": \"2d5c4e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d\",\n"
      "          \"deployed_at\": \"2024-05-02T11:55:16+00:00\",\n"
      "          \"pipeline_id\": \"1284420193\"\n        }";
  const Envelope env = post_published("/deployments", body, "application/x-www-form-urlencoded");
  CHECK(env.source_event == "deployments");
  CHECK(env.service == "checkout");
  CHECK(env.occurred_at == "2024-05-02T11:55:16.000Z");
  const Deployment& d = *env.deployment;
  CHECK(d.id == "1284420193");
  CHECK(d.sha == "2d5c4e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d");
  CHECK(d.status == "success");
  CHECK(d.environment == "production");
  CHECK(env.defaults == std::vector<std::string>{"status"});
}

TEST_CASE("time zone forms of deployed_at", "[api][deployments][time]") {
  auto occurred = [](const std::string& deployed_at) {
    const std::string body =
        R"({"service":"s","commit_sha":"abc1234","deployed_at":)" + deployed_at + "}";
    return post_published("/deployments", body).occurred_at;
  };
  CHECK(occurred(R"("2024-05-02T11:55:16Z")") == "2024-05-02T11:55:16.000Z");
  CHECK(occurred(R"("2024-05-02T13:55:16+02:00")") == "2024-05-02T11:55:16.000Z");
  CHECK(occurred(R"("2024-05-02T06:55:16-0500")") == "2024-05-02T11:55:16.000Z");
  CHECK(occurred(R"("2024-05-02 11:55:16 UTC")") == "2024-05-02T11:55:16.000Z");
  CHECK(occurred(R"("2024-05-02T11:55:16.987654321Z")") == "2024-05-02T11:55:16.987Z");
  CHECK(occurred("1714650916") == "2024-05-02T11:55:16.000Z");     // epoch seconds
  CHECK(occurred("1714650916250") == "2024-05-02T11:55:16.250Z");  // epoch milliseconds
}

TEST_CASE("deployment tolerance", "[api][deployments][tolerance]") {
  SECTION("no service: the repository; neither: unknown") {
    const Envelope by_repo =
        post_published("/deployments", R"({"repository":"acme/web","commit_sha":"abc1234"})");
    CHECK(by_repo.service == "acme/web");
    CHECK(by_repo.repository == "acme/web");
    CHECK_FALSE(has_default(by_repo, "service"));
    const Envelope nameless = post_published("/deployments", R"({"commit_sha":"abc1234"})");
    CHECK(nameless.service == "unknown");
    CHECK(has_default(nameless, "service"));
    CHECK(nameless.repository.empty());
  }
  SECTION("no environment: production") {
    const Envelope env = post_published("/events/deployment",
                                        R"({"service":"s","deployed_at":"2024-05-02T11:55:16Z"})");
    CHECK(env.deployment->environment == "production");
    CHECK(has_default(env, "environment"));
    // A time without a sha still counts as a deployment.
    CHECK(env.deployment->sha.empty());
  }
  SECTION("status words from CI systems") {
    auto status = [](const std::string& word) {
      return post_published("/deployments", R"({"commit_sha":"abc1234","status":")" + word + "\"}")
          .deployment->status;
    };
    CHECK(status("SUCCESS") == "success");
    CHECK(status("succeeded") == "success");
    CHECK(status("failure") == "failure");
    CHECK(status("failed") == "failure");
    CHECK(status("canceled") == "cancelled");
    CHECK(status("error") == "error");
  }
  SECTION("numeric pipeline ids") {
    const Envelope env =
        post_published("/deployments", R"({"commit_sha":"abc1234","pipeline_id":1284420193})");
    CHECK(env.deployment->id == "1284420193");
  }
}

TEST_CASE("deployments that are not counted", "[api][deployments][dead_letter]") {
  SECTION("neither commit_sha nor deployed_at: dead letter naming both") {
    const Outcome out = post(
        "/deployments", R"({"service":"checkout","environment":"production","status":"success"})");
    REQUIRE(out.disposition == Disposition::dead_letter);
    CHECK(out.source_event == "deployments");
    CHECK(out.reason.find("commit_sha") != std::string::npos);
    CHECK(out.reason.find("deployed_at") != std::string::npos);
  }
  SECTION("a deployed_at that is not a time") {
    const Outcome out =
        post("/events/deployment", R"({"commit_sha":"abc1234","deployed_at":"yesterday"})");
    REQUIRE(out.disposition == Disposition::dead_letter);
    CHECK(out.reason.find("deployed_at") != std::string::npos);
  }
  SECTION("a status no CI system uses") {
    const Outcome out = post("/deployments", R"({"commit_sha":"abc1234","status":"meh"})");
    REQUIRE(out.disposition == Disposition::dead_letter);
    CHECK(out.reason.find("meh") != std::string::npos);
  }
  SECTION("a deployment still running is ignored") {
    const Outcome out = post("/deployments", R"({"commit_sha":"abc1234","status":"running"})");
    REQUIRE(out.disposition == Disposition::ignored);
    CHECK(out.source_event == "deployments");
  }
}

}  // namespace fourkeys::parser

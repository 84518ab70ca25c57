// The gitlab source on every shared GitLab fixture, plus authentication and
// the tolerance cases DESIGN.md asks for. Expected values are read off the
// fixture files by hand; a few are also cross-checked against the parsed
// fixture so a change to a fixture shows up here.
#include <catch2/catch.hpp>

#include "common/crypto.h"
#include "common/json.h"
#include "parser/envelope.h"
#include "parser/gitlab/gitlab_fields.h"
#include "parser/gitlab/gitlab_source.h"
#include "tests/support/fixtures.h"
#include "tests/support/schema_check.h"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <map>
#include <string>

using namespace fourkeys;
using namespace fourkeys::parser;

namespace {

constexpr std::int64_t kReceivedMillis = 1767225600000;  // 2026-01-01T00:00:00.000Z
constexpr const char* kReceivedAt = "2026-01-01T00:00:00.000Z";
constexpr const char* kUuid = "6b2b5a39-41f4-4c52-9d55-0f8b7e6a1c11";

NormalizeOptions options(std::string label = "Incident") {
  NormalizeOptions o;
  o.received_at_millis = kReceivedMillis;
  o.incident_label = std::move(label);
  return o;
}

// The X-Gitlab-Event GitLab sends for each fixture folder (SOURCES.md).
std::string header_for(const std::string& fixture) {
  static const std::map<std::string, std::string> by_dir = {
      {"push", "Push Hook"},           {"tag_push", "Tag Push Hook"},
      {"merge_request", "Merge Request Hook"}, {"pipeline", "Pipeline Hook"},
      {"job", "Job Hook"},             {"deployment", "Deployment Hook"},
      {"issue", "Issue Hook"},         {"release", "Release Hook"},
  };
  const auto first = fixture.find('/');
  const auto second = fixture.find('/', first + 1);
  return by_dir.at(fixture.substr(first + 1, second - first - 1));
}

Outcome run(const Headers& headers, const std::string& body,
            const NormalizeOptions& opts = options()) {
  const Delivery delivery{"/webhooks/gitlab", headers, body};
  return normalize_gitlab(delivery, opts);
}

// A body as GitLab sends it: JSON content type, event header and UUID.
Outcome run_body(const std::string& body, const std::string& event,
                 const NormalizeOptions& opts = options()) {
  Headers headers{{"Content-Type", "application/json"}, {"X-Gitlab-Event", event},
                  {"X-Gitlab-Event-UUID", kUuid}};
  return run(headers, body, opts);
}

Outcome run_fixture(const std::string& fixture, const NormalizeOptions& opts = options()) {
  return run_body(testing::read_fixture(fixture), header_for(fixture), opts);
}

boost::json::value fixture_json(const std::string& fixture) {
  json::ParseError error;
  auto v = json::parse(testing::read_fixture(fixture), error);
  REQUIRE(v);
  return *v;
}

bool has_default(const Envelope& env, const std::string& name) {
  return std::find(env.defaults.begin(), env.defaults.end(), name) != env.defaults.end();
}

void require_published(const Outcome& o) {
  INFO("reason: " << o.reason);
  REQUIRE(o.disposition == Disposition::publish);
  INFO(testing::schema_errors(to_json(o.envelope)));
  REQUIRE(testing::schema_errors(to_json(o.envelope)).empty());
}

}  // namespace

// ---------------------------------------------------------------- fixtures

TEST_CASE("every gitlab fixture normalizes without error and publishes valid envelopes") {
  const auto fixtures = testing::list_fixtures("gitlab");
  REQUIRE(fixtures.size() == 17);
  int published = 0;
  for (const auto& fixture : fixtures) {
    INFO(fixture);
    const Outcome o = run_fixture(fixture);
    CHECK(o.source_event == header_for(fixture));
    CHECK((o.disposition == Disposition::publish || o.disposition == Disposition::ignored));
    if (o.disposition != Disposition::publish) continue;
    ++published;
    const auto env = to_json(o.envelope);
    INFO(boost::json::serialize(env));
    CHECK(testing::schema_errors(env) == "");
    CHECK(o.envelope.id == std::string("gitlab:") + kUuid);
    CHECK(o.envelope.source == "gitlab");
    CHECK(o.envelope.received_at == kReceivedAt);
    CHECK(o.envelope.raw == fixture_json(fixture));
    CHECK(o.envelope.signature == sha1_hex(testing::read_fixture(fixture)));
    CHECK(o.envelope.service != "unknown");
    CHECK_FALSE(has_default(o.envelope, "occurred_at"));
  }
  // 2 pushes, tag push, merged MR, 3 deployments, 1 job, pipeline,
  // 2 incidents, release.
  CHECK(published == 12);
}

TEST_CASE("push.go-gitlab: a change with both commits, times converted from +02:00") {
  const std::string fixture = "gitlab/push/push.go-gitlab.json";
  const Outcome o = run_fixture(fixture);
  require_published(o);
  const Envelope& env = o.envelope;
  CHECK(env.kind == Kind::change);
  CHECK(env.source_event == "Push Hook");
  CHECK(env.service == "mike/diaspora");
  CHECK(env.repository == "mike/diaspora");
  REQUIRE(env.change);
  CHECK(env.change->ref == "refs/heads/master");
  CHECK(env.change->before == "95790bf891e76fee5e1747ab589903a6a1f80f22");
  CHECK(env.change->after == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
  const auto body = fixture_json(fixture);
  REQUIRE(env.change->commits.size() == json::find(body, {"commits"})->as_array().size());
  REQUIRE(env.change->commits.size() == 2);
  const Commit& first = env.change->commits[0];
  CHECK(first.sha == "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327");
  CHECK(first.time == "2011-12-12T12:27:31.000Z");  // 14:27:31+02:00
  CHECK(first.author == "Jordi Mallach");
  CHECK(first.title == "Merge branch 'some-feature' into 'master'");
  CHECK(env.change->commits[1].sha == "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
  CHECK(env.change->commits[1].title == "fixed readme");
  // added, then modified, then removed: what splits a monorepo's push.
  CHECK(first.files == std::vector<std::string>{"CHANGELOG", "app/controller/application.rb"});
  // occurred_at is the latest commit time.
  CHECK(env.occurred_at == "2012-01-03T21:36:29.000Z");
  CHECK_FALSE(env.change->number);
  CHECK(env.change->merge_sha.empty());
  CHECK(env.defaults.empty());
}

TEST_CASE("push-merge-commit.drone-go-scm: titles from the message, -08:00 times") {
  const Outcome o = run_fixture("gitlab/push/push-merge-commit.drone-go-scm.json");
  require_published(o);
  const Envelope& env = o.envelope;
  CHECK(env.kind == Kind::change);
  CHECK(env.service == "gitlab-org/hello-world");
  REQUIRE(env.change);
  CHECK(env.change->before == "2adc9465c4edfc33834e173fe89436a7cb899a1d");
  CHECK(env.change->after == "78a76ee6b4992a6baf64c59fc4c44c7323d60438");
  REQUIRE(env.change->commits.size() == 2);
  CHECK(env.change->commits[0].sha == "c4c79227ed610f1151f05bbc5be33b4f340d39c8");
  CHECK(env.change->commits[0].time == "2017-12-10T16:28:36.000Z");  // 08:28:36-08:00
  CHECK(env.change->commits[0].title == "update readme");           // no `title` field here
  CHECK(env.change->commits[0].author == "Sid Sijbrandij");
  CHECK(env.change->commits[1].title == "Merge branch 'feature' into 'master'");
  CHECK(env.occurred_at == "2017-12-10T17:08:06.000Z");
}

TEST_CASE("tag_push.go-gitlab: a change for the tagged commit") {
  const Outcome o = run_fixture("gitlab/tag_push/tag_push.go-gitlab.json");
  require_published(o);
  const Envelope& env = o.envelope;
  CHECK(env.kind == Kind::change);
  CHECK(env.source_event == "Tag Push Hook");
  CHECK(env.service == "jsmith/example");
  REQUIRE(env.change);
  CHECK(env.change->ref == "refs/tags/v1.0.0");
  CHECK(env.change->before == "0000000000000000000000000000000000000000");
  CHECK(env.change->after == "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7");
  REQUIRE(env.change->commits.size() == 1);
  CHECK(env.change->commits[0].sha == "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7");
  CHECK(env.change->commits[0].time == "2012-01-03T21:36:29.000Z");
  CHECK(env.occurred_at == "2012-01-03T21:36:29.000Z");
}

TEST_CASE("merged.drone-go-scm: a merged merge request, UTC-suffixed times") {
  const Outcome o = run_fixture("gitlab/merge_request/merged.drone-go-scm.json");
  require_published(o);
  const Envelope& env = o.envelope;
  CHECK(env.kind == Kind::change);
  CHECK(env.source_event == "Merge Request Hook");
  CHECK(env.service == "gitlab-org/hello-world");
  REQUIRE(env.change);
  REQUIRE(env.change->number);
  CHECK(*env.change->number == 1);
  CHECK(env.change->merge_sha == "78a76ee6b4992a6baf64c59fc4c44c7323d60438");
  CHECK(env.change->created_at == "2017-12-10T17:01:11.000Z");  // "2017-12-10 17:01:11 UTC"
  CHECK(env.change->merged_at == "2017-12-10T17:08:07.000Z");   // updated_at: no merged_at
  CHECK(env.change->base_ref == "master");
  CHECK(env.change->commits.empty());
  CHECK(env.occurred_at == "2017-12-10T17:08:07.000Z");
  CHECK(env.defaults.empty());
}

TEST_CASE("merge requests that were not merged are ignored") {
  const Outcome closed = run_fixture("gitlab/merge_request/closed-not-merged.drone-go-scm.json");
  CHECK(closed.disposition == Disposition::ignored);
  CHECK(closed.source_event == "Merge Request Hook");
  CHECK(closed.reason == "merge request not merged (action 'close', state 'closed')");

  const Outcome opened = run_fixture("gitlab/merge_request/opened.go-gitlab.json");
  CHECK(opened.disposition == Disposition::ignored);
  CHECK(opened.reason == "merge request not merged (action 'open', state 'opened')");
}

TEST_CASE("deployment fixtures: status, full sha from commit_url, +0000 / +0200 times") {
  SECTION("success-production.zulip") {
    const Outcome o = run_fixture("gitlab/deployment/success-production.zulip.json");
    require_published(o);
    const Envelope& env = o.envelope;
    CHECK(env.kind == Kind::deployment);
    CHECK(env.source_event == "Deployment Hook");
    CHECK(env.service == "vedant8600317/test");
    REQUIRE(env.deployment);
    CHECK(env.deployment->id == "job:9905389091");
    CHECK(env.deployment->environment == "production");
    CHECK(env.deployment->sha == "58793660b22d6ceacbdc23b28a0562bca339702c");
    CHECK(env.deployment->status == "success");
    CHECK(env.deployment->started_at.empty());
    CHECK(env.deployment->finished_at == "2025-05-02T11:55:16.000Z");  // "... +0000"
    CHECK(env.occurred_at == "2025-05-02T11:55:16.000Z");
    CHECK_FALSE(env.deployment->is_rollback);
    CHECK(env.defaults.empty());
  }
  SECTION("failed-production.zulip") {
    const Outcome o = run_fixture("gitlab/deployment/failed-production.zulip.json");
    require_published(o);
    const Envelope& env = o.envelope;
    REQUIRE(env.deployment);
    CHECK(env.deployment->id == "job:9905759933");
    CHECK(env.deployment->sha == "846d8de0b7b3d694954249d2fd5d87fbe8c84e4c");
    CHECK(env.deployment->status == "failure");
    CHECK(env.deployment->finished_at == "2025-05-02T12:30:19.000Z");
  }
  SECTION("success-staging.go-gitlab") {
    const Outcome o = run_fixture("gitlab/deployment/success-staging.go-gitlab.json");
    require_published(o);
    const Envelope& env = o.envelope;
    CHECK(env.service == "root/test-deployment-webhooks");
    REQUIRE(env.deployment);
    CHECK(env.deployment->id == "job:796");
    CHECK(env.deployment->environment == "staging");
    CHECK(env.deployment->sha == "279484c09fbe69ededfced8c1bb6e6d24616b468");
    CHECK(env.deployment->status == "success");
    CHECK(env.deployment->finished_at == "2021-04-28T19:50:00.000Z");  // 21:50:00 +0200
  }
}

TEST_CASE("job fixtures: a finished job with an environment is a deployment") {
  SECTION("success-production-env.go-gitlab") {
    const Outcome o = run_fixture("gitlab/job/success-production-env.go-gitlab.json");
    require_published(o);
    const Envelope& env = o.envelope;
    CHECK(env.kind == Kind::deployment);
    CHECK(env.source_event == "Job Hook");
    // No `project` object in job hooks: the path comes from repository.homepage.
    CHECK(env.service == "jsmithy2/release-tools-fake");
    CHECK(env.repository == "jsmithy2/release-tools-fake");
    REQUIRE(env.deployment);
    CHECK(env.deployment->id == "job:3580121225");
    CHECK(env.deployment->environment == "production");
    CHECK(env.deployment->sha == "95d49d1efbd941908580e79d65e4b5ecaf4a8305");
    CHECK(env.deployment->status == "success");
    CHECK(env.deployment->started_at == "2023-01-10T13:50:05.000Z");
    CHECK(env.deployment->finished_at == "2023-01-10T13:50:54.000Z");
    CHECK(env.occurred_at == "2023-01-10T13:50:54.000Z");
    CHECK(env.defaults.empty());
  }
  SECTION("created.go-gitlab-build: no environment") {
    const Outcome o = run_fixture("gitlab/job/created.go-gitlab-build.json");
    CHECK(o.disposition == Disposition::ignored);
    CHECK(o.source_event == "Job Hook");
    CHECK(o.reason == "job without an environment does not deploy");
  }
}

TEST_CASE("pipeline success.go-gitlab: kind other at finished_at") {
  const Outcome o = run_fixture("gitlab/pipeline/success.go-gitlab.json");
  require_published(o);
  const Envelope& env = o.envelope;
  CHECK(env.kind == Kind::other);
  CHECK(env.source_event == "Pipeline Hook");
  CHECK(env.service == "gitlab-org/gitlab-test");
  CHECK(env.occurred_at == "2016-08-12T15:26:29.000Z");
  CHECK_FALSE(env.deployment);
  CHECK_FALSE(env.change);
}

TEST_CASE("release create.go-gitlab: kind other at released_at") {
  const Outcome o = run_fixture("gitlab/release/create.go-gitlab.json");
  require_published(o);
  CHECK(o.envelope.kind == Kind::other);
  CHECK(o.envelope.source_event == "Release Hook");
  CHECK(o.envelope.service == "exm-namespace/example-project");
  CHECK(o.envelope.occurred_at == "2021-02-25T21:23:34.000Z");
}

TEST_CASE("incident-closed.zulip: a resolved incident from type Incident") {
  const Outcome o = run_fixture("gitlab/issue/incident-closed.zulip.json");
  require_published(o);
  const Envelope& env = o.envelope;
  CHECK(env.kind == Kind::incident);
  CHECK(env.source_event == "Issue Hook");
  CHECK(env.service == "sathwikshetty33-group/mVc");
  REQUIRE(env.incident);
  CHECK(env.incident->id == "sathwikshetty33-group/mVc#6");
  CHECK(env.incident->status == "resolved");
  CHECK(env.incident->created_at == "2026-05-28T06:09:06.964Z");
  CHECK(env.incident->resolved_at == "2026-05-28T06:11:46.057Z");
  CHECK(env.incident->title == "Testing");
  CHECK(env.incident->severity == "unknown");
  CHECK(env.incident->root_cause_sha.empty());
  CHECK(env.occurred_at == "2026-05-28T06:11:46.057Z");
}

TEST_CASE("incident-opened-work_item.zulip: object_kind work_item, no event header") {
  Headers headers{{"Content-Type", "application/json"}, {"X-Gitlab-Event-UUID", kUuid}};
  const Outcome o =
      run(headers, testing::read_fixture("gitlab/issue/incident-opened-work_item.zulip.json"));
  require_published(o);
  const Envelope& env = o.envelope;
  CHECK(env.kind == Kind::incident);
  CHECK(env.source_event == "work_item");
  REQUIRE(env.incident);
  CHECK(env.incident->id == "sathwikshetty33-group/mVc#2");
  CHECK(env.incident->status == "open");
  CHECK(env.incident->created_at == "2026-05-28T05:04:31.155Z");
  CHECK(env.incident->resolved_at.empty());
  CHECK(env.occurred_at == "2026-05-28T05:04:31.155Z");
}

TEST_CASE("issues that are not incidents are ignored") {
  const Outcome closed = run_fixture("gitlab/issue/closed.drone-go-scm.json");
  CHECK(closed.disposition == Disposition::ignored);
  CHECK(closed.source_event == "Issue Hook");
  CHECK(closed.reason == "issue is not an incident (no incident type, no 'Incident' label)");

  const Outcome opened = run_fixture("gitlab/issue/opened.go-gitlab.json");
  CHECK(opened.disposition == Disposition::ignored);
}

TEST_CASE("opened.go-gitlab is an incident when its label is the configured incident label") {
  // The fixture's label is "API"; the comparison ignores case.
  const Outcome o = run_fixture("gitlab/issue/opened.go-gitlab.json", options("api"));
  require_published(o);
  const Envelope& env = o.envelope;
  CHECK(env.kind == Kind::incident);
  REQUIRE(env.incident);
  CHECK(env.incident->id == "gitlabhq/gitlab-test#23");
  CHECK(env.incident->status == "open");
  CHECK(env.incident->severity == "high");
  CHECK(env.incident->title == "New API: create/update/delete file");
  CHECK(env.incident->created_at == "2013-12-03T17:15:43.000Z");
  CHECK(env.occurred_at == "2013-12-03T17:15:43.000Z");
}

// ----------------------------------------------------------- authentication

namespace {

SourceSettings settings_with(std::vector<std::string> tokens) {
  SourceSettings s;
  s.gitlab_tokens.values = std::move(tokens);
  s.gitlab_tokens.origin = "FOURKEYS_GITLAB_TOKEN";
  return s;
}

AuthResult authenticate(const Source& source, const Headers& headers) {
  const std::string body = R"({"object_kind":"push"})";
  return source.authenticate(Delivery{"/webhooks/gitlab", headers, body});
}

}  // namespace

TEST_CASE("gitlab authentication") {
  const auto source = make_gitlab_source(settings_with({"s3cret-token"}));
  REQUIRE(source);

  SECTION("the configured token is accepted") {
    CHECK(authenticate(*source, {{"X-Gitlab-Token", "s3cret-token"}}).ok());
  }
  SECTION("a wrong token is a mismatch whose message holds no token") {
    const auto r = authenticate(*source, {{"X-Gitlab-Token", "s3cret-tokem"}});
    CHECK(r.status == AuthStatus::mismatch);
    CHECK(r.message.find("s3cret") == std::string::npos);
    CHECK(r.message.find("X-Gitlab-Token") != std::string::npos);
  }
  SECTION("a prefix or a longer token does not match") {
    CHECK(authenticate(*source, {{"X-Gitlab-Token", "s3cret"}}).status == AuthStatus::mismatch);
    CHECK(authenticate(*source, {{"X-Gitlab-Token", "s3cret-token2"}}).status ==
          AuthStatus::mismatch);
  }
  SECTION("a missing or empty header is missing") {
    CHECK(authenticate(*source, {{"X-Gitlab-Event", "Push Hook"}}).status == AuthStatus::missing);
    CHECK(authenticate(*source, {{"X-Gitlab-Token", ""}}).status == AuthStatus::missing);
  }
  SECTION("the header name is case-insensitive") {
    CHECK(authenticate(*source, {{"x-gitlab-token", "s3cret-token"}}).ok());
  }
}

TEST_CASE("gitlab authentication without a token names the setting") {
  const auto source = make_gitlab_source(SourceSettings{});
  const auto r = authenticate(*source, {{"X-Gitlab-Token", "anything"}});
  CHECK(r.status == AuthStatus::not_configured);
  CHECK(r.message.find("FOURKEYS_GITLAB_TOKEN") != std::string::npos);
  CHECK(r.message.find("FOURKEYS_GITLAB_TOKEN_FILE") != std::string::npos);
  CHECK(r.message.find("anything") == std::string::npos);
}

TEST_CASE("gitlab authentication accepts every token during rotation") {
  const auto source = make_gitlab_source(settings_with({"old-token", "new-token"}));
  CHECK(authenticate(*source, {{"X-Gitlab-Token", "old-token"}}).ok());
  CHECK(authenticate(*source, {{"X-Gitlab-Token", "new-token"}}).ok());
  CHECK(authenticate(*source, {{"X-Gitlab-Token", "other-token"}}).status == AuthStatus::mismatch);
}

TEST_CASE("gitlab source: name, route, recognition, normalize") {
  const auto source = make_gitlab_source(settings_with({"t"}));
  CHECK(source->name() == "gitlab");
  CHECK(source->routes() == std::vector<std::string>{"/webhooks/gitlab"});
  CHECK(source->recognizes({{"X-Gitlab-Event", "Push Hook"}}));
  CHECK(source->recognizes({{"User-Agent", "GitLab/17.4.0-ee"}}));
  CHECK_FALSE(source->recognizes({{"User-Agent", "GitHub-Hookshot/abc"}}));
  CHECK_FALSE(source->recognizes({{"X-GitHub-Event", "push"}}));

  const std::string body = testing::read_fixture("gitlab/push/push.go-gitlab.json");
  Headers headers{{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Event-UUID", kUuid}};
  const Outcome o = source->normalize(Delivery{"/webhooks/gitlab", headers, body}, options());
  require_published(o);
  CHECK(o.envelope.kind == Kind::change);
}

// ---------------------------------------------------------------- tolerance

TEST_CASE("delivery id: Idempotency-Key, else X-Gitlab-Event-UUID, else the body's SHA-1") {
  const std::string body = testing::read_fixture("gitlab/push/push.go-gitlab.json");
  SECTION("Idempotency-Key wins") {
    Headers headers{{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Event-UUID", kUuid},
                    {"Idempotency-Key", "c0ffee00-1111-2222-3333-444455556666"}};
    const Outcome o = run(headers, body);
    require_published(o);
    CHECK(o.envelope.id == "gitlab:c0ffee00-1111-2222-3333-444455556666");
    CHECK_FALSE(has_default(o.envelope, "id"));
  }
  SECTION("no delivery id") {
    const Outcome o = run({{"X-Gitlab-Event", "Push Hook"}}, body);
    require_published(o);
    CHECK(o.envelope.id == "gitlab:sha1:" + sha1_hex(body));
    CHECK(has_default(o.envelope, "id"));
  }
}

TEST_CASE("a push without repository or project gets service unknown") {
  const std::string body = R"({"object_kind":"push","ref":"refs/heads/main",
    "before":"1111111111111111111111111111111111111111",
    "after":"2222222222222222222222222222222222222222",
    "commits":[{"id":"2222222222222222222222222222222222222222","message":"fix\nmore",
                "timestamp":"2025-05-02T11:55:16Z"}]})";
  const Outcome o = run_body(body, "Push Hook");
  require_published(o);
  CHECK(o.envelope.service == "unknown");
  CHECK(o.envelope.repository.empty());
  CHECK(has_default(o.envelope, "service"));
  REQUIRE(o.envelope.change);
  REQUIRE(o.envelope.change->commits.size() == 1);
  CHECK(o.envelope.change->commits[0].title == "fix");
  CHECK(o.envelope.change->commits[0].author.empty());
}

TEST_CASE("GitLab time forms through the envelope") {
  struct Case { const char* written; const char* utc; bool zone_default; };
  const Case cases[] = {
      {"2025-05-02 11:55:16 +0000", "2025-05-02T11:55:16.000Z", false},
      {"2025-05-02 11:55:16 UTC", "2025-05-02T11:55:16.000Z", false},
      {"2025-05-02 13:55:16 +02:00", "2025-05-02T11:55:16.000Z", false},
      {"2025-05-02T13:55:16+02:00", "2025-05-02T11:55:16.000Z", false},
      {"2025-05-02 06:55:16 -0500", "2025-05-02T11:55:16.000Z", false},
      {"2025-05-02T11:55:16.123456Z", "2025-05-02T11:55:16.123Z", false},
      {"2025-05-02 11:55:16", "2025-05-02T11:55:16.000Z", true},  // no zone: UTC
  };
  for (const auto& c : cases) {
    INFO(c.written);
    const std::string body = std::string(R"({"object_kind":"deployment","status":"success",)") +
                             R"("environment":"production","short_sha":"58793660",)" +
                             R"("project":{"path_with_namespace":"a/b"},)" +
                             R"("status_changed_at":")" + c.written + R"("})";
    const Outcome o = run_body(body, "Deployment Hook");
    require_published(o);
    REQUIRE(o.envelope.deployment);
    CHECK(o.envelope.deployment->finished_at == c.utc);
    CHECK(o.envelope.occurred_at == c.utc);
    CHECK(has_default(o.envelope, "zone") == c.zone_default);
  }
}

TEST_CASE("a commit time without a zone is read as UTC and counted") {
  const std::string body = R"({"object_kind":"push",
    "after":"2222222222222222222222222222222222222222",
    "commits":[{"id":"2222222222222222222222222222222222222222","title":"t",
                "timestamp":"2025-05-02 11:55:16"}]})";
  const Outcome o = run_body(body, "Push Hook");
  require_published(o);
  CHECK(o.envelope.change->commits[0].time == "2025-05-02T11:55:16.000Z");
  CHECK(o.envelope.occurred_at == "2025-05-02T11:55:16.000Z");
  CHECK(has_default(o.envelope, "zone"));
}

TEST_CASE("a deployment without environment defaults to production") {
  const std::string body = R"({"object_kind":"deployment","status":"success","deployment_id":7,
    "status_changed_at":"2025-05-02 11:55:16 +0000","short_sha":"58793660",
    "commit_url":"https://gitlab.com/a/b/-/commit/58793660b22d6ceacbdc23b28a0562bca339702c"})";
  const Outcome o = run_body(body, "Deployment Hook");
  require_published(o);
  REQUIRE(o.envelope.deployment);
  CHECK(o.envelope.deployment->environment == "production");
  CHECK(has_default(o.envelope, "environment"));
  CHECK(o.envelope.deployment->sha == "58793660b22d6ceacbdc23b28a0562bca339702c");
  CHECK(o.envelope.deployment->id == "deployment:7");
  CHECK(o.envelope.service == "unknown");
}

TEST_CASE("deployment statuses") {
  auto with_status = [](const std::string& status) {
    return run_body(R"({"object_kind":"deployment","status":")" + status +
                        R"(","environment":"production","short_sha":"58793660",)" +
                        R"("status_changed_at":"2025-05-02 11:55:16 +0000"})",
                    "Deployment Hook");
  };
  CHECK(with_status("success").envelope.deployment->status == "success");
  CHECK(with_status("failed").envelope.deployment->status == "failure");
  CHECK(with_status("canceled").envelope.deployment->status == "cancelled");
  for (const char* waiting : {"running", "created", "pending", "blocked"}) {
    INFO(waiting);
    const Outcome o = with_status(waiting);
    CHECK(o.disposition == Disposition::ignored);
    CHECK(o.reason == std::string("deployment status '") + waiting + "' is not final");
    CHECK(o.source_event == "Deployment Hook");
  }
  SECTION("only short_sha: kept as sent") {
    const Outcome o = with_status("success");
    CHECK(o.envelope.deployment->sha == "58793660");
  }
  SECTION("no status: success, counted as a default") {
    const Outcome o = run_body(R"({"object_kind":"deployment","sha":"abcdef1234567",
      "status_changed_at":"2025-05-02T11:55:16Z"})", "Deployment Hook");
    require_published(o);
    CHECK(o.envelope.deployment->status == "success");
    CHECK(o.envelope.deployment->sha == "abcdef1234567");
    CHECK(has_default(o.envelope, "status"));
  }
}

TEST_CASE("a deployment without sha and time is dead-lettered") {
  const Outcome o = run_body(R"({"object_kind":"deployment","status":"success",
    "environment":"production"})", "Deployment Hook");
  CHECK(o.disposition == Disposition::dead_letter);
  CHECK(o.source_event == "Deployment Hook");
  CHECK(o.reason.find("without sha") != std::string::npos);
}

TEST_CASE("jobs that do not finish a deployment are ignored") {
  const std::string fixture =
      testing::read_fixture("gitlab/job/success-production-env.go-gitlab.json");
  auto edited = [&](const std::string& from, const std::string& to) {
    std::string body = fixture;
    const auto at = body.find(from);
    REQUIRE(at != std::string::npos);
    body.replace(at, from.size(), to);
    return run_body(body, "Job Hook");
  };
  const Outcome running = edited(R"("build_status": "success")", R"("build_status": "running")");
  CHECK(running.disposition == Disposition::ignored);
  CHECK(running.reason == "job status 'running' is not final");

  const Outcome stop = edited(R"("action": "start")", R"("action": "stop")");
  CHECK(stop.disposition == Disposition::ignored);
  CHECK(stop.reason == "job environment action 'stop' does not deploy");

  const Outcome failed = edited(R"("build_status": "success")", R"("build_status": "failed")");
  require_published(failed);
  CHECK(failed.envelope.deployment->status == "failure");

  const Outcome unnamed = edited(R"("name": "production",)", "");
  require_published(unnamed);
  CHECK(unnamed.envelope.deployment->environment == "production");
  CHECK(has_default(unnamed.envelope, "environment"));
}

TEST_CASE("branch and tag deletions are ignored") {
  const std::string zeros = "0000000000000000000000000000000000000000";
  const Outcome branch = run_body(R"({"object_kind":"push","ref":"refs/heads/x",
    "before":"1111111111111111111111111111111111111111","after":")" + zeros +
                                      R"(","checkout_sha":null,"commits":[]})",
                                  "Push Hook");
  CHECK(branch.disposition == Disposition::ignored);
  CHECK(branch.reason == "branch deletion: `after` is all zeros");

  const Outcome tag = run_body(R"({"object_kind":"tag_push","ref":"refs/tags/v1",
    "before":"1111111111111111111111111111111111111111","after":")" + zeros +
                                   R"(","checkout_sha":null,"commits":[]})",
                               "Tag Push Hook");
  CHECK(tag.disposition == Disposition::ignored);
  CHECK(tag.reason == "tag deletion: `after` is all zeros");
}

TEST_CASE("an annotated tag without commits: the change names checkout_sha") {
  const Outcome o = run_body(R"({"object_kind":"tag_push","ref":"refs/tags/v2",
    "before":"0000000000000000000000000000000000000000",
    "after":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "checkout_sha":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    "project":{"path_with_namespace":"g/p"},"commits":[]})", "Tag Push Hook");
  require_published(o);
  REQUIRE(o.envelope.change);
  CHECK(o.envelope.change->after == "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
  CHECK(o.envelope.change->commits.empty());
  // No commit times: occurred_at is the receive time.
  CHECK(o.envelope.occurred_at == kReceivedAt);
  CHECK(has_default(o.envelope, "occurred_at"));
}

TEST_CASE("a push without any sha is dead-lettered") {
  const Outcome o = run_body(R"({"object_kind":"push","ref":"refs/heads/main","commits":[]})",
                             "Push Hook");
  CHECK(o.disposition == Disposition::dead_letter);
  CHECK(o.source_event == "Push Hook");
  CHECK(o.reason == "push without `after`, `checkout_sha` or commits");
}

TEST_CASE("an older merge request payload without action, state merged") {
  const Outcome o = run_body(R"({"object_kind":"merge_request",
    "project":{"path_with_namespace":"g/p"},
    "object_attributes":{"iid":42,"state":"merged","merge_commit_sha":"abcdef1234567890",
      "created_at":"2025-05-01 10:00:00 +0200","merged_at":"2025-05-02 11:55:16 +0000",
      "updated_at":"2025-05-03 00:00:00 UTC","target_branch":"main"}})", "Merge Request Hook");
  require_published(o);
  REQUIRE(o.envelope.change);
  CHECK(*o.envelope.change->number == 42);
  CHECK(o.envelope.change->merge_sha == "abcdef1234567890");
  CHECK(o.envelope.change->created_at == "2025-05-01T08:00:00.000Z");
  CHECK(o.envelope.change->merged_at == "2025-05-02T11:55:16.000Z");  // merged_at wins
  CHECK(o.envelope.change->base_ref == "main");
}

TEST_CASE("pipelines: only finished ones are kept") {
  auto with_status = [](const std::string& status) {
    return run_body(R"({"object_kind":"pipeline","object_attributes":{"status":")" + status +
                        R"(","created_at":"2025-05-02 11:50:00 UTC",)" +
                        R"("finished_at":"2025-05-02 11:55:16 UTC"}})",
                    "Pipeline Hook");
  };
  for (const char* final_status : {"success", "failed", "canceled"}) {
    INFO(final_status);
    const Outcome o = with_status(final_status);
    require_published(o);
    CHECK(o.envelope.kind == Kind::other);
    CHECK(o.envelope.occurred_at == "2025-05-02T11:55:16.000Z");
  }
  for (const char* waiting : {"running", "pending", "created"}) {
    INFO(waiting);
    const Outcome o = with_status(waiting);
    CHECK(o.disposition == Disposition::ignored);
    CHECK(o.reason == std::string("pipeline status '") + waiting + "' is not final");
  }
}

TEST_CASE("incidents: issue_type, labels, root cause, reopen") {
  SECTION("issue_type incident, root cause in the description") {
    const Outcome o = run_body(R"json({"object_kind":"issue",
      "project":{"path_with_namespace":"g/p"},
      "object_attributes":{"iid":9,"issue_type":"incident","state":"closed","title":"down",
        "description":"Outage.\nRoot Cause: `846D8DE0B7B3` (bad config)",
        "created_at":"2025-05-02 11:00:00 +0000","closed_at":"2025-05-02 11:55:16 +0000",
        "updated_at":"2025-05-02 11:55:17 +0000"}})json", "Issue Hook");
    require_published(o);
    REQUIRE(o.envelope.incident);
    CHECK(o.envelope.incident->id == "g/p#9");
    CHECK(o.envelope.incident->status == "resolved");
    CHECK(o.envelope.incident->root_cause_sha == "846d8de0b7b3");
    CHECK(o.envelope.incident->created_at == "2025-05-02T11:00:00.000Z");
    CHECK(o.envelope.incident->resolved_at == "2025-05-02T11:55:16.000Z");
    CHECK(o.envelope.incident->severity.empty());
    CHECK(o.envelope.occurred_at == "2025-05-02T11:55:16.000Z");
  }
  SECTION("label inside object_attributes, reopened") {
    const Outcome o = run_body(R"({"object_kind":"issue","project":{"path_with_namespace":"g/p"},
      "object_attributes":{"iid":3,"state":"opened","action":"reopen",
        "labels":[{"title":"INCIDENT"}],
        "created_at":"2025-05-01T00:00:00Z","updated_at":"2025-05-02T11:55:16Z"}})",
                               "Issue Hook");
    require_published(o);
    CHECK(o.envelope.incident->status == "open");
    CHECK(o.envelope.incident->resolved_at.empty());
    CHECK(o.envelope.occurred_at == "2025-05-02T11:55:16.000Z");
  }
  SECTION("an incident without a repository or iid") {
    const Outcome o = run_body(R"({"object_kind":"issue",
      "object_attributes":{"id":555,"type":"INCIDENT","created_at":"2025-05-01T00:00:00Z"}})",
                               "Issue Hook");
    require_published(o);
    CHECK(o.envelope.incident->id == "unknown#555");
    CHECK(o.envelope.incident->status == "open");
    CHECK(has_default(o.envelope, "status"));
    CHECK(has_default(o.envelope, "service"));
  }
  SECTION("no state, closed by closed_at (Four Keys' generator)") {
    const Outcome o = run_body(R"({"object_kind":"issue","project":{"path_with_namespace":"g/p"},
      "object_attributes":{"iid":4,"labels":[{"title":"Incident"}],
        "created_at":"2025-03-10 10:00:00","closed_at":"2025-03-10 12:00:00"}})",
                               "Issue Hook");
    require_published(o);
    CHECK(o.envelope.incident->status == "resolved");
    CHECK(o.envelope.incident->resolved_at == "2025-03-10T12:00:00.000Z");
    CHECK(has_default(o.envelope, "status"));
  }
  SECTION("an incident without any id is dead-lettered") {
    const Outcome o = run_body(R"({"object_kind":"issue",
      "object_attributes":{"type":"Incident","created_at":"2025-05-01T00:00:00Z"}})",
                               "Issue Hook");
    CHECK(o.disposition == Disposition::dead_letter);
    CHECK(o.reason == "incident issue without iid or id");
  }
}

TEST_CASE("event from object_kind; X-Gitlab-Event only as fallback") {
  const std::string push = testing::read_fixture("gitlab/push/push.go-gitlab.json");
  SECTION("a misleading header does not change the event, only source_event") {
    const Outcome o = run_body(push, "System Hook");
    require_published(o);
    CHECK(o.envelope.kind == Kind::change);
    CHECK(o.envelope.source_event == "System Hook");
  }
  SECTION("no object_kind: the header decides") {
    const Outcome o = run_body(R"({"after":"2222222222222222222222222222222222222222"})",
                               "Push Hook");
    require_published(o);
    CHECK(o.envelope.kind == Kind::change);
  }
  SECTION("no object_kind, no header: dead-lettered") {
    const Outcome o = run({{"Content-Type", "application/json"}}, R"({"after":"22"})");
    CHECK(o.disposition == Disposition::dead_letter);
  }
  SECTION("other events are ignored") {
    const Outcome note = run_body(R"({"object_kind":"note"})", "Note Hook");
    CHECK(note.disposition == Disposition::ignored);
    CHECK(note.source_event == "Note Hook");
    CHECK(note.reason == "object_kind 'note' carries no DORA signal");
    const Outcome wiki = run_body(R"({})", "Wiki Page Hook");
    CHECK(wiki.disposition == Disposition::ignored);
    CHECK(wiki.source_event == "Wiki Page Hook");
  }
}

TEST_CASE("content types and malformed bodies") {
  const std::string push = testing::read_fixture("gitlab/push/push.go-gitlab.json");
  SECTION("application/json with a charset, or no content type, is read") {
    CHECK(run({{"Content-Type", "application/json; charset=utf-8"},
               {"X-Gitlab-Event", "Push Hook"}}, push).disposition == Disposition::publish);
    CHECK(run({{"X-Gitlab-Event", "Push Hook"}}, push).disposition == Disposition::publish);
  }
  SECTION("other content types are unsupported") {
    const Outcome o = run({{"Content-Type", "application/x-www-form-urlencoded"},
                           {"X-Gitlab-Event", "Push Hook"}}, push);
    CHECK(o.disposition == Disposition::unsupported);
    CHECK(o.source_event == "Push Hook");
  }
  SECTION("invalid JSON is a bad request that says where") {
    const Outcome o = run_body(R"({"object_kind": "push", )", "Push Hook");
    CHECK(o.disposition == Disposition::bad_request);
    CHECK(o.reason.find("byte") != std::string::npos);
    CHECK(o.source_event == "Push Hook");
  }
  SECTION("a body that is not an object is dead-lettered") {
    const Outcome o = run_body("[1,2]", "Push Hook");
    CHECK(o.disposition == Disposition::dead_letter);
  }
}

TEST_CASE("fields of the wrong type never throw") {
  const char* bodies[] = {
      R"({"object_kind":"push","commits":"x","after":5})",
      R"({"object_kind":"push","commits":[1,null,{"id":7,"timestamp":{}}],"after":"ab"})",
      R"({"object_kind":"tag_push","commits":{},"checkout_sha":[]})",
      R"({"object_kind":"merge_request","object_attributes":5})",
      R"({"object_kind":"merge_request","object_attributes":{"action":"merge","iid":"x"}})",
      R"({"object_kind":"deployment","status":3,"environment":{}})",
      R"({"object_kind":"build","environment":{"name":4},"build_status":"success","sha":[]})",
      R"({"object_kind":"pipeline","object_attributes":[]})",
      R"({"object_kind":"issue","labels":"Incident","object_attributes":{"labels":[3,"a"]}})",
      R"({"object_kind":"issue","object_attributes":{"type":"incident","iid":true,"id":1.5}})",
      R"({"object_kind":"release","released_at":true,"project":"p"})",
      R"({"object_kind":7})",
  };
  for (const char* body : bodies) {
    INFO(body);
    Outcome o;
    REQUIRE_NOTHROW(o = run_body(body, "Push Hook"));
    if (o.disposition == Disposition::publish) {
      CHECK(testing::schema_errors(to_json(o.envelope)) == "");
    }
  }
}

// GitHub source: every fixture under fixtures/github, signatures, form
// deliveries and the tolerance rules of DESIGN.md. Expected values are read
// off the fixture files by hand, so a mapping that drifts fails here.
#include "parser/github/github_source.h"

#include "common/crypto.h"
#include "parser/github/github_form.h"
#include "tests/support/fixtures.h"
#include "tests/support/schema_check.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <string>

namespace {

using namespace fourkeys::parser;
using fourkeys::testing::list_fixtures;
using fourkeys::testing::read_fixture;
using fourkeys::testing::schema_errors;

constexpr std::int64_t kReceivedAt = 1700000000000;
constexpr const char* kReceivedAtText = "2023-11-14T22:13:20.000Z";
constexpr const char* kDeliveryId = "72d3162e-cc78-11e3-81ab-4c9367dc0958";

NormalizeOptions options_with_label(std::string label = "Incident") {
  NormalizeOptions o;
  o.received_at_millis = kReceivedAt;
  o.incident_label = std::move(label);
  return o;
}

// fixtures are stored as github/<X-GitHub-Event>/<variant>.json
std::string event_of(const std::string& fixture) {
  const auto first = fixture.find('/');
  const auto second = fixture.find('/', first + 1);
  return fixture.substr(first + 1, second - first - 1);
}

struct Request {
  std::string body;
  std::string event;
  std::string content_type = "application/json";
  std::string delivery_id = kDeliveryId;
};

Outcome normalize(const Request& r, const NormalizeOptions& options = options_with_label()) {
  Headers headers{{"User-Agent", "GitHub-Hookshot/044aadd"}};
  if (!r.event.empty()) headers.add("X-GitHub-Event", r.event);
  if (!r.delivery_id.empty()) headers.add("X-GitHub-Delivery", r.delivery_id);
  if (!r.content_type.empty()) headers.add("Content-Type", r.content_type);
  const Delivery delivery{"/webhooks/github", headers, r.body};
  return normalize_github(delivery, options);
}

Outcome normalize_fixture(const std::string& fixture,
                          const NormalizeOptions& options = options_with_label()) {
  return normalize({read_fixture(fixture), event_of(fixture)}, options);
}

// A fixture with `edit` applied to its parsed body, serialized again.
std::string edited(const std::string& fixture, const std::function<void(boost::json::object&)>& edit) {
  boost::json::value v = boost::json::parse(read_fixture(fixture));
  edit(v.as_object());
  return boost::json::serialize(v);
}

// application/x-www-form-urlencoded as GitHub sends it: payload=<escaped JSON>.
std::string form_encode(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '*') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", c);
      out += escaped;
    }
  }
  return out;
}

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The published envelope (a copy, so that callers may pass a temporary).
Envelope published(const Outcome& o) {
  INFO(o.reason);
  REQUIRE(o.disposition == Disposition::publish);
  return o.envelope;
}

void check_common(const Envelope& env, const std::string& fixture, const std::string& service) {
  const std::string body = read_fixture(fixture);
  CHECK(env.id == std::string("github:") + kDeliveryId);
  CHECK(env.source == "github");
  CHECK(env.source_event == event_of(fixture));
  CHECK(env.service == service);
  CHECK(env.repository == service);
  CHECK(env.received_at == kReceivedAtText);
  CHECK(env.signature == fourkeys::sha1_hex(body));
  CHECK(to_json(env).at("raw") == boost::json::parse(body));
  CHECK(schema_errors(to_json(env)) == "");
}

constexpr const char* kTestVectorSecret = "It's a Secret to Everybody";
constexpr const char* kTestVectorBody = "Hello, World!";
constexpr const char* kTestVectorSha256 =
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
constexpr const char* kTestVectorSha1 = "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59";

SourceSettings settings_with(std::vector<std::string> secrets, bool allow_sha1 = false) {
  SourceSettings s;
  s.github_secrets.values = std::move(secrets);
  s.github_secrets.origin = "FOURKEYS_GITHUB_SECRET";
  s.github_allow_sha1 = allow_sha1;
  return s;
}

AuthResult authenticate(const SourceSettings& settings, const Headers& headers,
                        std::string_view body = kTestVectorBody) {
  const auto source = make_github_source(settings);
  return source->authenticate({"/webhooks/github", headers, body});
}

}  // namespace

// ---------------------------------------------------------------- every fixture

TEST_CASE("github: every fixture has an expected outcome and publishes schema-valid envelopes") {
  const std::map<std::string, Disposition> expected{
      {"github/check_run/completed-failure.octokit.json", Disposition::ignored},
      {"github/check_run/completed-success.octokit.json", Disposition::ignored},
      {"github/deployment/created.octokit.json", Disposition::publish},
      {"github/deployment_status/failure.zulip.json", Disposition::publish},
      {"github/deployment_status/in_progress.gh-pages.octokit.json", Disposition::ignored},
      {"github/deployment_status/success.octokit.json", Disposition::publish},
      {"github/issues/closed.zulip.json", Disposition::ignored},
      {"github/issues/labeled.octokit.json", Disposition::ignored},
      {"github/issues/opened.octokit.json", Disposition::ignored},
      {"github/ping/ping.octokit.json", Disposition::ignored},
      {"github/pull_request/closed-merged.dora-bot.json", Disposition::publish},
      {"github/pull_request/closed-not-merged.octokit.json", Disposition::ignored},
      {"github/pull_request/opened.octokit.json", Disposition::ignored},
      {"github/push/branch-created-with-commit.octokit.json", Disposition::publish},
      {"github/push/tag-deleted.octokit.json", Disposition::ignored},
      {"github/push/to-default-branch.drone-go-scm.json", Disposition::publish},
      {"github/release/published.octokit.json", Disposition::publish},
      {"github/workflow_job/completed-failure.octokit.json", Disposition::ignored},
      {"github/workflow_run/completed-success.octokit.json", Disposition::ignored},
      {"github/workflow_run/requested.octokit.json", Disposition::ignored},
  };
  const auto fixtures = list_fixtures("github");
  REQUIRE(fixtures.size() == expected.size());
  for (const auto& fixture : fixtures) {
    INFO(fixture);
    REQUIRE(expected.count(fixture) == 1);
    const Outcome o = normalize_fixture(fixture);
    INFO(o.reason);
    CHECK(o.disposition == expected.at(fixture));
    CHECK(o.source_event == event_of(fixture));
    if (o.disposition == Disposition::publish) {
      CHECK(schema_errors(to_json(o.envelope)) == "");
    } else {
      CHECK(!o.reason.empty());
    }
  }
  // With the label the octokit issues carry, they become incidents; still valid.
  for (const auto& fixture : {"github/issues/labeled.octokit.json", "github/issues/opened.octokit.json"}) {
    const Outcome o = normalize_fixture(fixture, options_with_label("bug"));
    CHECK(schema_errors(to_json(published(o))) == "");
  }
}

// ---------------------------------------------------------------- push

TEST_CASE("github push: new branch with one commit") {
  const std::string fixture = "github/push/branch-created-with-commit.octokit.json";
  const Envelope& env = published(normalize_fixture(fixture));
  check_common(env, fixture, "Codertocat/Hello-World");
  CHECK(env.kind == Kind::change);
  CHECK(env.occurred_at == "2019-05-15T15:19:25.000Z");
  CHECK(env.defaults.empty());
  REQUIRE(env.change);
  CHECK(env.change->ref == "refs/heads/master");
  CHECK(env.change->before == "0000000000000000000000000000000000000000");
  CHECK(env.change->after == "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
  REQUIRE(env.change->commits.size() == 1);
  CHECK(env.change->commits[0].sha == "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
  CHECK(env.change->commits[0].time == "2019-05-15T15:19:25.000Z");
  CHECK(env.change->commits[0].author == "Codertocat");
  CHECK(env.change->commits[0].title == "Initial commit");
  CHECK(!env.change->number);
  CHECK(!env.deployment);
  CHECK(!env.incident);
}

TEST_CASE("github push: to the default branch, commit time with a -07:00 offset") {
  const std::string fixture = "github/push/to-default-branch.drone-go-scm.json";
  const Envelope& env = published(normalize_fixture(fixture));
  check_common(env, fixture, "Codertocat/Hello-World");
  CHECK(env.kind == Kind::change);
  CHECK(env.occurred_at == "2018-06-15T20:01:51.000Z");
  CHECK(env.defaults.empty());
  REQUIRE(env.change);
  CHECK(env.change->ref == "refs/heads/master");
  CHECK(env.change->before == "a10867b14bb761a232cd80139fbd4c0d33264240");
  CHECK(env.change->after == "199eddf46df50de8d02e99bf1c5fdb4101338224");
  REQUIRE(env.change->commits.size() == 1);
  CHECK(env.change->commits[0].sha == "199eddf46df50de8d02e99bf1c5fdb4101338224");
  CHECK(env.change->commits[0].time == "2018-06-15T20:01:51.000Z");
  CHECK(env.change->commits[0].author == "Codertocat");
  CHECK(env.change->commits[0].title == "Update README");
  // The files it touched, which split a monorepo's push by service.
  CHECK(env.change->commits[0].files == std::vector<std::string>{"README.md"});
}

TEST_CASE("github push: a deleted tag is ignored") {
  const Outcome o = normalize_fixture("github/push/tag-deleted.octokit.json");
  CHECK(o.disposition == Disposition::ignored);
  CHECK(o.source_event == "push");
  CHECK(o.reason == "push deletes refs/tags/simple-tag");
}

TEST_CASE("github push: variants built from the fixture") {
  const std::string fixture = "github/push/branch-created-with-commit.octokit.json";

  SECTION("a zero `after` without `deleted` is still a deletion") {
    const auto body = edited(fixture, [](boost::json::object& o) {
      o.erase("deleted");
      o["after"] = "0000000000000000000000000000000000000000";
    });
    CHECK(normalize({body, "push"}).disposition == Disposition::ignored);
  }
  SECTION("a new tag on an existing commit (only head_commit) is ignored") {
    const auto body = edited(fixture, [](boost::json::object& o) {
      o["ref"] = "refs/tags/v1.0.0";
      o["commits"] = boost::json::array();
    });
    const Outcome out = normalize({body, "push"});
    CHECK(out.disposition == Disposition::ignored);
    CHECK(out.reason == "tag push without new commits");
  }
  SECTION("a tag push that lists commits is a change") {
    const auto body = edited(fixture, [](boost::json::object& o) { o["ref"] = "refs/tags/v1.0.0"; });
    const Envelope& env = published(normalize({body, "push"}));
    CHECK(env.change->commits.size() == 1);
  }
  SECTION("a branch push without commits[] uses head_commit") {
    const auto body = edited(fixture, [](boost::json::object& o) { o["commits"] = boost::json::array(); });
    const Envelope& env = published(normalize({body, "push"}));
    REQUIRE(env.change->commits.size() == 1);
    CHECK(env.change->commits[0].sha == "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
    CHECK(env.change->commits[0].time == "2019-05-15T15:19:25.000Z");
  }
  SECTION("without commits and head_commit it is dead-lettered") {
    const auto body = edited(fixture, [](boost::json::object& o) {
      o["commits"] = boost::json::array();
      o["head_commit"] = nullptr;
    });
    const Outcome out = normalize({body, "push"});
    CHECK(out.disposition == Disposition::dead_letter);
    CHECK(contains(out.reason, "without any commit sha"));
  }
  SECTION("without head_commit the time is repository.pushed_at (epoch seconds)") {
    const auto body = edited(fixture, [](boost::json::object& o) { o.erase("head_commit"); });
    const Envelope& env = published(normalize({body, "push"}));
    CHECK(env.occurred_at == "2019-05-15T15:20:57.000Z");  // pushed_at 1557933657
  }
  SECTION("the author falls back to the username; the title is the first line") {
    const auto body = edited(fixture, [](boost::json::object& o) {
      auto& commit = o["commits"].as_array()[0].as_object();
      commit["author"].as_object().erase("name");
      commit["message"] = "Fix the build\r\n\r\nLonger text";
    });
    const Envelope& env = published(normalize({body, "push"}));
    CHECK(env.change->commits[0].author == "Codertocat");
    CHECK(env.change->commits[0].title == "Fix the build");
  }
}

// ---------------------------------------------------------------- pull_request

TEST_CASE("github pull_request: closed and merged is a change") {
  const std::string fixture = "github/pull_request/closed-merged.dora-bot.json";
  const Envelope& env = published(normalize_fixture(fixture));
  check_common(env, fixture, "sish8075/statistics-source");
  CHECK(env.kind == Kind::change);
  CHECK(env.occurred_at == "2022-10-12T08:33:55.000Z");
  CHECK(env.defaults.empty());
  REQUIRE(env.change);
  CHECK(env.change->number == 17);
  CHECK(env.change->merge_sha == "18936fb4b760b985e35fae9aa953a349703a4c53");
  CHECK(env.change->created_at == "2022-10-12T08:29:33.000Z");
  CHECK(env.change->merged_at == "2022-10-12T08:33:55.000Z");
  CHECK(env.change->base_ref == "main");
  CHECK(env.change->commits.empty());
}

TEST_CASE("github pull_request: not merged is ignored") {
  const Outcome closed = normalize_fixture("github/pull_request/closed-not-merged.octokit.json");
  CHECK(closed.disposition == Disposition::ignored);
  CHECK(closed.reason == "pull_request closed without merging");
  const Outcome opened = normalize_fixture("github/pull_request/opened.octokit.json");
  CHECK(opened.disposition == Disposition::ignored);
  CHECK(opened.reason == "pull_request action 'opened' is not a merge");
}

TEST_CASE("github pull_request: merged without a merge sha is dead-lettered") {
  const auto body = edited("github/pull_request/closed-merged.dora-bot.json", [](boost::json::object& o) {
    o["pull_request"].as_object()["merge_commit_sha"] = nullptr;
  });
  const Outcome o = normalize({body, "pull_request"});
  CHECK(o.disposition == Disposition::dead_letter);
  CHECK(o.source_event == "pull_request");
}

TEST_CASE("github pull_request: no action, merged_at set") {
  const auto body = edited("github/pull_request/closed-merged.dora-bot.json", [](boost::json::object& o) {
    o.erase("action");
    o["pull_request"].as_object().erase("merged");
  });
  const Envelope& env = published(normalize({body, "pull_request"}));
  CHECK(env.change->merge_sha == "18936fb4b760b985e35fae9aa953a349703a4c53");
}

// ---------------------------------------------------------------- deployments

TEST_CASE("github deployment: created is a queued deployment") {
  const std::string fixture = "github/deployment/created.octokit.json";
  const Envelope& env = published(normalize_fixture(fixture));
  check_common(env, fixture, "Codertocat/Hello-World");
  CHECK(env.kind == Kind::deployment);
  CHECK(env.occurred_at == "2019-05-15T15:20:53.000Z");
  CHECK(env.defaults.empty());
  REQUIRE(env.deployment);
  CHECK(env.deployment->id == "145988746");
  CHECK(env.deployment->environment == "production");
  CHECK(env.deployment->sha == "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
  CHECK(env.deployment->status == "queued");
  CHECK(env.deployment->started_at == "2019-05-15T15:20:53.000Z");
  CHECK(env.deployment->finished_at == "");
  CHECK(!env.deployment->is_rollback);
  CHECK(!env.deployment->is_hotfix);
}

TEST_CASE("github deployment_status: success") {
  const std::string fixture = "github/deployment_status/success.octokit.json";
  const Envelope& env = published(normalize_fixture(fixture));
  check_common(env, fixture, "Codertocat/Hello-World");
  CHECK(env.kind == Kind::deployment);
  CHECK(env.occurred_at == "2019-05-15T15:20:55.000Z");
  CHECK(env.defaults.empty());
  REQUIRE(env.deployment);
  CHECK(env.deployment->id == "145988746");
  CHECK(env.deployment->environment == "production");
  CHECK(env.deployment->sha == "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
  CHECK(env.deployment->status == "success");
  CHECK(env.deployment->started_at == "2019-05-15T15:20:53.000Z");
  CHECK(env.deployment->finished_at == "2019-05-15T15:20:55.000Z");
}

TEST_CASE("github deployment_status: failure without a top-level action (zulip)") {
  const std::string fixture = "github/deployment_status/failure.zulip.json";
  const Envelope& env = published(normalize_fixture(fixture));
  check_common(env, fixture, "baxterthehacker/public-repo");
  CHECK(env.kind == Kind::deployment);
  CHECK(env.occurred_at == "2015-05-05T23:40:39.000Z");
  // The status has no environment; the deployment's is used, not a default.
  CHECK(env.defaults.empty());
  REQUIRE(env.deployment);
  CHECK(env.deployment->id == "710692");
  CHECK(env.deployment->environment == "production");
  CHECK(env.deployment->sha == "9049f1265b7d61be4a8904a9a27120d2064dab3b");
  CHECK(env.deployment->status == "failure");
  CHECK(env.deployment->started_at == "2015-05-05T23:40:38.000Z");
  CHECK(env.deployment->finished_at == "2015-05-05T23:40:39.000Z");
}

TEST_CASE("github deployment_status: non-terminal and inactive states are ignored") {
  const Outcome o = normalize_fixture("github/deployment_status/in_progress.gh-pages.octokit.json");
  CHECK(o.disposition == Disposition::ignored);
  CHECK(o.source_event == "deployment_status");
  CHECK(o.reason == "deployment_status 'in_progress' is not a terminal state");

  for (const char* state : {"queued", "pending", "waiting", "inactive"}) {
    const auto body = edited("github/deployment_status/success.octokit.json", [&](boost::json::object& b) {
      b["deployment_status"].as_object()["state"] = state;
    });
    INFO(state);
    CHECK(normalize({body, "deployment_status"}).disposition == Disposition::ignored);
  }
  const auto error_body = edited("github/deployment_status/success.octokit.json", [](boost::json::object& b) {
    b["deployment_status"].as_object()["state"] = "error";
  });
  CHECK(published(normalize({error_body, "deployment_status"})).deployment->status == "error");
}

TEST_CASE("github deployment_status: without a state it is dead-lettered") {
  const auto body = edited("github/deployment_status/success.octokit.json", [](boost::json::object& b) {
    b["deployment_status"].as_object().erase("state");
  });
  const Outcome o = normalize({body, "deployment_status"});
  CHECK(o.disposition == Disposition::dead_letter);
  CHECK(o.source_event == "deployment_status");
}

TEST_CASE("github deployment: rollback and hotfix markers") {
  const std::string fixture = "github/deployment/created.octokit.json";
  SECTION("payload flags") {
    const auto body = edited(fixture, [](boost::json::object& o) {
      o["deployment"].as_object()["payload"] = boost::json::object{{"rollback", true}, {"is_hotfix", true}};
    });
    const Envelope& env = published(normalize({body, "deployment"}));
    CHECK(env.deployment->is_rollback);
    CHECK(env.deployment->is_hotfix);
  }
  SECTION("payload as a JSON string") {
    const auto body = edited(fixture, [](boost::json::object& o) {
      o["deployment"].as_object()["payload"] = "{\"hotfix\":true}";
    });
    const Envelope& env = published(normalize({body, "deployment"}));
    CHECK(!env.deployment->is_rollback);
    CHECK(env.deployment->is_hotfix);
  }
  SECTION("task rollback") {
    const auto body = edited(fixture, [](boost::json::object& o) { o["deployment"].as_object()["task"] = "rollback"; });
    CHECK(published(normalize({body, "deployment"})).deployment->is_rollback);
  }
  SECTION("a flag that is not the boolean true does not count") {
    const auto body = edited(fixture, [](boost::json::object& o) {
      o["deployment"].as_object()["payload"] = boost::json::object{{"rollback", "yes"}};
    });
    CHECK(!published(normalize({body, "deployment"})).deployment->is_rollback);
  }
}

TEST_CASE("github deployment: without sha and created_at it is dead-lettered") {
  const auto body = edited("github/deployment/created.octokit.json", [](boost::json::object& o) {
    o["deployment"].as_object().erase("sha");
    o["deployment"].as_object().erase("created_at");
  });
  const Outcome o = normalize({body, "deployment"});
  CHECK(o.disposition == Disposition::dead_letter);
  CHECK(o.reason == "deployment without sha and created_at");
}

// ---------------------------------------------------------------- issues

TEST_CASE("github issues: without the incident label they are ignored") {
  for (const auto& fixture : {"github/issues/opened.octokit.json", "github/issues/labeled.octokit.json",
                              "github/issues/closed.zulip.json"}) {
    INFO(fixture);
    const Outcome o = normalize_fixture(fixture);
    CHECK(o.disposition == Disposition::ignored);
    CHECK(o.source_event == "issues");
    CHECK(o.reason == "issue without the 'Incident' label");
  }
}

TEST_CASE("github issues: the label matches case-insensitively and opens an incident") {
  const std::string fixture = "github/issues/labeled.octokit.json";
  const Envelope& env = published(normalize_fixture(fixture, options_with_label("BUG")));
  check_common(env, fixture, "Codertocat/Hello-World");
  CHECK(env.kind == Kind::incident);
  CHECK(env.occurred_at == "2019-05-15T15:20:18.000Z");
  REQUIRE(env.incident);
  CHECK(env.incident->id == "Codertocat/Hello-World#1");
  CHECK(env.incident->status == "open");
  CHECK(env.incident->created_at == "2019-05-15T15:20:18.000Z");
  CHECK(env.incident->resolved_at == "");
  CHECK(env.incident->root_cause_sha == "");
  CHECK(env.incident->title == "Spelling error in the README file");

  const Envelope& opened = published(normalize_fixture("github/issues/opened.octokit.json", options_with_label("bug")));
  CHECK(opened.incident->id == "Codertocat/Hello-World#1");
  CHECK(opened.incident->status == "open");
}

TEST_CASE("github issues: closing a labelled issue resolves the incident; root cause from the body") {
  const auto body = edited("github/issues/closed.zulip.json", [](boost::json::object& o) {
    auto& issue = o["issue"].as_object();
    issue["labels"] = boost::json::array{boost::json::object{{"name", "incident"}}};
    issue["body"] = "The deploy broke checkout.\r\n  Root Cause: ABCDEF1234567\r\nmore";
  });
  const Envelope& env = published(normalize({body, "issues"}));
  CHECK(env.kind == Kind::incident);
  CHECK(env.service == "Pritesh-30/test-repo");
  CHECK(env.occurred_at == "2026-01-31T08:11:37.000Z");
  REQUIRE(env.incident);
  CHECK(env.incident->id == "Pritesh-30/test-repo#8");
  CHECK(env.incident->status == "resolved");
  CHECK(env.incident->created_at == "2026-01-31T08:11:06.000Z");
  CHECK(env.incident->resolved_at == "2026-01-31T08:11:37.000Z");
  CHECK(env.incident->root_cause_sha == "abcdef1234567");
  CHECK(env.incident->title == "Bug related to the bot");
  CHECK(schema_errors(to_json(env)) == "");
}

TEST_CASE("github issues: root cause line rules") {
  auto root_cause = [](const std::string& text) {
    const auto body = edited("github/issues/labeled.octokit.json", [&](boost::json::object& o) {
      o["issue"].as_object()["body"] = text;
    });
    return published(normalize({body, "issues"}, options_with_label("bug"))).incident->root_cause_sha;
  };
  CHECK(root_cause("root cause: 1234567") == "1234567");
  CHECK(root_cause("intro\nroot cause:18936fb4b760b985e35fae9aa953a349703a4c53.") ==
        "18936fb4b760b985e35fae9aa953a349703a4c53");
  CHECK(root_cause("root cause: 123456") == "");                                    // too short
  CHECK(root_cause("root cause: 18936fb4b760b985e35fae9aa953a349703a4c53a") == "");  // 41 digits
  CHECK(root_cause("root cause: 1234567xyz") == "");                                // not a sha
  CHECK(root_cause("We found the root cause: 1234567") == "1234567");  // anywhere in the text
}

TEST_CASE("github issues: other actions are ignored; no action reads the state") {
  const std::string fixture = "github/issues/labeled.octokit.json";
  const auto assigned = edited(fixture, [](boost::json::object& o) { o["action"] = "assigned"; });
  const Outcome o = normalize({assigned, "issues"}, options_with_label("bug"));
  CHECK(o.disposition == Disposition::ignored);
  CHECK(o.reason == "issues action 'assigned' neither opens nor resolves an incident");

  const auto no_action = edited("github/issues/closed.zulip.json", [](boost::json::object& b) {
    b.erase("action");
    b["issue"].as_object()["labels"] = boost::json::array{boost::json::object{{"name", "Incident"}}};
  });
  CHECK(published(normalize({no_action, "issues"})).incident->status == "resolved");

  // Four Keys' generator: neither action nor state, closed by closed_at.
  const std::string four_keys = R"({"issue":{"created_at":"2025-03-10 10:00:00","closed_at":"2025-03-10 12:00:00",
    "number":1,"labels":[{"name":"Incident"}],"body":"root cause: 1234567abc"},"repository":{"name":"foobar"}})";
  const Envelope& closed = published(normalize({four_keys, "issues"}));
  CHECK(closed.incident->status == "resolved");
  CHECK(closed.incident->created_at == "2025-03-10T10:00:00.000Z");
  CHECK(closed.incident->resolved_at == "2025-03-10T12:00:00.000Z");
  CHECK(closed.incident->root_cause_sha == "1234567abc");
  std::string still_open = four_keys;
  still_open.replace(still_open.find(R"("closed_at":"2025-03-10 12:00:00")"), 33, R"("closed_at":null)");
  const Envelope& open = published(normalize({still_open, "issues"}));
  CHECK(open.incident->status == "open");
  CHECK(open.incident->resolved_at.empty());
}

// ---------------------------------------------------------------- other events

TEST_CASE("github release: published is kind other") {
  const std::string fixture = "github/release/published.octokit.json";
  const Envelope& env = published(normalize_fixture(fixture));
  check_common(env, fixture, "Codertocat/Hello-World");
  CHECK(env.kind == Kind::other);
  CHECK(env.occurred_at == "2019-05-15T15:20:53.000Z");
  CHECK(!env.change);
  CHECK(!env.deployment);
  CHECK(!env.incident);
  const auto created = edited(fixture, [](boost::json::object& o) { o["action"] = "created"; });
  CHECK(normalize({created, "release"}).disposition == Disposition::ignored);
}

TEST_CASE("github: workflow, check and ping events are ignored with a reason") {
  for (const auto& fixture : {"github/workflow_run/completed-success.octokit.json",
                              "github/workflow_run/requested.octokit.json",
                              "github/check_run/completed-failure.octokit.json",
                              "github/check_run/completed-success.octokit.json"}) {
    INFO(fixture);
    const Outcome o = normalize_fixture(fixture);
    CHECK(o.disposition == Disposition::ignored);
    CHECK(o.reason.find("is not a deploy workflow (FOURKEYS_GITHUB_DEPLOY_WORKFLOWS)") != std::string::npos);
  }
  const Outcome job = normalize_fixture("github/workflow_job/completed-failure.octokit.json");
  CHECK(job.disposition == Disposition::ignored);
  CHECK(job.source_event == "workflow_job");
  const Outcome ping = normalize_fixture("github/ping/ping.octokit.json");
  CHECK(ping.disposition == Disposition::ignored);
  CHECK(ping.source_event == "ping");
  const Outcome star = normalize({"{\"action\":\"created\"}", "star"});
  CHECK(star.disposition == Disposition::ignored);
  CHECK(star.reason == "github event 'star' carries no DORA signal");
}

// ---------------------------------------------------------------- content types

TEST_CASE("github: content types") {
  const std::string fixture = "github/deployment/created.octokit.json";
  const std::string body = read_fixture(fixture);
  CHECK(normalize({body, "deployment", "application/json; charset=utf-8"}).disposition == Disposition::publish);
  CHECK(normalize({body, "deployment", ""}).disposition == Disposition::publish);
  const Outcome xml = normalize({body, "deployment", "text/xml"});
  CHECK(xml.disposition == Disposition::unsupported);
  CHECK(xml.source_event == "deployment");
  CHECK(contains(xml.reason, "text/xml"));
}

TEST_CASE("github: invalid JSON is a bad request that says where") {
  const Outcome o = normalize({"{\"ref\": ", "push"});
  CHECK(o.disposition == Disposition::bad_request);
  CHECK(o.source_event == "push");
  CHECK(contains(o.reason, "byte"));
}

TEST_CASE("github: no X-GitHub-Event is dead-lettered") {
  const Outcome o = normalize({read_fixture("github/push/branch-created-with-commit.octokit.json"), ""});
  CHECK(o.disposition == Disposition::dead_letter);
  CHECK(o.reason == "missing X-GitHub-Event header");
}

TEST_CASE("github: odd JSON shapes never throw") {
  for (const char* event : {"push", "pull_request", "deployment", "deployment_status", "issues", "release"}) {
    for (const char* body : {"[]", "null", "42", "\"text\"", "{}",
                             R"({"commits":5,"head_commit":7,"ref":1,"repository":[]})",
                             R"({"deployment":[],"deployment_status":{"state":"success"}})",
                             R"({"pull_request":{"merged":true,"merge_commit_sha":1}})",
                             R"({"issue":{"labels":[1,{"name":2},{"name":"Incident"}]}})",
                             R"({"release":{"published_at":"not a time"}})"}) {
      INFO(event << " " << body);
      Outcome o;
      CHECK_NOTHROW(o = normalize({body, event}));
      CHECK(o.source_event == event);
      if (o.disposition == Disposition::publish) CHECK(schema_errors(to_json(o.envelope)) == "");
    }
  }
}

// ---------------------------------------------------------------- form-encoded

TEST_CASE("github: a form-encoded delivery gives the same envelope as the JSON one") {
  const std::string fixture = "github/push/to-default-branch.drone-go-scm.json";
  const std::string json_body = read_fixture(fixture);
  const std::string form_body = "payload=" + form_encode(json_body);
  REQUIRE(contains(form_body, "+"));  // the fixture has spaces: they travel as '+'

  const auto settings = settings_with({kTestVectorSecret});
  const Headers headers{{"X-GitHub-Event", "push"},
                        {"Content-Type", "application/x-www-form-urlencoded"},
                        {"X-Hub-Signature-256", "sha256=" + fourkeys::hmac_sha256_hex(kTestVectorSecret, form_body)}};
  CHECK(authenticate(settings, headers, form_body).ok());
  CHECK(authenticate(settings, headers, json_body).status == AuthStatus::mismatch);

  const Envelope& from_json = published(normalize({json_body, "push"}));
  const Outcome form_outcome = normalize({form_body, "push", "application/x-www-form-urlencoded"});
  const Envelope& from_form = published(form_outcome);
  CHECK(from_form.signature == fourkeys::sha1_hex(form_body));
  CHECK(from_form.signature != from_json.signature);
  CHECK(to_json(from_form).at("raw") == boost::json::parse(json_body));
  // Everything else is the same.
  auto without_signature = [](Envelope e) {
    e.signature.clear();
    return to_json(e);
  };
  CHECK(without_signature(from_form) == without_signature(from_json));
  CHECK(schema_errors(to_json(from_form)) == "");
}

TEST_CASE("github: form bodies without a payload field or with bad escapes are bad requests") {
  const Outcome missing = normalize({"other=1&x=2", "push", "application/x-www-form-urlencoded"});
  CHECK(missing.disposition == Disposition::bad_request);
  CHECK(missing.reason == "the form body has no payload field");
  const Outcome broken = normalize({"payload=%7B%zz", "push", "application/x-www-form-urlencoded"});
  CHECK(broken.disposition == Disposition::bad_request);
  const Outcome not_json = normalize({"payload=%7B", "push", "application/x-www-form-urlencoded"});
  CHECK(not_json.disposition == Disposition::bad_request);
  CHECK(contains(not_json.reason, "byte"));
}

TEST_CASE("github form_payload: decoding") {
  std::string error;
  CHECK(form_payload("a=1&payload=%7B%22k%22%3A+%22v%2Bw%22%7D", error) == std::string("{\"k\": \"v+w\"}"));
  CHECK(form_payload("payload=", error) == std::string());
  CHECK(!form_payload("", error));
}

// ---------------------------------------------------------------- tolerance

TEST_CASE("github tolerance: no repository gives service unknown") {
  const auto body = edited("github/push/branch-created-with-commit.octokit.json",
                           [](boost::json::object& o) { o.erase("repository"); });
  const Envelope& env = published(normalize({body, "push"}));
  CHECK(env.service == "unknown");
  CHECK(env.repository == "");
  CHECK(contains(env.defaults, "service"));
  CHECK(env.occurred_at == "2019-05-15T15:19:25.000Z");
  CHECK(schema_errors(to_json(env)) == "");
}

TEST_CASE("github tolerance: no delivery id falls back to the body's SHA-1") {
  const std::string body = read_fixture("github/deployment_status/success.octokit.json");
  const Envelope& env = published(normalize({body, "deployment_status", "application/json", ""}));
  CHECK(env.id == "github:sha1:" + fourkeys::sha1_hex(body));
  CHECK(contains(env.defaults, "id"));
  CHECK(schema_errors(to_json(env)) == "");
}

TEST_CASE("github tolerance: a time without a zone is read as UTC") {
  const auto body = edited("github/deployment_status/success.octokit.json", [](boost::json::object& o) {
    o["deployment_status"].as_object()["updated_at"] = "2019-05-15T15:20:55";
  });
  const Envelope& env = published(normalize({body, "deployment_status"}));
  CHECK(env.deployment->finished_at == "2019-05-15T15:20:55.000Z");
  CHECK(env.occurred_at == "2019-05-15T15:20:55.000Z");
  CHECK(contains(env.defaults, "zone"));
  CHECK(schema_errors(to_json(env)) == "");
}

TEST_CASE("github tolerance: no environment defaults to production") {
  const auto body = edited("github/deployment_status/failure.zulip.json", [](boost::json::object& o) {
    o["deployment"].as_object().erase("environment");
  });
  const Envelope& env = published(normalize({body, "deployment_status"}));
  CHECK(env.deployment->environment == "production");
  CHECK(contains(env.defaults, "environment"));
  CHECK(env.deployment->status == "failure");
  CHECK(schema_errors(to_json(env)) == "");
}

TEST_CASE("github tolerance: no time at all falls back to received_at") {
  const auto body = edited("github/release/published.octokit.json", [](boost::json::object& o) {
    o["release"].as_object().erase("published_at");
    o["release"].as_object().erase("created_at");
  });
  const Envelope& env = published(normalize({body, "release"}));
  CHECK(env.occurred_at == kReceivedAtText);
  CHECK(contains(env.defaults, "occurred_at"));
}

// ---------------------------------------------------------------- authentication

TEST_CASE("github auth: GitHub's documented test vector") {
  const auto settings = settings_with({kTestVectorSecret});
  CHECK(authenticate(settings, {{"X-Hub-Signature-256", kTestVectorSha256}}).ok());
  CHECK(fourkeys::hmac_sha1_hex(kTestVectorSecret, kTestVectorBody) == std::string(kTestVectorSha1).substr(5));
  // Hex in upper case is the same signature.
  std::string upper = kTestVectorSha256;
  std::transform(upper.begin() + 7, upper.end(), upper.begin() + 7, [](char c) { return static_cast<char>(std::toupper(c)); });
  CHECK(authenticate(settings, {{"X-Hub-Signature-256", upper}}).ok());
}

TEST_CASE("github auth: prepared keys give the one-shot HMAC, for any key and body") {
  using fourkeys::HmacKey;
  const std::string long_key(200, 'k');  // longer than a block: hashed first
  for (const std::string& key : {std::string(), std::string("a"), std::string(kTestVectorSecret), long_key,
                                std::string("with\0nul", 8)}) {
    const HmacKey sha256(HmacKey::Digest::sha256, key);
    const HmacKey sha1(HmacKey::Digest::sha1, key);
    for (const std::string& body : {std::string(), std::string(kTestVectorBody), std::string(100000, 'b')}) {
      CHECK(sha256.hex(body) == fourkeys::hmac_sha256_hex(key, body));
      CHECK(sha1.hex(body) == fourkeys::hmac_sha1_hex(key, body));
      CHECK(sha256.hex(body) == sha256.hex(body));  // the prepared state is not used up
    }
  }
}

TEST_CASE("github auth: wrong, malformed and missing signatures") {
  const auto settings = settings_with({kTestVectorSecret});
  const std::string wrong = "sha256=0000000000000000000000000000000000000000000000000000000000000000";
  const AuthResult bad = authenticate(settings, {{"X-Hub-Signature-256", wrong}});
  CHECK(bad.status == AuthStatus::mismatch);
  CHECK(!contains(bad.message, kTestVectorSecret));
  CHECK(!contains(bad.message, wrong.substr(7)));
  CHECK(!contains(bad.message, std::string(kTestVectorSha256).substr(7)));

  CHECK(authenticate(settings, {{"X-Hub-Signature-256", kTestVectorSha256}}, "Hello, World?").status ==
        AuthStatus::mismatch);
  CHECK(authenticate(settings, {{"X-Hub-Signature-256", std::string(kTestVectorSha256).substr(7)}}).status ==
        AuthStatus::mismatch);
  CHECK(authenticate(settings, {{"X-Hub-Signature-256", "sha256="}}).status == AuthStatus::mismatch);

  const AuthResult missing = authenticate(settings, {{"X-GitHub-Event", "push"}});
  CHECK(missing.status == AuthStatus::missing);
  CHECK(contains(missing.message, "X-Hub-Signature-256"));
}

TEST_CASE("github auth: not configured names the setting") {
  const AuthResult r = authenticate(SourceSettings{}, {{"X-Hub-Signature-256", kTestVectorSha256}});
  CHECK(r.status == AuthStatus::not_configured);
  CHECK(contains(r.message, "FOURKEYS_GITHUB_SECRET"));
  CHECK(contains(r.message, "FOURKEYS_GITHUB_SECRET_FILE"));
}

TEST_CASE("github auth: any of several secrets (rotation)") {
  CHECK(authenticate(settings_with({"old-secret", kTestVectorSecret}), {{"X-Hub-Signature-256", kTestVectorSha256}}).ok());
  CHECK(authenticate(settings_with({kTestVectorSecret, "new-secret"}), {{"X-Hub-Signature-256", kTestVectorSha256}}).ok());
  CHECK(authenticate(settings_with({"old-secret", "new-secret"}), {{"X-Hub-Signature-256", kTestVectorSha256}}).status ==
        AuthStatus::mismatch);
}

TEST_CASE("github auth: legacy SHA-1 only when allowed and without a SHA-256 header") {
  const Headers sha1_only{{"X-Hub-Signature", kTestVectorSha1}};
  const AuthResult refused = authenticate(settings_with({kTestVectorSecret}, false), sha1_only);
  CHECK(refused.status == AuthStatus::missing);
  CHECK(contains(refused.message, "FOURKEYS_GITHUB_ALLOW_SHA1"));

  const auto allow = settings_with({"other", kTestVectorSecret}, true);
  CHECK(authenticate(allow, sha1_only).ok());
  CHECK(authenticate(allow, {{"X-Hub-Signature", "sha1=0000000000000000000000000000000000000000"}}).status ==
        AuthStatus::mismatch);
  CHECK(authenticate(allow, {{"X-Hub-Signature", kTestVectorSha256}}).status == AuthStatus::mismatch);
  // When SHA-256 is present it decides, even if SHA-1 would pass.
  const std::string wrong256 = "sha256=0000000000000000000000000000000000000000000000000000000000000000";
  CHECK(authenticate(allow, {{"X-Hub-Signature-256", wrong256}, {"X-Hub-Signature", kTestVectorSha1}}).status ==
        AuthStatus::mismatch);
  CHECK(authenticate(allow, {{"X-Hub-Signature-256", kTestVectorSha256}, {"X-Hub-Signature", kTestVectorSha1}}).ok());
}

// ---------------------------------------------------------------- the Source object

TEST_CASE("github source: name, route and recognition") {
  const auto source = make_github_source(settings_with({kTestVectorSecret}));
  CHECK(source->name() == "github");
  CHECK(source->routes() == std::vector<std::string>{"/webhooks/github"});
  CHECK(source->recognizes({{"User-Agent", "GitHub-Hookshot/044aadd"}}));
  CHECK(source->recognizes({{"x-github-event", "push"}}));
  CHECK(!source->recognizes({{"User-Agent", "GitLab/16.0"}, {"X-Gitlab-Event", "Push Hook"}}));

  const std::string body = read_fixture("github/deployment/created.octokit.json");
  const Headers headers{{"X-GitHub-Event", "deployment"}, {"X-GitHub-Delivery", kDeliveryId}};
  const Outcome o = source->normalize({"/webhooks/github", headers, body}, options_with_label());
  CHECK(published(o).deployment->id == "145988746");
}

TEST_CASE("github: a configured workflow or check run is a deployment") {
  NormalizeOptions options = options_with_label();
  options.deploy_workflows = parse_deploy_workflows(" Deploy production = production , Octocoders-linter=staging");
  REQUIRE(options.deploy_workflows.size() == 2);
  CHECK(options.deploy_workflows[0] == std::pair<std::string, std::string>{"Deploy production", "production"});

  SECTION("workflow_run completed with success") {
    const std::string body = edited("github/workflow_run/completed-success.octokit.json", [](boost::json::object& o) {
      o["workflow_run"].as_object()["name"] = "Deploy production";
    });
    const Outcome o = normalize({body, "workflow_run"}, options);
    const Envelope& env = published(o);
    REQUIRE(env.deployment);
    CHECK(env.kind == Kind::deployment);
    CHECK(env.repository == "octo-org/octo-repo");
    CHECK(env.deployment->id == "workflow_run:289782451");
    CHECK(env.deployment->sha == "3484a3fb816e0859fd6e1cea078d76385ff50625");
    CHECK(env.deployment->status == "success");
    CHECK(env.deployment->environment == "production");
    CHECK(env.deployment->finished_at == "2020-10-05T16:33:49.000Z");
    CHECK(env.occurred_at == "2020-10-05T16:33:49.000Z");
    CHECK(schema_errors(to_json(env)).empty());
  }
  SECTION("check_run failure maps to failure in the configured environment") {
    const Envelope& env = published(normalize_fixture("github/check_run/completed-failure.octokit.json", options));
    REQUIRE(env.deployment);
    CHECK(env.deployment->status == "failure");
    CHECK(env.deployment->environment == "staging");
    CHECK(env.deployment->sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821");
    CHECK(env.deployment->finished_at == "2019-05-15T15:21:12.000Z");
    CHECK(env.deployment->id.rfind("check_run:", 0) == 0);
  }
  SECTION("a requested run is not an outcome yet") {
    const std::string body = edited("github/workflow_run/requested.octokit.json", [](boost::json::object& o) {
      o["workflow_run"].as_object()["name"] = "Deploy production";
    });
    const Outcome o = normalize({body, "workflow_run"}, options);
    CHECK(o.disposition == Disposition::ignored);
    CHECK(o.reason == "'Deploy production' has not completed");
  }
  SECTION("a skipped run says nothing about a deployment") {
    const std::string body = edited("github/workflow_run/completed-success.octokit.json", [](boost::json::object& o) {
      o["workflow_run"].as_object()["name"] = "Deploy production";
      o["workflow_run"].as_object()["conclusion"] = "skipped";
    });
    CHECK(normalize({body, "workflow_run"}, options).disposition == Disposition::ignored);
  }
}

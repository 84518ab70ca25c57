// Decode stage: every envelope the receiver publishes for the shared
// fixtures decodes into rows that say what the envelope says; then the
// refusals (not JSON, schema violations, U+0000, invalid UTF-8) and the
// mapping rules one at a time.
#include "worker/decode.h"
#include "worker/envelope_shape.h"

#include "common/json.h"
#include "common/time.h"
#include "parser/envelope.h"
#include "parser/registry.h"
#include "parser/source.h"
#include "tests/support/fixtures.h"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace fourkeys;
using namespace fourkeys::worker;
using parser::Disposition;
using parser::Envelope;
using parser::Headers;
using parser::Kind;
using parser::Outcome;

constexpr std::int64_t kReceivedAt = 1700000000000;  // 2023-11-14T22:13:20.000Z
constexpr const char* kReceivedAtText = "2023-11-14T22:13:20.000Z";
constexpr const char* kDeliveryId = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
constexpr const char* kGitlabUuid = "6b2b5a39-41f4-4c52-9d55-0f8b7e6a1c11";

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// ---- decoding helpers ---------------------------------------------------------

const DecodedEvent& decoded(const DecodeResult& result) {
  if (const auto* error = std::get_if<DecodeError>(&result)) {
    FAIL("decode error: " << error->reason);
  }
  return std::get<DecodedEvent>(result);
}

std::string error_of(const DecodeResult& result) {
  const auto* error = std::get_if<DecodeError>(&result);
  REQUIRE(error != nullptr);
  return error->reason;
}

// Envelope times are RFC 3339 text with milliseconds; compare as that text so
// a wrong millisecond shows up.
std::string text_time(Millis millis) { return format_time(millis); }
std::string text_time(const std::optional<Millis>& millis) {
  return millis ? format_time(*millis) : std::string();
}

// ---- the receiver's normalizers on the fixtures --------------------------------

const parser::Source& source_named(std::string_view name) {
  static const auto sources = parser::build_sources(parser::SourceSettings{});
  for (const auto& s : sources) {
    if (s->name() == name) return *s;
  }
  throw std::logic_error("no source named " + std::string(name));
}

parser::NormalizeOptions normalize_options() {
  parser::NormalizeOptions o;
  o.received_at_millis = kReceivedAt;
  return o;
}

// "<source>/<dir>/<variant>.json" → "<dir>"
std::string folder_of(const std::string& fixture) {
  const auto first = fixture.find('/');
  const auto second = fixture.find('/', first + 1);
  return fixture.substr(first + 1, second - first - 1);
}

// The headers each sender sets (fixtures/SOURCES.md), as the parser tests build them.
Headers github_headers(const std::string& fixture, const std::string&) {
  return Headers{{"User-Agent", "GitHub-Hookshot/044aadd"},
                 {"X-GitHub-Event", folder_of(fixture)},
                 {"X-GitHub-Delivery", kDeliveryId},
                 {"Content-Type", "application/json"}};
}

Headers gitlab_headers(const std::string& fixture, const std::string&) {
  static const std::map<std::string, std::string> by_dir = {
      {"push", "Push Hook"},           {"tag_push", "Tag Push Hook"},
      {"merge_request", "Merge Request Hook"}, {"pipeline", "Pipeline Hook"},
      {"job", "Job Hook"},             {"deployment", "Deployment Hook"},
      {"issue", "Issue Hook"},         {"release", "Release Hook"},
  };
  return Headers{{"Content-Type", "application/json"},
                 {"X-Gitlab-Event", by_dir.at(folder_of(fixture))},
                 {"X-Gitlab-Event-UUID", kGitlabUuid}};
}

Headers pagerduty_headers(const std::string&, const std::string&) {
  return Headers{{"Content-Type", "application/json"}, {"X-Webhook-Id", "wh-123"}};
}

// CloudEvents binary mode: the CDEvent is the body, its context in ce-* headers.
Headers cdevents_headers(const std::string&, const std::string& body) {
  json::ParseError error;
  const auto cdevent = json::parse(body, error);
  REQUIRE(cdevent);
  const auto context = [&](std::string_view key) {
    return json::get_string(*cdevent, {"context", key}).value_or("");
  };
  return Headers{{"Content-Type", "application/json"}, {"ce-specversion", "1.0"},
                 {"ce-id", context("id")},           {"ce-type", context("type")},
                 {"ce-source", context("source")},   {"ce-time", context("timestamp")}};
}

struct SourceFolder {
  const char* source;
  const char* folder;
  const char* path;
  std::function<Headers(const std::string& fixture, const std::string& body)> headers;
};

const std::vector<SourceFolder>& source_folders() {
  static const std::vector<SourceFolder> folders = {
      {"github", "github", "/webhooks/github", github_headers},
      {"gitlab", "gitlab", "/webhooks/gitlab", gitlab_headers},
      {"pagerduty", "pagerduty", "/webhooks/pagerduty", pagerduty_headers},
      {"cdevents", "cdevents", "/webhooks/cdevents", cdevents_headers},
  };
  return folders;
}

struct Published {
  std::string fixture;
  Envelope envelope;
  std::string text;  // serialize_envelope, as the receiver writes it to Kafka
};

// Every fixture that its source publishes, with its envelope text.
const std::vector<Published>& published_fixtures() {
  static const std::vector<Published> all = [] {
    std::vector<Published> out;
    for (const auto& folder : source_folders()) {
      for (const auto& fixture : testing::list_fixtures(folder.folder)) {
        const std::string body = testing::read_fixture(fixture);
        const Headers headers = folder.headers(fixture, body);
        const parser::Delivery delivery{folder.path, headers, body};
        Outcome o = source_named(folder.source).normalize(delivery, normalize_options());
        if (o.disposition != Disposition::publish) continue;
        const std::string_view raw =
            o.envelope.raw_text.empty() ? std::string_view(body) : std::string_view(o.envelope.raw_text);
        std::string text = parser::serialize_envelope(o.envelope, raw);
        out.push_back({fixture, std::move(o.envelope), std::move(text)});
      }
    }
    return out;
  }();
  return all;
}

const Published& published_fixture(const std::string& fixture) {
  for (const auto& p : published_fixtures()) {
    if (p.fixture == fixture) return p;
  }
  throw std::logic_error(fixture + " is not published");
}

// ---- what the rows must say, from the envelope struct -----------------------------

void check_common(const DecodedEvent& d, const Envelope& env) {
  CHECK(d.id == env.id);
  CHECK(d.source == env.source);
  CHECK(d.source_event == env.source_event);
  CHECK(d.kind == parser::to_string(env.kind));
  CHECK(d.service == env.service);
  CHECK(d.team == env.team);
  CHECK(d.repository == env.repository);
  CHECK(d.signature == env.signature);
  CHECK(text_time(d.occurred_at) == env.occurred_at);
  CHECK(text_time(d.received_at) == env.received_at);
  CHECK(d.received_at == kReceivedAt);
}

void check_change(const DecodedEvent& d, const Envelope& env) {
  REQUIRE(env.change);
  const auto& c = *env.change;
  CHECK_FALSE(d.deployment);
  CHECK_FALSE(d.incident);
  CHECK(d.environment.empty());
  if (!c.after.empty() || !c.commits.empty()) {
    REQUIRE(d.push);
    CHECK(d.push->event_id == env.id);
    CHECK(d.push->repository == env.repository);
    CHECK(d.push->ref == c.ref);
    CHECK(d.push->before == c.before);
    CHECK(d.push->after == c.after);
    CHECK(text_time(d.push->time_created) == env.occurred_at);
    REQUIRE(d.push->commit_shas.size() == c.commits.size());
    REQUIRE(d.changes.size() == c.commits.size());
    for (std::size_t i = 0; i < c.commits.size(); ++i) {
      INFO("commit " << i);
      const auto& row = d.changes[i];
      CHECK(d.push->commit_shas[i] == c.commits[i].sha);
      CHECK(row.change_id == c.commits[i].sha);
      CHECK(text_time(row.time_created) ==
            (c.commits[i].time.empty() ? env.occurred_at : c.commits[i].time));
      CHECK(row.source == env.source);
      CHECK(row.event_type == env.source_event);
      CHECK(row.event_id == env.id);
      CHECK(row.repository == env.repository);
      CHECK(row.author == c.commits[i].author);
      CHECK(row.title == c.commits[i].title);
    }
  } else if (!c.merge_sha.empty()) {
    CHECK_FALSE(d.push);
    REQUIRE(d.changes.size() == 1);
    const auto& row = d.changes[0];
    CHECK(row.change_id == c.merge_sha);
    CHECK(text_time(row.time_created) == (c.merged_at.empty() ? env.occurred_at : c.merged_at));
    CHECK(row.source == env.source);
    CHECK(row.event_type == env.source_event);
    CHECK(row.event_id == env.id);
    CHECK(row.repository == env.repository);
    CHECK(row.author.empty());
    CHECK(row.title.empty());
  } else {
    CHECK_FALSE(d.push);
    CHECK(d.changes.empty());
  }
}

void check_deployment(const DecodedEvent& d, const Envelope& env) {
  REQUIRE(env.deployment);
  const auto& dep = *env.deployment;
  CHECK_FALSE(d.push);
  CHECK(d.changes.empty());
  CHECK_FALSE(d.incident);
  REQUIRE(d.deployment);
  const auto& row = *d.deployment;
  CHECK(row.event_id == env.id);
  CHECK(row.source == env.source);
  CHECK(row.event_type == env.source_event);
  CHECK(row.environment == dep.environment);
  CHECK(!row.environment.empty());
  CHECK(d.environment == dep.environment);
  CHECK(row.deploy_id == (dep.id.empty() ? env.id : env.source + ":" + dep.id));
  CHECK(row.deploy_id.rfind(env.source + ":", 0) == 0);
  CHECK(row.sha == dep.sha);
  CHECK(row.status == dep.status);
  CHECK(text_time(row.started_at) == dep.started_at);
  CHECK(text_time(row.finished_at) == dep.finished_at);
  CHECK(text_time(row.commit_time) == dep.commit_time);
  CHECK(text_time(row.time_created) == env.occurred_at);
  CHECK(row.is_rollback == dep.is_rollback);
  CHECK(row.is_hotfix == dep.is_hotfix);
  CHECK(row.additional_shas == dep.additional_shas);
  CHECK(row.repository == env.repository);
}

void check_incident(const DecodedEvent& d, const Envelope& env) {
  REQUIRE(env.incident);
  const auto& inc = *env.incident;
  CHECK_FALSE(d.push);
  CHECK(d.changes.empty());
  CHECK_FALSE(d.deployment);
  REQUIRE(d.incident);
  const auto& row = *d.incident;
  const std::string environment = inc.environment.empty() ? "production" : inc.environment;
  CHECK(row.event_id == env.id);
  CHECK(row.source == env.source);
  CHECK(row.event_type == env.source_event);
  CHECK(row.incident_id == inc.id);
  CHECK(row.status == inc.status);
  CHECK(text_time(row.created_at) == inc.created_at);
  CHECK(text_time(row.resolved_at) == inc.resolved_at);
  CHECK(text_time(row.time_created) == env.occurred_at);
  CHECK(row.root_cause_sha == inc.root_cause_sha);
  CHECK(row.severity == inc.severity);
  CHECK(row.title == inc.title);
  CHECK(row.environment == environment);
  CHECK(d.environment == environment);
}

// ---- envelopes built by hand --------------------------------------------------------

Envelope base_envelope(Kind kind) {
  Envelope e;
  e.id = "github:0f5c8d2a-1111-2222-3333-444455556666";
  e.source = "github";
  e.source_event = "push";
  e.kind = kind;
  e.service = "octo/app";
  e.repository = "octo/app";
  e.received_at = "2024-03-01T10:00:05.123Z";
  e.occurred_at = "2024-03-01T10:00:00.456Z";
  e.signature = "0123456789abcdef0123456789abcdef01234567";
  return e;
}

Envelope push_envelope() {
  Envelope e = base_envelope(Kind::change);
  parser::Change c;
  c.ref = "refs/heads/main";
  c.before = "1111111111111111111111111111111111111111";
  c.after = "3333333333333333333333333333333333333333";
  c.commits = {
      {"2222222222222222222222222222222222222222", "2024-03-01T09:58:00.001Z", "Ada", "First", {}},
      {"3333333333333333333333333333333333333333", "", "Grace", "Second", {}},
  };
  e.change = c;
  return e;
}

Envelope merge_envelope() {
  Envelope e = base_envelope(Kind::change);
  e.source_event = "pull_request";
  parser::Change c;
  c.number = 17;
  c.merge_sha = "18936fb4b760b985e35fae9aa953a349703a4c53";
  c.created_at = "2024-02-28T08:00:00.000Z";
  c.merged_at = "2024-03-01T09:59:59.999Z";
  c.base_ref = "main";
  e.change = c;
  return e;
}

Envelope deployment_envelope() {
  Envelope e = base_envelope(Kind::deployment);
  e.source_event = "deployment_status";
  parser::Deployment d;
  d.id = "145988746";
  d.environment = "staging";
  d.sha = "3333333333333333333333333333333333333333";
  d.status = "success";
  d.finished_at = e.occurred_at;
  e.deployment = d;
  return e;
}

Envelope incident_envelope() {
  Envelope e = base_envelope(Kind::incident);
  e.id = "pagerduty:01BZN6ZZ3XZ1TS3F8Y3H6KJUWV";
  e.source = "pagerduty";
  e.source_event = "incident.triggered";
  e.repository.clear();
  e.team = "payments";
  parser::Incident i;
  i.id = "PGR0VU2";
  i.status = "open";
  i.created_at = "2024-03-01T09:59:00.000Z";
  i.title = "Checkout is down";
  e.incident = i;
  return e;
}

std::string text_of(const Envelope& e, std::string_view raw = R"({"k":"v"})") {
  return parser::serialize_envelope(e, raw);
}

// The envelope's JSON with `edit` applied, as text.
std::string edited(const Envelope& e, const std::function<void(boost::json::object&)>& edit) {
  json::ParseError error;
  auto v = json::parse(text_of(e), error);
  REQUIRE(v);
  edit(v->as_object());
  return boost::json::serialize(*v);
}

}  // namespace

// Every field of a decoded event, as text: two decodings compare whole.
std::string describe(const DecodedEvent& e) {
  std::ostringstream o;
  const auto t = [](const std::optional<Millis>& m) { return m ? std::to_string(*m) : std::string("-"); };
  const auto list = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += s + ",";
    return out;
  };
  o << e.id << '|' << e.source << '|' << e.source_event << '|' << e.kind << '|' << e.service << '|' << e.team << '|'
    << e.repository << '|' << e.signature << '|' << e.occurred_at << '|' << e.received_at << '|' << e.environment;
  if (e.push) {
    const PushRow& p = *e.push;
    o << "\npush " << p.event_id << '|' << p.repository << '|' << p.ref << '|' << p.before << '|' << p.after << '|'
      << list(p.commit_shas) << '|' << p.time_created;
  }
  for (const ChangeRow& c : e.changes) {
    o << "\nchange " << c.change_id << '|' << c.time_created << '|' << c.source << '|' << c.event_type << '|'
      << c.event_id << '|' << c.repository << '|' << c.author << '|' << c.title;
  }
  if (e.deployment) {
    const DeploymentEventRow& d = *e.deployment;
    o << "\ndeployment " << d.event_id << '|' << d.source << '|' << d.event_type << '|' << d.environment << '|'
      << d.deploy_id << '|' << d.sha << '|' << d.status << '|' << t(d.started_at) << '|' << t(d.finished_at) << '|'
      << d.time_created << '|' << d.is_rollback << d.is_hotfix << '|' << list(d.additional_shas) << '|'
      << t(d.commit_time) << '|' << d.repository;
  }
  if (e.incident) {
    const IncidentEventRow& i = *e.incident;
    o << "\nincident " << i.event_id << '|' << i.source << '|' << i.event_type << '|' << i.incident_id << '|'
      << i.status << '|' << t(i.created_at) << '|' << t(i.resolved_at) << '|' << i.time_created << '|'
      << i.root_cause_sha << '|' << i.severity << '|' << i.title << '|' << i.environment;
  }
  return o.str();
}

// ---------------------------------------------------------------- every fixture

TEST_CASE("decode: every envelope published for the shared fixtures", "[decode][fixtures]") {
  const auto& all = published_fixtures();
  std::map<std::string, int> seen;  // what the fixtures exercised
  for (const auto& p : all) {
    INFO(p.fixture);
    CHECK(envelope_schema_errors(p.text).empty());
    {  // and the written-out rules agree, so real envelopes take the fast path
      json::ParseError error;
      const auto tree = json::parse(p.text, error, json::Nesting::envelope);
      REQUIRE(tree);
      CHECK(has_envelope_shape(*tree));
    }
    const DecodeResult result = decode_envelope(p.text);
    const DecodedEvent& d = decoded(result);
    CHECK(describe(d) == describe(decoded(decode_envelope_whole(p.text))));
    check_common(d, p.envelope);
    switch (p.envelope.kind) {
      case Kind::change:
        check_change(d, p.envelope);
        ++seen[d.push ? (d.push->commit_shas.empty() ? "branch move" : "push") : "merge"];
        break;
      case Kind::deployment:
        check_deployment(d, p.envelope);
        ++seen[p.envelope.deployment->id.empty() ? "deployment without id" : "deployment"];
        break;
      case Kind::incident:
        check_incident(d, p.envelope);
        ++seen[p.envelope.incident->environment.empty() ? "incident, default environment"
                                                         : "incident"];
        break;
      case Kind::other:
        CHECK_FALSE(d.push);
        CHECK(d.changes.empty());
        CHECK_FALSE(d.deployment);
        CHECK_FALSE(d.incident);
        CHECK(d.environment.empty());
        ++seen["other"];
        break;
    }
    ++seen["source " + p.envelope.source];
  }
  std::string summary;
  for (const auto& [what, n] : seen) summary += what + ": " + std::to_string(n) + "; ";
  INFO(all.size() << " envelopes — " << summary);
  CHECK(all.size() >= 25);
  CHECK(seen["push"] >= 3);
  CHECK(seen["merge"] >= 2);
  CHECK(seen["deployment"] >= 3);
  CHECK(seen["incident, default environment"] >= 1);
  for (const char* source : {"github", "gitlab", "pagerduty", "cdevents"}) {
    CHECK(seen[std::string("source ") + source] >= 1);
  }
}

TEST_CASE("decode: fixture values, read off the files by hand", "[decode][fixtures]") {
  SECTION("GitHub push to the default branch (commit time with a -07:00 offset)") {
    const auto& p = published_fixture("github/push/to-default-branch.drone-go-scm.json");
    const DecodeResult result = decode_envelope(p.text);
    const DecodedEvent& d = decoded(result);
    CHECK(d.id == std::string("github:") + kDeliveryId);
    CHECK(d.kind == "change");
    CHECK(d.service == "Codertocat/Hello-World");
    CHECK(d.received_at == kReceivedAt);
    CHECK(text_time(d.received_at) == kReceivedAtText);
    REQUIRE(d.push);
    CHECK(d.push->ref == "refs/heads/master");
    CHECK(d.push->before == "a10867b14bb761a232cd80139fbd4c0d33264240");
    CHECK(d.push->after == "199eddf46df50de8d02e99bf1c5fdb4101338224");
    CHECK(d.push->commit_shas == std::vector<std::string>{"199eddf46df50de8d02e99bf1c5fdb4101338224"});
    REQUIRE(d.changes.size() == 1);
    CHECK(d.changes[0].change_id == "199eddf46df50de8d02e99bf1c5fdb4101338224");
    CHECK(d.changes[0].time_created == 1529092911000);  // 2018-06-15T13:01:51-07:00
    CHECK(d.changes[0].author == "Codertocat");
    CHECK(d.changes[0].title == "Update README");
    CHECK(d.changes[0].event_type == "push");
  }
  SECTION("GitHub merged pull request: one change at merged_at") {
    const auto& p = published_fixture("github/pull_request/closed-merged.dora-bot.json");
    const DecodeResult result = decode_envelope(p.text);
    const DecodedEvent& d = decoded(result);
    CHECK_FALSE(d.push);
    REQUIRE(d.changes.size() == 1);
    CHECK(d.changes[0].change_id == "18936fb4b760b985e35fae9aa953a349703a4c53");
    CHECK(text_time(d.changes[0].time_created) == "2022-10-12T08:33:55.000Z");
    CHECK(d.changes[0].event_type == "pull_request");
    CHECK(d.changes[0].repository == "sish8075/statistics-source");
  }
}

// ---------------------------------------------------------------- refusals

TEST_CASE("decode: not JSON names the byte offset", "[decode]") {
  SECTION("a bad literal") {
    const std::string reason = error_of(decode_envelope(R"({"id": nope})"));
    CHECK(reason.rfind("not JSON at byte 7: ", 0) == 0);
  }
  SECTION("cut short") {
    const std::string text = text_of(push_envelope());
    const std::string reason = error_of(decode_envelope(std::string_view(text).substr(0, 100)));
    CHECK(reason.rfind("not JSON at byte 100: ", 0) == 0);
  }
  SECTION("trailing data") {
    const std::string reason = error_of(decode_envelope("{} x"));
    CHECK(reason.rfind("not JSON at byte 3: ", 0) == 0);
  }
  SECTION("empty") {
    CHECK(error_of(decode_envelope("")).rfind("not JSON at byte 0", 0) == 0);
  }
  SECTION("envelope_schema_errors says the same") {
    CHECK(envelope_schema_errors(R"({"id": nope})").rfind("not JSON at byte 7: ", 0) == 0);
  }
}

TEST_CASE("decode: invalid UTF-8 is not JSON", "[decode]") {
  SECTION("in raw") {
    const std::string text = text_of(push_envelope(), "{\"msg\":\"caf\xC3\"}");
    const std::string reason = error_of(decode_envelope(text));
    CHECK(reason.rfind("not JSON at byte ", 0) == 0);
    CHECK(!contains(reason, "caf"));
  }
  SECTION("an overlong encoding of '/'") {
    std::string text = text_of(push_envelope(), "{\"msg\":\"a\xC0\xAF\"}");
    CHECK(error_of(decode_envelope(text)).rfind("not JSON at byte ", 0) == 0);
  }
  SECTION("a UTF-16 surrogate written as UTF-8") {
    std::string text = text_of(push_envelope(), "{\"msg\":\"\xED\xA0\x80\"}");
    CHECK(error_of(decode_envelope(text)).rfind("not JSON at byte ", 0) == 0);
  }
  SECTION("a lone UTF-16 surrogate escape (Postgres refuses it too)") {
    std::string text = text_of(push_envelope(), R"({"msg":"\ud800"})");
    CHECK(error_of(decode_envelope(text)).rfind("not JSON at byte ", 0) == 0);
  }
  SECTION("valid multi-byte UTF-8 is fine") {
    Envelope e = push_envelope();
    e.change->commits[0].title = "caf\xC3\xA9 \xF0\x9F\x9A\x80";
    const DecodeResult result = decode_envelope(text_of(e, "{\"msg\":\"\xE2\x82\xAC\"}"));
    CHECK(decoded(result).changes[0].title == "caf\xC3\xA9 \xF0\x9F\x9A\x80");
  }
}

TEST_CASE("decode: schema violations name the field path", "[decode][schema]") {
  SECTION("missing id") {
    const std::string text = edited(push_envelope(), [](auto& o) { o.erase("id"); });
    const std::string reason = error_of(decode_envelope(text));
    CHECK(contains(reason, "$.id: missing"));
    CHECK(envelope_schema_errors(text) == "$.id: missing");
  }
  SECTION("a kind the schema does not list; the value is not echoed") {
    const std::string text = edited(push_envelope(), [](auto& o) { o["kind"] = "secret-value-xyz"; });
    const std::string reason = error_of(decode_envelope(text));
    CHECK(contains(reason, "$.kind: not one of the allowed values"));
    CHECK(!contains(reason, "secret-value-xyz"));
  }
  SECTION("kind deployment without a deployment object") {
    Envelope e = base_envelope(Kind::deployment);
    const std::string reason = error_of(decode_envelope(text_of(e)));
    CHECK(contains(reason, "$.deployment: missing"));
  }
  SECTION("kind change without a change object") {
    const std::string text = edited(push_envelope(), [](auto& o) { o.erase("change"); });
    CHECK(contains(error_of(decode_envelope(text)), "$.change: missing"));
  }
  SECTION("occurred_at not in the envelope's time format") {
    Envelope e = push_envelope();
    e.occurred_at = "2024-03-01 10:00:00";
    const std::string reason = error_of(decode_envelope(text_of(e)));
    CHECK(contains(reason, "$.occurred_at: wrong format"));
    CHECK(!contains(reason, "2024-03-01 10:00:00"));
  }
  SECTION("a commit time not in the envelope's time format (nullable)") {
    Envelope e = push_envelope();
    e.change->commits[1].time = "2024-03-01T10:00:00Z";
    const std::string reason = error_of(decode_envelope(text_of(e)));
    CHECK(contains(reason, "$.change.commits[1].time: "));
    CHECK(contains(reason, "wrong format"));
  }
  SECTION("a time of the right shape that is no date") {
    Envelope e = push_envelope();
    e.occurred_at = "2024-13-01T10:00:00.000Z";
    CHECK(error_of(decode_envelope(text_of(e))) == "not an envelope: $.occurred_at: not a valid time");
    Envelope d = deployment_envelope();
    d.deployment->started_at = "2024-02-30T10:00:00.000Z";
    CHECK(contains(error_of(decode_envelope(text_of(d))), "$.deployment.started_at: not a valid time"));
  }
  SECTION("wrong types, an unknown property, an empty sha") {
    const std::string text = edited(deployment_envelope(), [](auto& o) {
      o["deployment"].as_object()["is_rollback"] = "yes";
      o["deployment"].as_object()["additional_shas"] = boost::json::array{""};
      o["extra"] = 1;
    });
    const std::string errors = envelope_schema_errors(text);
    CHECK(contains(errors, "$.deployment.is_rollback: wrong type"));
    CHECK(contains(errors, "$.deployment.additional_shas[0]: too short"));
    CHECK(contains(errors, "$.extra: not allowed"));
    CHECK(std::holds_alternative<DecodeError>(decode_envelope(text)));
  }
  SECTION("many violations: the reason names the first three") {
    const std::string text = edited(push_envelope(), [](auto& o) {
      o.erase("id");
      o.erase("source");
      o.erase("service");
      o.erase("signature");
      o.erase("team");
    });
    const std::string reason = error_of(decode_envelope(text));
    CHECK(reason.rfind("not an envelope (schema event.v1): ", 0) == 0);
    CHECK(contains(reason, "; and 2 more"));
    CHECK(std::count(reason.begin(), reason.end(), ';') == 3);
  }
  SECTION("not an object") {
    CHECK(contains(error_of(decode_envelope("[1,2]")), "$: wrong type"));
    CHECK(contains(error_of(decode_envelope("\"text\"")), "$: wrong type"));
  }
  SECTION("a valid envelope has no schema errors") {
    CHECK(envelope_schema_errors(text_of(push_envelope())).empty());
    CHECK(envelope_schema_errors(text_of(incident_envelope())).empty());
  }
}

TEST_CASE("decode: U+0000 is refused, an escaped backslash before u0000 is not", "[decode][nul]") {
  SECTION("in raw") {
    const std::string text = text_of(push_envelope(), R"({"a":{"msg":"x\u0000y"}})");
    const std::string reason = error_of(decode_envelope(text));
    CHECK(contains(reason, "U+0000"));
    CHECK(contains(reason, "Postgres"));
    CHECK(contains(reason, "$.raw.a.msg"));
  }
  SECTION("in an array in raw") {
    const std::string reason = error_of(decode_envelope(text_of(push_envelope(), R"({"l":["ok","\u0000"]})")));
    CHECK(contains(reason, "$.raw.l[1] contains U+0000"));
  }
  SECTION("in a property name in raw") {
    const std::string reason = error_of(decode_envelope(text_of(push_envelope(), R"({"a\u0000":1})")));
    CHECK(contains(reason, "a property name at $.raw.*"));
  }
  SECTION("in an envelope field (the serializer escapes the NUL byte)") {
    Envelope e = push_envelope();
    e.change->commits[0].title = std::string("a\0b", 3);
    const std::string text = text_of(e);
    REQUIRE(contains(text, "\\u0000"));
    const std::string reason = error_of(decode_envelope(text));
    CHECK(contains(reason, "$.change.commits[0].title contains U+0000"));
  }
  SECTION("an escaped backslash, then a real \\u0000") {
    CHECK(contains(error_of(decode_envelope(text_of(push_envelope(), R"({"m":"\\\u0000"})"))), "U+0000"));
  }
  SECTION("an escaped backslash followed by the letters u0000 is text") {
    const DecodeResult in_raw = decode_envelope(text_of(push_envelope(), R"({"path":"C:\\u0000"})"));
    CHECK(std::holds_alternative<DecodedEvent>(in_raw));
    const DecodeResult two = decode_envelope(text_of(push_envelope(), R"({"path":"\\\\u0000"})"));
    CHECK(std::holds_alternative<DecodedEvent>(two));

    Envelope e = push_envelope();
    e.change->commits[0].title = "C:\\u0000";  // a backslash, then u0000
    const DecodeResult result = decode_envelope(text_of(e));
    CHECK(decoded(result).changes[0].title == "C:\\u0000");
  }
  SECTION("other escapes pass") {
    const DecodeResult result =
        decode_envelope(text_of(push_envelope(), R"({"m":"\u0001\n\"\\\/\u00e9\ud83d\ude80"})"));
    CHECK(std::holds_alternative<DecodedEvent>(result));
  }
}

TEST_CASE("decode: the body under raw is checked as JSON but does not shape the rows", "[decode][raw]") {
  // The decode stage builds the envelope's tree without raw's contents;
  // these envelopes tell whether it still sees every other member, and
  // still refuses a body that is not JSON.
  const auto same_rows = [](const DecodeResult& result) {
    const DecodedEvent& e = decoded(result);
    REQUIRE(e.push);
    CHECK(e.push->commit_shas ==
          std::vector<std::string>{"2222222222222222222222222222222222222222", "3333333333333333333333333333333333333333"});
    REQUIRE(e.changes.size() == 2);
    CHECK(e.changes[0].author == "Ada");
    CHECK(e.changes[1].title == "Second");
  };
  SECTION("a body whose members have the envelope's names") {
    same_rows(decode_envelope(text_of(
        push_envelope(), R"({"raw":{"kind":"incident"},"change":5,"id":[],"schema":null,"x":{"raw":1}})")));
  }
  SECTION("bodies of every JSON type") {
    for (const char* raw : {R"([1,[2,{"a":[]}],"s"])", R"("text")", "12.5", "-3", "true", "null", "{}", "[]"}) {
      INFO(raw);
      same_rows(decode_envelope(text_of(push_envelope(), raw)));
    }
  }
  SECTION("a deeply nested body within the limit") {
    std::string raw;
    for (int i = 0; i < 31; ++i) raw += "{\"a\":[";
    raw += "1";
    for (int i = 0; i < 31; ++i) raw += "]}";
    same_rows(decode_envelope(text_of(push_envelope(), raw)));
  }
  SECTION("the member's name written with an escape") {
    std::string text = text_of(push_envelope());
    const auto at = text.find("\"raw\":");
    REQUIRE(at != std::string::npos);
    text.replace(at, 6, "\"r\\u0061w\":");
    same_rows(decode_envelope(text));
  }
  SECTION("a member after the body is still read") {
    json::ParseError error;
    auto v = json::parse(text_of(push_envelope(), R"({"deep":{"k":[1,2]}})"), error);
    REQUIRE(v);
    boost::json::object reordered;
    reordered["raw"] = v->as_object()["raw"];
    for (const auto& kv : v->as_object()) {
      if (kv.key() != "raw") reordered[kv.key()] = kv.value();
    }
    same_rows(decode_envelope(boost::json::serialize(reordered)));
  }
  SECTION("a body with a number beyond a double is refused") {
    CHECK(contains(error_of(decode_envelope(text_of(push_envelope(), R"({"n":[1e400]})"))), "too large"));
  }
  SECTION("a body cut short is refused where it ends") {
    std::string text = text_of(push_envelope(), R"({"a":[1,2)");
    CHECK(error_of(decode_envelope(text)).rfind("not JSON at byte ", 0) == 0);
  }
  SECTION("a member next to raw that the schema does not allow is named") {
    std::string text = text_of(push_envelope());
    text.insert(text.find("\"raw\":"), "\"rawx\":{},");
    CHECK(contains(error_of(decode_envelope(text)), "$.rawx: not allowed"));
  }
}

// ---------------------------------------------------------------- mapping rules

TEST_CASE("decode: push rows in commit order; a commit without time gets occurred_at",
          "[decode][change]") {
  const Envelope e = push_envelope();
  const DecodeResult result = decode_envelope(text_of(e));
  const DecodedEvent& d = decoded(result);
  CHECK(d.id == e.id);
  CHECK(d.team.empty());
  CHECK(d.occurred_at == 1709287200456);
  CHECK(d.received_at == 1709287205123);
  REQUIRE(d.push);
  CHECK(d.push->commit_shas ==
        std::vector<std::string>{"2222222222222222222222222222222222222222",
                                 "3333333333333333333333333333333333333333"});
  CHECK(d.push->time_created == 1709287200456);
  REQUIRE(d.changes.size() == 2);
  CHECK(d.changes[0].time_created == 1709287080001);  // 09:58:00.001
  CHECK(d.changes[1].time_created == 1709287200456);  // null → occurred_at
  CHECK(d.changes[1].author == "Grace");
  CHECK(d.changes[1].title == "Second");
  CHECK(d.environment.empty());
}

TEST_CASE("decode: a push with no commits is a branch move", "[decode][change]") {
  Envelope e = push_envelope();
  e.change->commits.clear();
  e.change->before = "0000000000000000000000000000000000000000";
  const DecodeResult result = decode_envelope(text_of(e));
  const DecodedEvent& d = decoded(result);
  REQUIRE(d.push);
  CHECK(d.push->after == "3333333333333333333333333333333333333333");
  CHECK(d.push->before == "0000000000000000000000000000000000000000");
  CHECK(d.push->commit_shas.empty());
  CHECK(d.changes.empty());
}

TEST_CASE("decode: a merged pull request is one change at merged_at", "[decode][change]") {
  SECTION("merged_at given (not occurred_at)") {
    const Envelope e = merge_envelope();
    const DecodeResult result = decode_envelope(text_of(e));
    const DecodedEvent& d = decoded(result);
    CHECK_FALSE(d.push);
    REQUIRE(d.changes.size() == 1);
    const ChangeRow& row = d.changes[0];
    CHECK(row.change_id == "18936fb4b760b985e35fae9aa953a349703a4c53");
    CHECK(text_time(row.time_created) == "2024-03-01T09:59:59.999Z");
    CHECK(row.source == "github");
    CHECK(row.event_type == "pull_request");
    CHECK(row.event_id == e.id);
    CHECK(row.repository == "octo/app");
    CHECK(row.author.empty());
    CHECK(row.title.empty());
  }
  SECTION("merged_at null: occurred_at") {
    Envelope e = merge_envelope();
    e.change->merged_at.clear();
    const DecodeResult result = decode_envelope(text_of(e));
    REQUIRE(decoded(result).changes.size() == 1);
    CHECK(text_time(decoded(result).changes[0].time_created) == e.occurred_at);
  }
  SECTION("neither a push nor a merge: common fields only") {
    Envelope e = merge_envelope();
    e.change->merge_sha.clear();
    const DecodeResult result = decode_envelope(text_of(e));
    CHECK_FALSE(decoded(result).push);
    CHECK(decoded(result).changes.empty());
    CHECK(decoded(result).kind == "change");
  }
}

TEST_CASE("decode: deployments", "[decode][deployment]") {
  SECTION("the sender's id is prefixed with the source") {
    Envelope e = deployment_envelope();
    e.deployment->started_at = "2024-03-01T09:50:00.000Z";
    e.deployment->commit_time = "2024-03-01T09:40:00.010Z";
    e.deployment->is_rollback = true;
    e.deployment->additional_shas = {"aaaa", "bbbb"};
    const DecodeResult result = decode_envelope(text_of(e));
    const DecodedEvent& d = decoded(result);
    REQUIRE(d.deployment);
    CHECK(d.deployment->deploy_id == "github:145988746");
    CHECK(d.deployment->environment == "staging");
    CHECK(d.environment == "staging");
    CHECK(d.deployment->status == "success");
    CHECK(d.deployment->sha == "3333333333333333333333333333333333333333");
    CHECK(text_time(d.deployment->started_at) == "2024-03-01T09:50:00.000Z");
    CHECK(text_time(d.deployment->finished_at) == e.occurred_at);
    CHECK(text_time(d.deployment->commit_time) == "2024-03-01T09:40:00.010Z");
    CHECK(d.deployment->time_created == 1709287200456);
    CHECK(d.deployment->is_rollback);
    CHECK_FALSE(d.deployment->is_hotfix);
    CHECK(d.deployment->additional_shas == std::vector<std::string>{"aaaa", "bbbb"});
    CHECK(d.deployment->repository == "octo/app");
  }
  SECTION("no sha, no times") {
    Envelope e = deployment_envelope();
    e.deployment->sha.clear();
    e.deployment->finished_at.clear();
    const DecodeResult result = decode_envelope(text_of(e));
    const DecodedEvent& d = decoded(result);
    REQUIRE(d.deployment);
    CHECK(d.deployment->sha.empty());
    CHECK_FALSE(d.deployment->started_at);
    CHECK_FALSE(d.deployment->finished_at);
    CHECK_FALSE(d.deployment->commit_time);
  }
  SECTION("an API deployment without an id gets the envelope id") {
    const std::string body =
        R"({"service":"checkout","environment":"production","commit_sha":"abc123",)"
        R"("deployed_at":"2024-03-01T10:00:00Z","status":"success"})";
    const Headers headers{{"Content-Type", "application/json"}, {"Authorization", "Bearer t"}};
    Outcome o = source_named("api").normalize({"/events/deployment", headers, body}, normalize_options());
    INFO(o.reason);
    REQUIRE(o.disposition == Disposition::publish);
    REQUIRE(o.envelope.deployment);
    REQUIRE(o.envelope.deployment->id.empty());
    const DecodeResult result = decode_envelope(parser::serialize_envelope(o.envelope, body));
    const DecodedEvent& d = decoded(result);
    REQUIRE(d.deployment);
    CHECK(d.deployment->deploy_id == o.envelope.id);
    CHECK(d.deployment->deploy_id.rfind("api:", 0) == 0);
    CHECK(d.deployment->sha == "abc123");
    CHECK(text_time(d.deployment->finished_at) == "2024-03-01T10:00:00.000Z");
    check_deployment(d, o.envelope);
  }
  SECTION("an API deployment with an id") {
    const std::string body =
        R"({"service":"checkout","deployment_id":"run-42","commit_sha":"abc123",)"
        R"("deployed_at":"2024-03-01T10:00:00Z"})";
    const Headers headers{{"Content-Type", "application/json"}, {"Authorization", "Bearer t"}};
    Outcome o = source_named("api").normalize({"/events/deployment", headers, body}, normalize_options());
    REQUIRE(o.disposition == Disposition::publish);
    const DecodeResult result = decode_envelope(parser::serialize_envelope(o.envelope, body));
    REQUIRE(decoded(result).deployment);
    CHECK(decoded(result).deployment->deploy_id == "api:run-42");
    CHECK(decoded(result).environment == "production");
  }
}

TEST_CASE("decode: incidents", "[decode][incident]") {
  SECTION("environment null: production") {
    const Envelope e = incident_envelope();
    const DecodeResult result = decode_envelope(text_of(e));
    const DecodedEvent& d = decoded(result);
    CHECK(d.team == "payments");
    CHECK(d.repository.empty());
    REQUIRE(d.incident);
    CHECK(d.incident->incident_id == "PGR0VU2");
    CHECK(d.incident->status == "open");
    CHECK(d.incident->environment == "production");
    CHECK(d.environment == "production");
    CHECK(text_time(d.incident->created_at) == "2024-03-01T09:59:00.000Z");
    CHECK_FALSE(d.incident->resolved_at);
    CHECK(d.incident->title == "Checkout is down");
    CHECK(d.incident->root_cause_sha.empty());
    CHECK(d.incident->severity.empty());
    CHECK(d.incident->time_created == 1709287200456);
    CHECK(d.incident->event_type == "incident.triggered");
  }
  SECTION("environment given") {
    Envelope e = incident_envelope();
    e.incident->environment = "staging";
    e.incident->status = "resolved";
    e.incident->resolved_at = "2024-03-01T11:00:00.000Z";
    e.incident->root_cause_sha = "3333333333333333333333333333333333333333";
    e.incident->severity = "P1";
    const DecodeResult result = decode_envelope(text_of(e));
    const DecodedEvent& d = decoded(result);
    REQUIRE(d.incident);
    CHECK(d.environment == "staging");
    CHECK(d.incident->environment == "staging");
    CHECK(text_time(d.incident->resolved_at) == "2024-03-01T11:00:00.000Z");
    check_incident(d, e);
  }
}

TEST_CASE("decode: kind other carries only the common fields", "[decode]") {
  Envelope e = base_envelope(Kind::other);
  e.source_event = "release";
  const DecodeResult result = decode_envelope(text_of(e));
  const DecodedEvent& d = decoded(result);
  CHECK(d.kind == "other");
  CHECK(d.source_event == "release");
  CHECK_FALSE(d.push);
  CHECK(d.changes.empty());
  CHECK_FALSE(d.deployment);
  CHECK_FALSE(d.incident);
  CHECK(d.environment.empty());
}

TEST_CASE("decode: safe from many threads at once", "[decode][threads]") {
  const std::string push = published_fixture("github/push/to-default-branch.drone-go-scm.json").text;
  const std::string bad = edited(push_envelope(), [](auto& o) { o.erase("id"); });
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (std::holds_alternative<DecodedEvent>(decode_envelope(push))) ++ok;
        if (std::holds_alternative<DecodeError>(decode_envelope(bad))) ++refused;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 200);
  CHECK(refused == 200);
}

// Hidden by default: ./worker_decode_test "[.bench]"
TEST_CASE("decode: time 10,000 decodes of a GitHub push envelope", "[.bench]") {
  const std::string text = published_fixture("github/push/to-default-branch.drone-go-scm.json").text;
  constexpr int kRounds = 10000;
  std::size_t changes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) {
    const DecodeResult result = decode_envelope(text);
    changes += std::get<DecodedEvent>(result).changes.size();
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const double micros = std::chrono::duration<double, std::micro>(elapsed).count();
  std::cout << kRounds << " decodes of a " << text.size() << "-byte envelope: " << micros / 1000.0
            << " ms, " << micros / kRounds << " us each\n";
  CHECK(changes == static_cast<std::size_t>(kRounds));
}

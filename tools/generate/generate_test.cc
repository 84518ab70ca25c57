// fourkeys-generate's parts: every delivery through the receiver's own
// authentication and normalizers, the history's bookkeeping, the
// expectations' arithmetic, and determinism.

#include "common/time.h"
#include "parser/registry.h"
#include "tools/generate/deliveries.h"
#include "tools/generate/expect.h"
#include "tools/generate/history.h"
#include "tools/generate/sender.h"

#include <catch2/catch.hpp>

#include <map>
#include <set>

using namespace fourkeys;
using namespace fourkeys::generate;

namespace {

const Secrets kSecrets{{"gh-secret"}, {"gl-token"}, {"pd-old", "pd-new"}, {"api-token"}};

Options options(std::uint64_t seed, bool four_keys = false) {
  Options o;
  o.seed = seed;
  o.now = parse_time("2025-03-14T09:30:00Z")->millis;
  o.days = 14;
  o.services = 5;
  o.four_keys = four_keys;
  return o;
}

parser::SourceSettings source_settings() {
  parser::SourceSettings s;
  s.github_secrets.values = {"gh-secret"};
  s.github_allow_sha1 = true;
  s.gitlab_tokens.values = {"gl-token"};
  s.pagerduty_secrets.values = {"pd-new"};
  s.api_tokens.values = {"api-token"};
  return s;
}

struct Normalized {
  parser::Outcome outcome;
  bool authenticated = false;
  std::string source;
};

Normalized normalize(const std::vector<std::unique_ptr<parser::Source>>& sources, const Delivery& d) {
  parser::Headers headers;
  for (const auto& [k, v] : d.headers) headers.add(k, v);
  const parser::Source* source = nullptr;
  for (const auto& s : sources) {
    const auto routes = s->routes();
    if (d.path == "/" ? s->recognizes(headers) : std::count(routes.begin(), routes.end(), d.path) > 0) {
      source = s.get();
      break;
    }
  }
  Normalized n;
  if (!source) return n;
  n.source = std::string(source->name());
  const parser::Delivery delivery{d.path, headers, d.body};
  n.authenticated = source->authenticate(delivery).ok();
  parser::NormalizeOptions o;
  o.received_at_millis = d.time;
  n.outcome = source->normalize(delivery, o);
  return n;
}

}  // namespace

TEST_CASE("the same seed and now give the same deliveries; another seed others", "[generate]") {
  const auto a = render(simulate(options(7)), kSecrets);
  const auto b = render(simulate(options(7)), kSecrets);
  const auto c = render(simulate(options(8)), kSecrets);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].body == b[i].body);
    CHECK(a[i].headers == b[i].headers);
  }
  CHECK(expectations_json(simulate(options(7)), expectations(simulate(options(7)))) ==
        expectations_json(simulate(options(7)), expectations(simulate(options(7)))));
  std::set<std::string> bodies;
  for (const auto& d : a) bodies.insert(d.body);
  std::size_t shared = 0;
  for (const auto& d : c) shared += bodies.count(d.body);
  CHECK(shared < c.size() / 10);
}

TEST_CASE("every delivery authenticates and normalizes as the generator means it", "[generate]") {
  const auto sources = parser::build_sources(source_settings());
  for (std::uint64_t seed : {1, 2, 3}) {
    const History h = simulate(options(seed));
    const auto deliveries = render(h, kSecrets);
    std::map<std::string, int> by_source;
    for (const Delivery& d : deliveries) {
      INFO(d.source << " " << d.event << " " << d.path << "\n" << d.body);
      const Normalized n = normalize(sources, d);
      REQUIRE(n.source == d.source);
      REQUIRE(n.authenticated);
      CHECK((n.outcome.disposition == parser::Disposition::publish) == d.stored);
      if (d.stored) {
        INFO(n.outcome.reason);
        REQUIRE(n.outcome.disposition == parser::Disposition::publish);
        CHECK(n.outcome.envelope.service == d.service);
        CHECK(n.outcome.envelope.defaults.empty());
      } else {
        CHECK(n.outcome.disposition == parser::Disposition::ignored);
      }
      ++by_source[d.source + " " + d.event];
    }
    // Every source and event the history has is there.
    for (const char* expected :
         {"github push", "github pull_request", "github deployment", "github deployment_status", "github issues",
          "github ping", "pagerduty incident.triggered", "pagerduty incident.resolved", "gitlab Push Hook",
          "gitlab Merge Request Hook", "gitlab Deployment Hook", "gitlab Issue Hook", "api deployment", "api incident",
          "cdevents service.deployed", "cdevents incident.detected", "cdevents incident.resolved"}) {
      INFO(expected);
      CHECK(by_source[expected] > 0);
    }
  }
}

TEST_CASE("Four Keys' shapes reach the receiver's sources through POST /", "[generate]") {
  const auto sources = parser::build_sources(source_settings());
  const History h = simulate(options(4, true));
  for (const Delivery& d : render(h, kSecrets)) {
    INFO(d.source << " " << d.event << "\n" << d.body);
    CHECK(d.path == "/");
    const Normalized n = normalize(sources, d);
    CHECK(n.source == d.source);
    CHECK(n.authenticated);
    CHECK(n.outcome.disposition == parser::Disposition::publish);
    CHECK(n.outcome.envelope.service == d.service);
  }
}

TEST_CASE("the history is built the way its expectations assume", "[generate]") {
  const History h = simulate(options(11));
  REQUIRE(h.services.size() == 5);
  int rollbacks = 0, hotfixes = 0, failures = 0, redeploys = 0, by_cause = 0, by_window = 0, unattributed = 0;
  for (const Service& s : h.services) {
    INFO(s.name);
    // The chain's commits are each brought to an environment at most once,
    // before any incident names them, with a positive lead time.
    std::map<std::string, std::set<int>> brought;
    Millis previous = 0;
    for (const Attempt& a : s.attempts) {
      CHECK(a.finished_at >= previous);
      previous = a.finished_at;
      CHECK(a.started_at < a.finished_at);
      CHECK(a.finished_at < h.to);
      CHECK(a.started_at > h.from);
      if (a.status != "success") {
        ++failures;
        CHECK(a.changes.empty());
        continue;
      }
      rollbacks += a.rollback;
      hotfixes += a.hotfix;
      redeploys += a.kind == AttemptKind::redeploy;
      if (a.kind == AttemptKind::rollback) {
        CHECK(a.rollback);
        CHECK(a.changes.empty());
      }
      for (int c : a.changes) {
        CHECK(brought[a.environment].insert(c).second);
        CHECK(s.chain[static_cast<std::size_t>(c)].time < a.finished_at);
      }
    }
    for (const Incident& i : s.incidents) {
      CHECK(i.opened_at >= h.from);
      CHECK(i.opened_at < h.to);
      if (i.resolved_at) CHECK(*i.resolved_at > i.opened_at);
      if (i.resolved_at) CHECK(*i.resolved_at < h.to);
      if (i.attribution == "root_cause") {
        ++by_cause;
        const Attempt& cause = s.attempts[static_cast<std::size_t>(i.attempt)];
        CHECK(std::count(cause.changes.begin(), cause.changes.end(), i.root_cause) == 1);
        CHECK(cause.caused_incident);
      } else if (i.attribution == "window") {
        ++by_window;
        const Attempt& cause = s.attempts[static_cast<std::size_t>(i.attempt)];
        CHECK(i.opened_at - cause.finished_at > kMinute);
        CHECK(i.opened_at - cause.finished_at < kAttributionWindow - 5 * kMinute);
      } else {
        ++unattributed;
      }
    }
  }
  // A seed's history has each case the expectations have to get right.
  CHECK(rollbacks > 0);
  CHECK(hotfixes > 0);
  CHECK(failures > 0);
  CHECK(redeploys > 0);
  CHECK(by_cause > 0);
  CHECK(by_window > 0);
  CHECK(unattributed > 0);
}

TEST_CASE("expectations: Postgres' percentile_cont, Python's round and repr", "[generate]") {
  CHECK(*percentile_cont({4, 1, 3, 2}, 0.5) == 2.5);
  CHECK(*percentile_cont({1, 2, 3, 4}, 0.9) == 3.0 + (0.9 * 3 - 2) * 1.0);
  CHECK(*percentile_cont({7}, 0.95) == 7);
  CHECK(!percentile_cont({}, 0.5));
  CHECK(python_round2(2.0 / 3.0 * 100) == 66.67);
  CHECK(python_round2(2.675) == 2.67);  // 2.675 is just below in binary, as Python rounds it
  CHECK(python_float_text(7200) == "7200.0");
  CHECK(python_float_text(66.67) == "66.67");
  CHECK(python_float_text(0.0001) == "0.0001");
  CHECK(python_float_text(1e16) == "1e+16");
  CHECK(python_float_text(3.0 / 7) == "0.42857142857142855");

  Expectation e;
  e.service = "acme/platform/billing";
  e.environment = "production";
  e.from = parse_time("2025-03-01T00:00:00Z")->millis;
  e.to = parse_time("2025-03-08T00:00:00Z")->millis;
  CHECK(dora_request(e) ==
        "/api/v1/dora?service=acme%2Fplatform%2Fbilling&environment=production"
        "&from=2025-03-01T00:00:00.000Z&to=2025-03-08T00:00:00.000Z");
}

TEST_CASE("expectations count what the history's attempts and incidents say", "[generate]") {
  const History h = simulate(options(5));
  const auto all = expectations(h);
  std::set<std::pair<std::string, std::string>> keys;
  for (const Expectation& e : all) {
    keys.emplace(e.service, e.environment);
    std::int64_t deployments = 0, changes = 0, opened = 0;
    for (const DayExpectation& d : e.daily) {
      deployments += d.deployments;
      changes += d.changes;
      opened += d.opened;
    }
    CHECK(deployments == e.deployments);
    CHECK(changes == e.lead_time.sample_size);
    CHECK(opened == e.incidents);
    CHECK(e.daily.size() == 15);  // a 14-day window not on midnight touches 15 UTC days
    CHECK(e.failed >= e.rework);
    CHECK(e.rework <= e.rollbacks + e.hotfixes);
  }
  for (const Service& s : h.services) {
    CHECK(keys.count({s.name, "production"}) == 1);
    CHECK(keys.count({s.name, "staging"}) == 1);
  }
  const std::string text = expectations_json(h, all);
  CHECK(text.find("\"request\":\"/api/v1/dora?service=acme%2Fcheckout&environment=production") != std::string::npos);
}

TEST_CASE("receiver URLs", "[generate]") {
  const Target t = parse_url("http://127.0.0.1:8080");
  CHECK(t.host == "127.0.0.1");
  CHECK(t.port == "8080");
  CHECK(t.base_path.empty());
  const Target p = parse_url("http://fourkeys.internal/hooks/");
  CHECK(p.port == "80");
  CHECK(p.base_path == "/hooks");
  CHECK_THROWS(parse_url("https://example.com"));
  CHECK_THROWS(parse_url("http://host:port"));
}

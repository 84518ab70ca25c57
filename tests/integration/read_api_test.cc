// /api/v1/* and the DORA series on /metrics, on a history whose numbers are
// worked out by hand below.

#include "common/time.h"
#include "tests/integration/worker_envelopes.h"
#include "tests/support/receiver_harness.h"
#include "tests/support/worker_harness.h"

#include <catch2/catch.hpp>

#include <boost/json.hpp>

#include <csignal>
#include <map>
#include <set>
#include <sstream>
#include <thread>

using namespace fourkeys;
using namespace fourkeys::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

std::string day_time(int days_ago, const std::string& hhmmss) {
  const EpochMillis day = (now_millis() / 86'400'000 - days_ago) * 86'400'000;
  return format_time(day).substr(0, 11) + hhmmss + ".000Z";
}

std::string day_text(int days_ago) { return day_time(days_ago, "00:00:00").substr(0, 10); }

double epoch_seconds(const std::string& rfc3339) { return static_cast<double>(parse_time(rfc3339)->millis) / 1000; }

json::value get_json(const WorkerProcess& worker, const std::string& target, int expected_status = 200) {
  const auto [status, body] = worker.get(target);
  INFO(target << " -> " << body);
  REQUIRE(status == expected_status);
  return json::parse(body);
}

double num(const json::value& v) { return v.is_int64() ? static_cast<double>(v.as_int64()) : v.as_double(); }

// One Prometheus text exposition, parsed: series name with its sorted
// labels → value, and each family's TYPE.
struct Exposition {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;

  explicit Exposition(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("# TYPE ", 0) == 0) {
        std::istringstream t(line.substr(7));
        std::string name, type;
        t >> name >> type;
        REQUIRE(types.count(name) == 0);  // one TYPE per family
        types[name] = type;
        continue;
      }
      if (line.empty() || line[0] == '#') continue;
      const auto space = line.rfind(' ');
      REQUIRE(space != std::string::npos);
      std::string series = line.substr(0, space);
      std::map<std::string, std::string> labels;
      std::string name = series;
      if (const auto brace = series.find('{'); brace != std::string::npos) {
        REQUIRE(series.back() == '}');
        name = series.substr(0, brace);
        std::string body = series.substr(brace + 1, series.size() - brace - 2);
        std::size_t i = 0;
        while (i < body.size()) {
          const auto eq = body.find('=', i);
          REQUIRE(eq != std::string::npos);
          REQUIRE(body[eq + 1] == '"');
          std::string value;
          std::size_t j = eq + 2;
          for (; body[j] != '"'; ++j) {
            if (body[j] == '\\') ++j;
            value += body[j];
          }
          labels[body.substr(i, eq - i)] = value;
          i = j + 1;
          if (i < body.size() && body[i] == ',') ++i;
        }
      }
      std::string key = name + "{";
      for (const auto& [k, v] : labels) key += k + "=" + v + ",";
      samples[key + "}"] = std::stod(line.substr(space + 1));
    }
  }

  std::optional<double> value(const std::string& name, const std::map<std::string, std::string>& labels) const {
    std::string key = name + "{";
    for (const auto& [k, v] : labels) key += k + "=" + v + ",";
    const auto it = samples.find(key + "}");
    if (it == samples.end()) return std::nullopt;
    return it->second;
  }
};

struct KnownHistory {
  std::string svc, other;
  std::string c1 = std::string(40, 'a'), c2 = std::string(40, 'b'), c3 = std::string(40, 'c');
  std::size_t messages = 0;

  // svc, production:
  //   day -3: push c1 10:00, c2 11:00; d1 deploys c2 at 12:00 (lead 7200 and 3600)
  //   day -2: push c3 09:00; d2 fails at 10:00; d3 deploys c3 at 11:00 (lead 7200);
  //           incident I1 11:30-12:30, linked to d3 by the window
  //   day -1: d4 deploys c2 again at 09:00 (a detected rollback, no changes);
  //           incident I2 opened 20:00, open, linked to d4
  //   staging: one deployment on day -1.
  // other, production: d5 on day -2 at 08:00.
  void publish(EnvelopePublisher& p) {
    const std::string zero(40, '0');
    auto send = [&](const std::string& service, const std::string& envelope) {
      p.publish(service, envelope);
      ++messages;
    };
    send(svc, push_envelope("github:p1-" + svc, svc, zero, c2, {{c1, day_time(3, "10:00:00")}, {c2, day_time(3, "11:00:00")}}));
    send(svc, deployment_envelope("github:d1-" + svc, svc, deployed("d1", c2, "success", day_time(3, "12:00:00"))));
    send(svc, push_envelope("github:p2-" + svc, svc, c2, c3, {{c3, day_time(2, "09:00:00")}}));
    send(svc, deployment_envelope("github:d2-" + svc, svc, deployed("d2", c3, "failure", day_time(2, "10:00:00"))));
    send(svc, deployment_envelope("github:d3-" + svc, svc, deployed("d3", c3, "success", day_time(2, "11:00:00"))));
    send(svc, incident_envelope("pagerduty:i1a-" + svc, svc, incident("I1", "open", day_time(2, "11:30:00"))));
    send(svc, incident_envelope("pagerduty:i1b-" + svc, svc,
                                incident("I1", "resolved", day_time(2, "11:30:00"), day_time(2, "12:30:00"))));
    send(svc, deployment_envelope("github:d4-" + svc, svc, deployed("d4", c2, "success", day_time(1, "09:00:00"))));
    send(svc, incident_envelope("pagerduty:i2-" + svc, svc, incident("I2", "open", day_time(1, "20:00:00"))));
    TestDeployment staging = deployed("s1", c3, "success", day_time(1, "08:00:00"));
    staging.environment = "staging";
    send(svc, deployment_envelope("github:s1-" + svc, svc, staging));
    send(other, deployment_envelope("github:d5-" + other, other,
                                    deployed("d5", std::string(40, 'f'), "success", day_time(2, "08:00:00"))));
  }
};

bool all_consumed(const TestDatabase& db, std::size_t messages) {
  return std::stoll(db.scalar("SELECT coalesce(sum(next_offset), 0) FROM ingest_offsets")) >=
         static_cast<long long>(messages);
}

}  // namespace

TEST_CASE("/api/v1 answers a known history with the numbers worked out by hand", "[read][api]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  WorkerProcess worker(kafka.brokers(), db.url(), {"--dora-series-refresh", "200ms"});
  REQUIRE(worker.wait_ready(30s));
  EnvelopePublisher publisher(kafka.brokers());
  KnownHistory h;
  const std::string suffix = unique_suffix();
  h.svc = "acme/api-" + suffix;
  h.other = "acme/other-" + suffix;
  h.publish(publisher);
  REQUIRE(eventually([&] { return all_consumed(db, h.messages); }, 30s));
  const std::string svc_q = "service=acme%2Fapi-" + suffix;

  SECTION("dora: the four keys, rework rate and the daily series") {
    const auto v = get_json(worker, "/api/v1/dora?" + svc_q + "&days=7");
    CHECK(v.at("service").as_string() == h.svc);
    CHECK(v.at("environment").as_string() == "production");
    CHECK(num(v.at("days")) == 7.0);
    const auto& df = v.at("deployment_frequency");
    CHECK(df.at("deployments").as_int64() == 3);
    CHECK(df.at("unsuccessful_attempts").as_int64() == 1);
    CHECK(num(df.at("per_day")) == Approx(3.0 / 7));
    CHECK(df.at("category").as_string() == "daily");
    CHECK(df.at("rating").as_string() == "high");
    const auto& lt = v.at("lead_time");
    CHECK(lt.at("sample_size").as_int64() == 3);
    CHECK(num(lt.at("median_seconds")) == 7200);
    CHECK(num(lt.at("mean_seconds")) == 6000);
    CHECK(num(lt.at("min_seconds")) == 3600);
    CHECK(num(lt.at("max_seconds")) == 7200);
    CHECK(num(lt.at("p90_seconds")) == 7200);
    CHECK(num(lt.at("p95_seconds")) == 7200);
    CHECK(lt.at("negative_excluded").as_int64() == 0);
    CHECK(lt.at("rating").as_string() == "high");
    const auto& cfr = v.at("change_failure_rate");
    CHECK(cfr.at("failed_deployments").as_int64() == 2);
    CHECK(cfr.at("rollbacks").as_int64() == 1);
    CHECK(cfr.at("hotfixes").as_int64() == 0);
    CHECK(cfr.at("incident_linked").as_int64() == 2);
    CHECK(num(cfr.at("percent")) == 66.67);
    CHECK(cfr.at("rating").as_string() == "low");
    const auto& ttr = v.at("time_to_restore");
    CHECK(ttr.at("incidents").as_int64() == 2);
    CHECK(ttr.at("open_incidents").as_int64() == 1);
    CHECK(ttr.at("sample_size").as_int64() == 1);
    CHECK(num(ttr.at("median_seconds")) == 3600);
    CHECK(ttr.at("rating").as_string() == "high");
    const auto& rw = v.at("rework_rate");
    CHECK(rw.at("rework_deployments").as_int64() == 1);
    CHECK(num(rw.at("percent")) == 33.33);

    const auto& daily = v.at("daily").as_array();
    REQUIRE(daily.size() == 8);  // a 7-day window touches 8 UTC days
    std::map<std::string, json::object> by_day;
    for (const auto& d : daily) by_day[std::string(d.at("day").as_string())] = d.as_object();
    const auto& d3 = by_day.at(day_text(3));
    CHECK(d3.at("deployments").as_int64() == 1);
    CHECK(d3.at("changes_deployed").as_int64() == 2);
    CHECK(num(d3.at("lead_time_median_seconds")) == 5400);
    const auto& d2 = by_day.at(day_text(2));
    CHECK(d2.at("unsuccessful_attempts").as_int64() == 1);
    CHECK(d2.at("failed_deployments").as_int64() == 1);
    CHECK(d2.at("incidents_resolved").as_int64() == 1);
    CHECK(num(d2.at("restore_median_seconds")) == 3600);
    const auto& d1 = by_day.at(day_text(1));
    CHECK(d1.at("rework_deployments").as_int64() == 1);
    CHECK(d1.at("incidents_opened").as_int64() == 1);
    CHECK(d1.at("restore_median_seconds").is_null());
    CHECK(by_day.at(day_text(0)).at("deployments").as_int64() == 0);

    // The 2023 profile rates the same numbers against other clusters.
    const auto p = get_json(worker, "/api/v1/dora?" + svc_q + "&days=7&profile=dora-2023");
    CHECK(p.at("lead_time").at("rating").as_string() == "elite");
    CHECK(p.at("change_failure_rate").at("rating").as_string() == "low");
    // Every service together; staging alone.
    const auto all = get_json(worker, "/api/v1/dora?days=7");
    CHECK(all.at("service").is_null());
    CHECK(all.at("deployment_frequency").at("deployments").as_int64() >= 4);
    const auto staging = get_json(worker, "/api/v1/dora?" + svc_q + "&environment=staging&days=7");
    CHECK(staging.at("deployment_frequency").at("deployments").as_int64() == 1);
    CHECK(staging.at("change_failure_rate").at("percent").as_double() == 0.0);
    // A window with nothing in it.
    const auto empty = get_json(worker, "/api/v1/dora?" + svc_q + "&from=2001-01-01&to=2001-01-31");
    CHECK(empty.at("deployment_frequency").at("deployments").as_int64() == 0);
    CHECK(empty.at("lead_time").at("median_seconds").is_null());
    CHECK(empty.at("change_failure_rate").at("percent").is_null());
    CHECK(empty.at("daily").as_array().size() == 31);
  }

  SECTION("deployments with their changes and incidents, incidents with their deployment") {
    const auto v = get_json(worker, "/api/v1/deployments?" + svc_q + "&days=7");
    const auto& list = v.at("deployments").as_array();
    REQUIRE(list.size() == 4);
    CHECK(list[0].at("deploy_id").as_string() == "github:d4");
    CHECK(list[0].at("is_rollback").as_bool());
    CHECK(list[0].at("rollback_detected").as_bool());
    CHECK(list[0].at("changes").as_array().empty());
    CHECK(list[0].at("incidents").as_array() == json::array{"I2"});
    CHECK(list[1].at("deploy_id").as_string() == "github:d3");
    CHECK(list[1].at("incidents").as_array() == json::array{"I1"});
    CHECK(list[2].at("status").as_string() == "failure");
    const auto& d1 = list[3];
    CHECK(d1.at("commit_sha").as_string() == h.c2);
    CHECK(d1.at("deployed_at").as_string() == day_time(3, "12:00:00"));
    CHECK(num(d1.at("lead_time_median_seconds")) == 5400);
    const auto& changes = d1.at("changes").as_array();
    REQUIRE(changes.size() == 2);
    CHECK(changes[0].at("change_id").as_string() == h.c1);
    CHECK(num(changes[0].at("lead_time_seconds")) == 7200);
    CHECK(num(changes[1].at("lead_time_seconds")) == 3600);
    CHECK_FALSE(v.at("truncated").as_bool());
    const auto limited = get_json(worker, "/api/v1/deployments?" + svc_q + "&days=7&limit=2");
    CHECK(limited.at("deployments").as_array().size() == 2);
    CHECK(limited.at("truncated").as_bool());

    const auto inc = get_json(worker, "/api/v1/incidents?" + svc_q + "&days=7");
    const auto& incidents = inc.at("incidents").as_array();
    REQUIRE(incidents.size() == 2);
    CHECK(incidents[0].at("incident_id").as_string() == "I2");
    CHECK(incidents[0].at("time_resolved").is_null());
    CHECK(incidents[0].at("deployment").at("deploy_id").as_string() == "github:d4");
    CHECK(incidents[1].at("incident_id").as_string() == "I1");
    CHECK(num(incidents[1].at("restore_seconds")) == 3600);
    CHECK(incidents[1].at("attribution").as_string() == "window");
    CHECK(incidents[1].at("deployment").at("commit_sha").as_string() == h.c3);
  }

  SECTION("services") {
    const auto v = get_json(worker, "/api/v1/services");
    std::map<std::string, json::array> envs;
    for (const auto& s : v.at("services").as_array()) {
      envs[std::string(s.at("service").as_string())] = s.at("environments").as_array();
    }
    REQUIRE(envs.count(h.svc) == 1);
    REQUIRE(envs.at(h.svc).size() == 2);
    CHECK(envs.at(h.svc)[0].at("environment").as_string() == "production");
    CHECK(envs.at(h.svc)[0].at("deployments").as_int64() == 3);
    CHECK(envs.at(h.svc)[0].at("incidents").as_int64() == 2);
    CHECK(envs.at(h.svc)[1].at("environment").as_string() == "staging");
    CHECK(envs.at(h.other).size() == 1);
  }

  SECTION("bad parameters name the field") {
    for (const auto& [query, field] : std::vector<std::pair<std::string, std::string>>{
             {"from=yesterday", "from"},
             {"to=2026-13-40", "to"},
             {"from=2026-02-01&to=2026-01-01", "from"},
             {"days=0", "days"},
             {"days=7&from=2026-01-01", "days"},
             {"profile=strict", "profile"},
             {"limit=5000", "limit"},
             {"environment=", "environment"},
         }) {
      for (const std::string path : {"/api/v1/dora", "/api/v1/deployments", "/api/v1/incidents"}) {
        const auto v = get_json(worker, path + "?" + query, 400);
        CHECK(v.at("field").as_string() == field);
      }
    }
    CHECK(worker.get("/api/v1/nothing").first == 404);
  }

  SECTION("the OpenAPI document describes every endpoint") {
    const auto v = get_json(worker, "/api/v1/openapi.json");
    const auto& paths = v.at("paths").as_object();
    for (const char* p : {"/api/v1/dora", "/api/v1/services", "/api/v1/deployments", "/api/v1/incidents",
                          "/metrics/dora/{service}", "/metrics/change-failure-rate"}) {
      INFO(p);
      CHECK(paths.contains(p));
    }
  }

  SECTION("the DORA series on /metrics: every series the seed's PromQL and panels use") {
    std::optional<Exposition> m;
    REQUIRE(eventually(
        [&] {
          m.emplace(worker.get("/metrics").second);
          return m->value("deployments_total", {{"service", h.svc}, {"environment", "production"}}).has_value();
        },
        10s));
    const std::map<std::string, std::string> prod = {{"service", h.svc}, {"environment", "production"}};
    CHECK(m->types.at("deployments_total") == "counter");
    CHECK(m->types.at("deployments_failed_total") == "counter");
    CHECK(m->types.at("lead_time_seconds") == "histogram");
    CHECK(m->types.at("incident_resolution_time_seconds") == "gauge");
    CHECK(m->value("deployments_total", prod) == 3);
    CHECK(m->value("deployments_total", {{"service", h.svc}, {"environment", "staging"}}) == 1);
    CHECK(m->value("deployments_failed_total", prod) == 2);
    auto bucket = [&](const std::string& le) {
      auto labels = prod;
      labels["le"] = le;
      return m->value("lead_time_seconds_bucket", labels);
    };
    CHECK(bucket("1800.0") == 0);
    CHECK(bucket("3600.0") == 1);
    CHECK(bucket("7200.0") == 3);
    CHECK(bucket("+Inf") == 3);
    CHECK(m->value("lead_time_seconds_count", prod) == 3);
    CHECK(m->value("lead_time_seconds_sum", prod) == 18000);
    CHECK(m->value("incident_resolution_time_seconds", prod) == 3600);
    CHECK(m->value("deployment_timestamp", prod) == epoch_seconds(day_time(1, "09:00:00")));
    CHECK(m->value("commit_timestamp", prod) == epoch_seconds(day_time(3, "11:00:00")));
    CHECK(m->value("fourkeys_worker_dora_series_exposed", {}) == 1);
    // The worker's per-day histogram equals the migration's SQL for it,
    // which fills the rows a database had before the column existed.
    CHECK(db.scalar("SELECT count(*) FROM metrics_daily WHERE lead_time_buckets <> "
                    "fourkeys_lead_time_buckets(service, environment, day)") == "0");
    CHECK(db.scalar("SELECT count(*) FROM metrics_daily WHERE lead_time_buckets <> array_fill(0, ARRAY[14])") == "3");  // days -3 and -2, and staging
  }
}

TEST_CASE("team= selects the services of a team, as the latest event of each service named it", "[read][api][team]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  WorkerProcess worker(kafka.brokers(), db.url());
  REQUIRE(worker.wait_ready(30s));
  EnvelopePublisher publisher(kafka.brokers());
  const std::string suffix = unique_suffix();
  const std::string a = "shop/checkout-" + suffix, b = "shop/cart-" + suffix, c = "shop/search-" + suffix,
                    d = "shop/legacy-" + suffix;
  std::size_t messages = 0;
  auto deploy = [&](const std::string& service, const std::string& id, const std::string& team, int days_ago,
                    long long received_offset_ms = 0) {
    TestDeployment dep = deployed(id, std::string(40, static_cast<char>('a' + messages % 6)), "success",
                                  day_time(days_ago, "12:00:00"));
    dep.commit_time = day_time(days_ago, "10:00:00");
    std::string envelope = deployment_envelope("github:" + id + "-" + suffix, service, dep);
    if (!team.empty()) envelope = with_team(envelope, team, received_offset_ms);
    publisher.publish(service, envelope);
    ++messages;
  };
  deploy(a, "a1", "payments", 2);
  deploy(a, "a2", "payments", 1);
  deploy(b, "b1", "payments", 1);
  deploy(c, "c1", "discovery", 2);
  // Received an hour before c1 (a late redelivery under an older map): the
  // team it names is not c's.
  deploy(c, "c2", "payments", 1, -3'600'000);
  deploy(d, "d1", "", 1);
  REQUIRE(eventually([&] { return all_consumed(db, messages); }, 30s));

  const auto services = get_json(worker, "/api/v1/services");
  std::map<std::string, json::value> team_of;
  for (const auto& s : services.at("services").as_array()) team_of[std::string(s.at("service").as_string())] = s.at("team");
  CHECK(team_of.at(a) == "payments");
  CHECK(team_of.at(b) == "payments");
  CHECK(team_of.at(c) == "discovery");
  CHECK(team_of.at(d).is_null());

  auto deployments = [&](const std::string& query) {
    const auto v = get_json(worker, "/api/v1/dora?days=7&" + query);
    return v.at("deployment_frequency").at("deployments").as_int64();
  };
  const auto payments = get_json(worker, "/api/v1/dora?days=7&team=payments");
  CHECK(payments.at("team") == "payments");
  CHECK(payments.at("service").is_null());
  CHECK(payments.at("deployment_frequency").at("deployments").as_int64() == 3);
  CHECK(payments.at("lead_time").at("sample_size").as_int64() == 3);
  CHECK(deployments("team=discovery") == 2);
  CHECK(deployments("team=nobody") == 0);
  CHECK(deployments("team=payments&service=shop%2Fcheckout-" + suffix) == 2);
  CHECK(deployments("team=payments&service=shop%2Fsearch-" + suffix) == 0);
  CHECK(deployments("") == 6);

  const auto listed = get_json(worker, "/api/v1/deployments?days=7&team=payments");
  std::set<std::string> listed_services;
  for (const auto& dep : listed.at("deployments").as_array()) listed_services.insert(std::string(dep.at("service").as_string()));
  CHECK(listed.at("deployments").as_array().size() == 3);
  CHECK(listed_services == std::set<std::string>{a, b});
}

TEST_CASE("one worker of several exposes the DORA series, and its counters survive restarts", "[read][series]") {
  EmbeddedKafka kafka(true);
  TestDatabase db;
  const std::vector<std::string> args = {"--dora-series-refresh", "200ms"};
  auto first = std::make_unique<WorkerProcess>(kafka.brokers(), db.url(), args);
  REQUIRE(first->wait_ready(30s));
  EnvelopePublisher publisher(kafka.brokers());
  KnownHistory h;
  const std::string suffix = unique_suffix();
  h.svc = "acme/series-" + suffix;
  h.other = "acme/series-other-" + suffix;
  h.publish(publisher);
  REQUIRE(eventually([&] { return all_consumed(db, h.messages); }, 30s));
  auto second = std::make_unique<WorkerProcess>(kafka.brokers(), db.url(), args);
  REQUIRE(second->wait_ready(30s));
  const std::map<std::string, std::string> prod = {{"service", h.svc}, {"environment", "production"}};

  auto exposed = [](const WorkerProcess& w) {
    return Exposition(w.get("/metrics").second).value("fourkeys_worker_dora_series_exposed", {}).value_or(-1);
  };
  REQUIRE(eventually([&] { return exposed(*first) == 1; }, 10s));
  // Give the second worker several refreshes to (wrongly) take the lock.
  std::this_thread::sleep_for(1s);
  CHECK(exposed(*second) == 0);
  const Exposition second_text(second->get("/metrics").second);
  CHECK_FALSE(second_text.value("deployments_total", prod).has_value());
  CHECK(Exposition(first->get("/metrics").second).value("deployments_total", prod) == 3);

  // The exposing worker dies: the other takes over with the same counts.
  first->process().signal(SIGKILL);
  first.reset();
  REQUIRE(eventually([&] { return exposed(*second) == 1; }, 15s));
  CHECK(Exposition(second->get("/metrics").second).value("deployments_total", prod) == 3);
  CHECK(Exposition(second->get("/metrics").second).value("deployments_failed_total", prod) == 2);

  // A restarted worker starts from the tables, not from zero.
  second->process().signal(SIGKILL);
  second.reset();
  WorkerProcess third(kafka.brokers(), db.url(), args);
  REQUIRE(third.wait_ready(30s));
  REQUIRE(eventually([&] { return exposed(third) == 1; }, 15s));
  CHECK(Exposition(third.get("/metrics").second).value("deployments_total", prod) == 3);
}

// The Grafana dashboards and provisioning files under grafana/.
//
// Every SQL panel of grafana/dashboards/fourkeys.json is interpolated the way
// Grafana would (template variables in the browser, then the Postgres data
// source's macros) and run against tables the real worker filled from a known
// history; the numbers are checked against expectations worked out from that
// history in this file, never by running the same SQL. The seed's weekly
// change-failure-rate SQL runs unchanged against the same kind of database.

#include "common/time.h"
#include "tests/integration/worker_envelopes.h"
#include "tests/support/receiver_harness.h"
#include "tests/support/worker_harness.h"

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>

using namespace fourkeys;
using namespace fourkeys::testing;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

constexpr EpochMillis kMinute = 60'000;
constexpr EpochMillis kHour = 60 * kMinute;
constexpr EpochMillis kDay = 24 * kHour;

const std::string kGrafanaDir = FOURKEYS_GRAFANA_DIR;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json::value read_json(const std::string& path) {
  boost::system::error_code ec;
  auto v = json::parse(read_text(path), ec);
  if (ec) throw std::runtime_error(path + ": " + ec.message());
  return v;
}

std::string str(const json::value& v, std::string_view key) {
  const auto* o = v.if_object();
  if (!o) return "";
  const auto* f = o->if_contains(key);
  return f && f->is_string() ? std::string(f->as_string()) : "";
}

// Every panel, including those inside rows (collapsed rows keep theirs in
// the row's own "panels").
void collect_panels(const json::value& panels, std::vector<const json::object*>& out) {
  if (!panels.is_array()) return;
  for (const auto& p : panels.as_array()) {
    out.push_back(&p.as_object());
    if (const auto* nested = p.as_object().if_contains("panels")) collect_panels(*nested, out);
  }
}

std::vector<const json::object*> all_panels(const json::value& dashboard) {
  std::vector<const json::object*> out;
  collect_panels(dashboard.at("panels"), out);
  return out;
}

// ---------------------------------------------------------------------------
// Grafana's interpolation, for what the dashboard uses.

struct GrafanaRequest {
  EpochMillis from = 0;
  EpochMillis to = 0;
  std::vector<std::string> services;  // the value of $service ("All" is every option)
  std::string environment;
  // The value of $team; "All" is the variable's allValue, __all__.
  std::vector<std::string> teams{"__all__"};
};

struct VariableModel {
  bool multi = false;
  bool include_all = false;
};

std::map<std::string, VariableModel> variable_models(const json::value& dashboard) {
  std::map<std::string, VariableModel> out;
  for (const auto& v : dashboard.at("templating").at("list").as_array()) {
    VariableModel m;
    if (const auto* f = v.as_object().if_contains("multi")) m.multi = f->is_bool() && f->as_bool();
    if (const auto* f = v.as_object().if_contains("includeAll")) m.include_all = f->is_bool() && f->as_bool();
    out[str(v, "name")] = m;
  }
  return out;
}

// Grafana sends times to the data source as Go's RFC3339Nano in UTC: no
// trailing zeros in the fraction, no fraction at all on a whole second.
std::string rfc3339nano(EpochMillis t) {
  std::string s = format_time(t);  // YYYY-MM-DDTHH:MM:SS.mmmZ
  s.pop_back();
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s + "Z";
}

std::string escape_quotes(const std::string& v) {
  std::string out;
  for (char c : v) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out;
}

std::string quoted_list(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "'" : ",'") + escape_quotes(v) + "'";
  return out;
}

std::string format_variable(const std::string& name, const std::string& format, const GrafanaRequest& request,
                            const std::map<std::string, VariableModel>& models) {
  const auto model = models.find(name);
  if (model == models.end()) throw std::runtime_error("unknown template variable $" + name);
  std::vector<std::string> values;
  if (name == "service") {
    values = request.services;
  } else if (name == "team") {
    values = request.teams;
  } else if (name == "environment") {
    values = {request.environment};
  } else {
    throw std::runtime_error("no value for template variable $" + name);
  }
  if (format == "sqlstring") return quoted_list(values);
  if (!format.empty()) throw std::runtime_error("unsupported format ${" + name + ":" + format + "}");
  // The SQL data sources' own formatting: quoted and comma-joined for a
  // multi-value or All variable, the bare value (quotes doubled) otherwise.
  if (model->second.multi || model->second.include_all) return quoted_list(values);
  if (values.size() != 1) throw std::runtime_error("single-value variable $" + name + " with several values");
  return escape_quotes(values.front());
}

bool identifier_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(' ');
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(' ') - b + 1);
}

// '1d', '12h', ... in seconds, as Grafana's gtime.ParseInterval reads them.
long long interval_seconds(std::string text) {
  if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'') text = text.substr(1, text.size() - 2);
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits + 1 != text.size()) throw std::runtime_error("unsupported interval " + text);
  const long long n = std::stoll(text.substr(0, digits));
  switch (text.back()) {
    case 's': return n;
    case 'm': return n * 60;
    case 'h': return n * 3600;
    case 'd': return n * 86400;
    case 'w': return n * 604800;
    default: throw std::runtime_error("unsupported interval " + text);
  }
}

// The Postgres data source's macros (pkg/tsdb/grafana-postgresql-datasource/macros.go),
// those the dashboard uses. Anything else is an error, as an unknown macro is in Grafana.
std::string expand_macro(const std::string& name, const std::vector<std::string>& args, const GrafanaRequest& r) {
  const std::string from = "'" + rfc3339nano(r.from) + "'";
  const std::string to = "'" + rfc3339nano(r.to) + "'";
  if (name == "__timeFilter" && args.size() == 1 && !args[0].empty()) {
    return args[0] + " BETWEEN " + from + " AND " + to;
  }
  if (name == "__timeFrom" && args.size() == 1 && args[0].empty()) return from;
  if (name == "__timeTo" && args.size() == 1 && args[0].empty()) return to;
  if (name == "__timeGroupAlias" && args.size() == 2) {
    const std::string s = std::to_string(interval_seconds(args[1]));
    return "floor(extract(epoch from " + args[0] + ")/" + s + ")*" + s + " AS \"time\"";
  }
  throw std::runtime_error("unknown macro $" + name + " with " + std::to_string(args.size()) + " argument(s)");
}

// Grafana first replaces template variables ($var, ${var}, ${var:format})
// in the browser, then the data source expands $__macro(...) on the server.
std::string interpolate(const std::string& sql, const GrafanaRequest& request,
                        const std::map<std::string, VariableModel>& models) {
  std::string vars;
  for (std::size_t i = 0; i < sql.size();) {
    if (sql.compare(i, 2, "[[") == 0) throw std::runtime_error("deprecated [[variable]] syntax");
    if (sql[i] != '$') {
      vars += sql[i++];
      continue;
    }
    if (i + 1 < sql.size() && sql[i + 1] == '{') {
      const auto close = sql.find('}', i);
      if (close == std::string::npos) throw std::runtime_error("unterminated ${");
      const std::string inner = sql.substr(i + 2, close - i - 2);
      const auto colon = inner.find(':');
      vars += format_variable(inner.substr(0, colon), colon == std::string::npos ? "" : inner.substr(colon + 1),
                              request, models);
      i = close + 1;
      continue;
    }
    std::size_t j = i + 1;
    while (j < sql.size() && identifier_char(sql[j])) ++j;
    const std::string name = sql.substr(i + 1, j - i - 1);
    if (name.empty()) throw std::runtime_error("a $ that is neither a variable nor a macro");
    if (name.rfind("__", 0) == 0) {
      vars += sql.substr(i, j - i);  // a macro or a Grafana global: the next pass decides
    } else {
      vars += format_variable(name, "", request, models);
    }
    i = j;
  }

  std::string out;
  for (std::size_t i = 0; i < vars.size();) {
    if (vars[i] != '$') {
      out += vars[i++];
      continue;
    }
    std::size_t j = i + 1;
    while (j < vars.size() && identifier_char(vars[j])) ++j;
    const std::string name = vars.substr(i + 1, j - i - 1);
    if (j >= vars.size() || vars[j] != '(') throw std::runtime_error("unknown variable or macro $" + name);
    const auto close = vars.find(')', j);
    if (close == std::string::npos) throw std::runtime_error("unterminated macro $" + name);
    std::vector<std::string> args;
    std::stringstream list(vars.substr(j + 1, close - j - 1));
    for (std::string arg; std::getline(list, arg, ',');) args.push_back(trim(arg));
    if (args.empty()) args.emplace_back();
    out += expand_macro(name, args, request);
    i = close + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Query results by column name.

struct Result {
  std::vector<std::string> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;

  std::size_t column(const std::string& name) const {
    const auto it = std::find(columns.begin(), columns.end(), name);
    if (it == columns.end()) throw std::runtime_error("no column " + name);
    return static_cast<std::size_t>(it - columns.begin());
  }
  std::optional<std::string> text(std::size_t row, const std::string& name) const { return rows.at(row).at(column(name)); }
  std::optional<double> number(std::size_t row, const std::string& name) const {
    const auto t = text(row, name);
    if (!t) return std::nullopt;
    return std::stod(*t);
  }
};

// A session time zone far from UTC, so that a panel grouping by the
// session's local day instead of the UTC day would be caught.
Result run_sql(const TestDatabase& db, const std::string& sql, const std::string& time_zone = "Asia/Kolkata") {
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  tx.exec("SET TIME ZONE '" + time_zone + "'");
  const pqxx::result r = tx.exec(sql);
  Result out;
  for (pqxx::row_size_type i = 0; i < r.columns(); ++i) out.columns.emplace_back(r.column_name(i));
  for (const auto& row : r) {
    std::vector<std::optional<std::string>> values;
    for (const auto& field : row) {
      values.push_back(field.is_null() ? std::nullopt : std::optional<std::string>(field.c_str()));
    }
    out.rows.push_back(std::move(values));
  }
  tx.commit();
  return out;
}

// ---------------------------------------------------------------------------
// The known history, and what it means, worked out by hand.

struct Commit {
  std::string sha;
  EpochMillis at = 0;
};

struct Push {
  std::string service, before, after;
  std::vector<Commit> commits;
};

struct Deployment {
  std::string service, environment = "production", sender_id, sha, status = "success";
  EpochMillis finished = 0;
  bool rollback = false, hotfix = false;
  std::optional<EpochMillis> commit_time;  // sent by API deployments without pushes
  // Expected from the linking rules in DESIGN.md:
  std::vector<Commit> brings;  // the commits it brought to its environment first
  bool caused_incident = false;

  std::string source() const { return commit_time ? "api" : "github"; }
  std::string deploy_id() const { return source() + ":" + sender_id; }
  bool failed() const { return rollback || hotfix || caused_incident; }
};

struct Incident {
  std::string service, id;
  EpochMillis opened = 0;
  std::optional<EpochMillis> resolved;
  std::string root_cause;
  // Expected attribution:
  std::string deploy_id, attribution;
};

struct History {
  EpochMillis midnight = 0;  // today, UTC
  std::vector<Push> pushes;
  std::vector<Deployment> deployments;
  std::vector<Incident> incidents;
};

const std::string kWeb = "acme/web";
const std::string kApi = "acme/api";
const std::string kWebTeam = "storefront's team";

std::string sha(const std::string& name) { return name + std::string(40 - name.size(), '0'); }

// Two services. acme/web: pushes and GitHub deployments (one 40 days ago, a
// failed attempt, a hotfix, one whose second commit is clock-skewed, a
// rollback) and incidents attributed by root cause and by window, one still
// open. acme/api: API deployments with commit times, one to staging.
History known_history() {
  History h;
  h.midnight = now_millis() / kDay * kDay;
  const auto at = [&](int days_ago, int hour, int minute = 0) {
    return h.midnight - days_ago * kDay + hour * kHour + minute * kMinute;
  };
  const Commit a0{sha("a0"), at(40, 8)}, a1{sha("a1"), at(5, 8)}, a2{sha("a2"), at(5, 9)}, a3{sha("a3"), at(3, 6)},
      a4{sha("a4"), at(3, 10)}, a5{sha("a5"), at(2, 8)}, a6{sha("a6"), at(2, 13)};
  h.pushes = {{kWeb, std::string(40, '0'), a0.sha, {a0}},
              {kWeb, a0.sha, a2.sha, {a1, a2}},
              {kWeb, a2.sha, a4.sha, {a3, a4}},
              {kWeb, a4.sha, a6.sha, {a5, a6}}};

  auto web = [&](std::string id, const Commit& head, EpochMillis finished, std::vector<Commit> brings) {
    Deployment d;
    d.service = kWeb;
    d.sender_id = std::move(id);
    d.sha = head.sha;
    d.finished = finished;
    d.brings = std::move(brings);
    return d;
  };
  auto api = [&](std::string id, const std::string& name, EpochMillis committed, EpochMillis finished) {
    Deployment d;
    d.service = kApi;
    d.sender_id = std::move(id);
    d.sha = sha(name);
    d.commit_time = committed;
    d.finished = finished;
    d.brings = {{d.sha, committed}};
    return d;
  };

  Deployment d0 = web("1000", a0, at(40, 9), {a0});
  d0.hotfix = true;
  Deployment d1f = web("1001", a2, at(5, 9, 30), {});
  d1f.status = "failure";
  Deployment d1 = web("1002", a2, at(5, 10), {a1, a2});
  Deployment d2 = web("1003", a4, at(3, 12), {a3, a4});
  d2.hotfix = true;
  Deployment d3 = web("1004", a6, at(2, 12), {a5, a6});  // a6 committed an hour after: clock skew
  d3.caused_incident = true;
  Deployment d4 = web("1005", a4, at(1, 9), {});  // a4 is already there: nothing new
  d4.rollback = true;
  d4.caused_incident = true;
  Deployment b0 = api("2000", "b0", at(12, 8), at(12, 9));
  b0.hotfix = true;
  Deployment b1 = api("2001", "b1", at(4, 10), at(4, 10, 30));
  b1.caused_incident = true;
  Deployment b2 = api("2002", "b2", at(1, 6), at(1, 8));
  Deployment b3 = api("2003", "b3", at(1, 7), at(1, 7, 30));
  b3.environment = "staging";
  h.deployments = {d0, d1f, d1, d2, d3, d4, b0, b1, b2, b3};

  h.incidents = {
      {kWeb, "PI1", at(2, 14), at(2, 15, 30), a5.sha, d3.deploy_id(), "root_cause"},
      {kWeb, "PI2", at(1, 10), at(1, 10, 20), "", d4.deploy_id(), "window"},
      {kWeb, "PI3", at(1, 11), std::nullopt, "", d4.deploy_id(), "window"},
      {kApi, "PI4", at(4, 12), at(4, 20), "", b1.deploy_id(), "window"},
  };
  return h;
}

std::vector<std::pair<std::string, std::string>> envelopes(const History& h) {
  std::vector<std::pair<std::string, std::string>> out;
  int n = 0;
  for (const auto& p : h.pushes) {
    std::vector<TestCommit> commits;
    for (const auto& c : p.commits) commits.push_back({c.sha, format_time(c.at)});
    out.emplace_back(p.service, push_envelope("github:push-" + std::to_string(n++), p.service, p.before, p.after, commits));
  }
  for (const auto& d : h.deployments) {
    TestDeployment t = deployed(d.sender_id, d.sha, d.status, format_time(d.finished));
    t.environment = d.environment;
    t.is_rollback = d.rollback;
    t.is_hotfix = d.hotfix;
    if (d.commit_time) t.commit_time = format_time(*d.commit_time);
    std::string envelope = deployment_envelope(d.source() + ":deploy-" + d.sender_id, d.service, t);
    // acme/web belongs to a team (a service map named it); acme/api to none.
    if (d.service == kWeb) envelope = with_team(envelope, kWebTeam);
    out.emplace_back(d.service, envelope);
  }
  for (const auto& i : h.incidents) {
    TestIncident open = incident(i.id, "open", format_time(i.opened));
    open.root_cause_sha = i.root_cause;
    out.emplace_back(i.service, incident_envelope("pagerduty:" + i.id + "-open", i.service, open));
    if (i.resolved) {
      TestIncident resolved = incident(i.id, "resolved", format_time(i.opened), format_time(*i.resolved));
      resolved.root_cause_sha = i.root_cause;
      out.emplace_back(i.service, incident_envelope("pagerduty:" + i.id + "-resolved", i.service, resolved));
    }
  }
  return out;
}

long long count(const TestDatabase& db, const std::string& sql) { return std::stoll(db.scalar(sql)); }

// A worker on a Kafka and a database of their own, fed the known history;
// returns once every message is committed.
struct Pipeline {
  EmbeddedKafka kafka{true};
  TestDatabase db;
  std::unique_ptr<WorkerProcess> worker;
  History history = known_history();

  Pipeline() {
    worker = std::make_unique<WorkerProcess>(kafka.brokers(), db.url());
    REQUIRE(worker->wait_ready(30s));
    const auto messages = envelopes(history);
    EnvelopePublisher publisher(kafka.brokers());
    publisher.publish_all(messages);
    REQUIRE(eventually(
        [&] {
          try {
            return count(db, "SELECT coalesce(sum(next_offset), 0) FROM ingest_offsets") >=
                   static_cast<long long>(messages.size());
          } catch (...) {
            return false;  // not migrated yet
          }
        },
        60s));
    REQUIRE(count(db, "SELECT count(*) FROM events_raw") == static_cast<long long>(messages.size()));
  }
};

// percentile_cont: linear interpolation between the closest ranks.
std::optional<double> percentile(std::vector<double> v, double p) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  const double pos = p * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = static_cast<std::size_t>(std::ceil(pos));
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

std::optional<double> scaled(std::optional<double> v, double divisor) {
  if (!v) return v;
  return *v / divisor;
}

// The seed's classify_df / classify_lt / classify_cfr / classify_mttr.
std::optional<std::string> classify_df(double per_day) {
  if (per_day >= 1) return "elite";
  if (per_day >= 1.0 / 7) return "high";
  if (per_day >= 1.0 / 30) return "medium";
  return "low";
}
std::optional<std::string> classify_lt(std::optional<double> hours) {
  if (!hours) return std::nullopt;
  if (*hours < 1) return "elite";
  if (*hours < 24 * 7) return "high";
  if (*hours < 24 * 30 * 6) return "medium";
  return "low";
}
std::optional<std::string> classify_cfr(std::optional<double> rate) {
  if (!rate) return std::nullopt;
  if (*rate <= 15) return "elite";
  if (*rate <= 30) return "high";
  if (*rate <= 45) return "medium";
  return "low";
}
std::optional<std::string> classify_mttr(std::optional<double> minutes) {
  if (!minutes) return std::nullopt;
  if (*minutes < 60) return "elite";
  if (*minutes < 60 * 24) return "high";
  if (*minutes < 60 * 24 * 7) return "medium";
  return "low";
}

bool selected(const GrafanaRequest& r, const std::string& service, const std::string& environment) {
  return std::find(r.services.begin(), r.services.end(), service) != r.services.end() &&
         environment == r.environment;
}
bool in_range(const GrafanaRequest& r, EpochMillis t) { return t >= r.from && t <= r.to; }

std::vector<const Deployment*> successful(const History& h, const GrafanaRequest& r) {
  std::vector<const Deployment*> out;
  for (const auto& d : h.deployments) {
    if (d.status == "success" && selected(r, d.service, d.environment) && in_range(r, d.finished)) out.push_back(&d);
  }
  return out;
}

std::vector<double> lead_seconds(const Deployment& d) {
  std::vector<double> out;
  for (const auto& c : d.brings) {
    if (d.finished >= c.at) out.push_back(static_cast<double>(d.finished - c.at) / 1000);
  }
  return out;
}

std::vector<const Incident*> resolved_incidents(const History& h, const GrafanaRequest& r) {
  std::vector<const Incident*> out;
  for (const auto& i : h.incidents) {
    if (i.resolved && selected(r, i.service, "production") && in_range(r, i.opened)) out.push_back(&i);
  }
  return out;
}

struct Headline {
  long long deployments = 0, failed = 0, rework = 0;
  std::vector<double> leads, restores;
};

Headline headline(const History& h, const GrafanaRequest& r) {
  Headline out;
  for (const auto* d : successful(h, r)) {
    ++out.deployments;
    if (d->failed()) ++out.failed;
    if (d->rollback || d->hotfix) ++out.rework;
    for (double s : lead_seconds(*d)) out.leads.push_back(s);
  }
  for (const auto* i : resolved_incidents(h, r)) out.restores.push_back(static_cast<double>(*i->resolved - i->opened) / 1000);
  return out;
}

std::optional<double> rate(long long part, long long whole) {
  if (whole == 0) return std::nullopt;
  return 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

void check_number(const std::optional<double>& actual, const std::optional<double>& expected) {
  REQUIRE(actual.has_value() == expected.has_value());
  if (expected) CHECK(*actual == Approx(*expected).epsilon(1e-9).margin(1e-9));
}

// ---------------------------------------------------------------------------
// What each panel of fourkeys.json must show for a request.

using PanelCheck = std::function<void(const Result&, const History&, const GrafanaRequest&)>;

// One row: the value and, for the four keys, the rating the SQL function
// fourkeys_rate_* gives it (the stat colours the text by rating).
void check_value(const Result& res, const std::string& value_column, const std::optional<double>& value) {
  REQUIRE(res.rows.size() == 1);
  check_number(res.number(0, value_column), value);
}
void check_value_and_rating(const Result& res, const std::string& value_column, const std::optional<double>& value,
                            const std::optional<std::string>& rating) {
  check_value(res, value_column, value);
  CHECK(res.text(0, "rating") == rating);
}

std::map<EpochMillis, std::vector<const Deployment*>> attempts_by_day(const History& h, const GrafanaRequest& r) {
  std::map<EpochMillis, std::vector<const Deployment*>> out;
  for (const auto& d : h.deployments) {
    if (selected(r, d.service, d.environment) && in_range(r, d.finished)) out[d.finished / kDay * kDay].push_back(&d);
  }
  return out;
}

// Each row's "time" (epoch seconds of the UTC day) and the named columns.
void check_series(const Result& res, const std::map<EpochMillis, std::vector<std::optional<double>>>& expected,
                  const std::vector<std::string>& columns) {
  REQUIRE(res.rows.size() == expected.size());
  std::size_t row = 0;
  for (const auto& [day, values] : expected) {
    INFO("day " << format_time(day));
    CHECK(static_cast<EpochMillis>(*res.number(row, "time")) * 1000 == day);
    for (std::size_t c = 0; c < columns.size(); ++c) {
      INFO("column " << columns[c]);
      check_number(res.number(row, columns[c]), values[c]);
    }
    ++row;
  }
}

std::map<std::string, PanelCheck> panel_checks() {
  std::map<std::string, PanelCheck> c;
  c["Deployment frequency"] = [](const Result& res, const History& h, const GrafanaRequest& r) {
    const double days = static_cast<double>(r.to - r.from) / static_cast<double>(kDay);
    const double per_day = static_cast<double>(headline(h, r).deployments) / days;
    check_value_and_rating(res, "deployments per day", per_day, classify_df(per_day));
  };
  c["Lead time for changes (median)"] = [](const Result& res, const History& h, const GrafanaRequest& r) {
    const auto hours = scaled(percentile(headline(h, r).leads, 0.5), 3600);
    check_value_and_rating(res, "median lead time", hours, classify_lt(hours));
  };
  c["Change failure rate"] = [](const Result& res, const History& h, const GrafanaRequest& r) {
    const auto e = headline(h, r);
    check_value_and_rating(res, "change failure rate", rate(e.failed, e.deployments),
                           classify_cfr(rate(e.failed, e.deployments)));
  };
  c["Time to restore (median)"] = [](const Result& res, const History& h, const GrafanaRequest& r) {
    const auto minutes = scaled(percentile(headline(h, r).restores, 0.5), 60);
    check_value_and_rating(res, "median time to restore", minutes, classify_mttr(minutes));
  };
  c["Rework rate"] = [](const Result& res, const History& h, const GrafanaRequest& r) {
    const auto e = headline(h, r);
    check_value(res, "rework rate", rate(e.rework, e.deployments));
  };
  c["Daily deployments"] = [](const Result& res, const History& h, const GrafanaRequest& r) {
    std::map<EpochMillis, std::vector<std::optional<double>>> expected;
    for (const auto& [day, attempts] : attempts_by_day(h, r)) {
      double ok = 0, failed = 0, unsuccessful = 0;
      for (const auto* d : attempts) {
        if (d->status != "success") {
          ++unsuccessful;
        } else {
          ++ok;
          if (d->failed()) ++failed;
        }
      }
      expected[day] = {ok, failed, unsuccessful};
    }
    check_series(res, expected, {"deployments", "failed deployments", "unsuccessful attempts"});
  };
  c["Daily lead time for changes"] = [](const Result& res, const History& h, const GrafanaRequest& r) {
    std::map<EpochMillis, std::vector<double>> leads;
    for (const auto* d : successful(h, r)) {
      for (double s : lead_seconds(*d)) leads[d->finished / kDay * kDay].push_back(s);
    }
    std::map<EpochMillis, std::vector<std::optional<double>>> expected;
    for (const auto& [day, v] : leads) {
      expected[day] = {scaled(percentile(v, 0.5), 3600), scaled(percentile(v, 0.9), 3600)};
    }
    check_series(res, expected, {"median lead time", "p90 lead time"});
  };
  c["Daily change failure rate"] = [](const Result& res, const History& h, const GrafanaRequest& r) {
    std::map<EpochMillis, std::vector<std::optional<double>>> expected;
    for (const auto& [day, attempts] : attempts_by_day(h, r)) {
      long long ok = 0, failed = 0, rework = 0;
      for (const auto* d : attempts) {
        if (d->status != "success") continue;
        ++ok;
        failed += d->failed();
        rework += d->rollback || d->hotfix;
      }
      expected[day] = {rate(failed, ok), rate(rework, ok)};
    }
    check_series(res, expected, {"change failure rate", "rework rate"});
  };
  c["Daily time to restore"] = [](const Result& res, const History& h, const GrafanaRequest& r) {
    std::map<EpochMillis, std::vector<double>> restores;
    for (const auto* i : resolved_incidents(h, r)) {
      restores[i->opened / kDay * kDay].push_back(static_cast<double>(*i->resolved - i->opened) / 1000);
    }
    std::map<EpochMillis, std::vector<std::optional<double>>> expected;
    for (const auto& [day, v] : restores) {
      expected[day] = {scaled(percentile(v, 0.5), 60), scaled(percentile(v, 0.9), 60)};
    }
    check_series(res, expected, {"median time to restore", "p90 time to restore"});
  };
  c["Recent deployments"] = [](const Result& res, const History& h, const GrafanaRequest& r) {
    std::vector<const Deployment*> expected;
    for (const auto& d : h.deployments) {
      if (selected(r, d.service, d.environment) && in_range(r, d.finished)) expected.push_back(&d);
    }
    std::sort(expected.begin(), expected.end(), [](const Deployment* a, const Deployment* b) {
      return a->finished != b->finished ? a->finished > b->finished : a->deploy_id() < b->deploy_id();
    });
    REQUIRE(res.rows.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const Deployment& d = *expected[i];
      INFO("row " << i << " " << d.deploy_id());
      CHECK(res.text(i, "deploy_id") == d.deploy_id());
      CHECK(res.text(i, "service") == d.service);
      CHECK(res.text(i, "status") == d.status);
      CHECK(res.text(i, "commit") == d.sha);
      CHECK(res.text(i, "change_count") == std::to_string(d.brings.size()));
      check_number(res.number(i, "median lead time"), scaled(percentile(lead_seconds(d), 0.5), 3600));
      CHECK(res.text(i, "rollback") == std::string(d.rollback ? "t" : "f"));
      CHECK(res.text(i, "hotfix") == std::string(d.hotfix ? "t" : "f"));
      CHECK(res.text(i, "caused incident") == std::string(d.caused_incident ? "t" : "f"));
    }
  };
  c["Recent incidents"] = [](const Result& res, const History& h, const GrafanaRequest& r) {
    std::vector<const Incident*> expected;
    for (const auto& i : h.incidents) {
      if (selected(r, i.service, "production") && in_range(r, i.opened)) expected.push_back(&i);
    }
    std::sort(expected.begin(), expected.end(), [](const Incident* a, const Incident* b) { return a->opened > b->opened; });
    REQUIRE(res.rows.size() == expected.size());
    for (std::size_t n = 0; n < expected.size(); ++n) {
      const Incident& i = *expected[n];
      INFO("row " << n << " " << i.id);
      CHECK(res.text(n, "incident_id") == i.id);
      CHECK(res.text(n, "service") == i.service);
      CHECK(res.text(n, "status") == std::string(i.resolved ? "resolved" : "open"));
      CHECK(res.text(n, "deploy_id") == i.deploy_id);
      CHECK(res.text(n, "attribution") == i.attribution);
      const std::optional<double> minutes =
          i.resolved ? std::optional<double>(static_cast<double>(*i.resolved - i.opened) / kMinute) : std::nullopt;
      check_number(res.number(n, "time to restore"), minutes);
    }
  };
  return c;
}

std::string dashboard_path(const std::string& name) { return kGrafanaDir + "/dashboards/" + name; }

// Runs every SQL panel for `request` and checks it; returns the titles run.
std::set<std::string> run_all_panels(const json::value& dashboard, const TestDatabase& db, const History& h,
                                     const GrafanaRequest& request) {
  const auto models = variable_models(dashboard);
  const auto checks = panel_checks();
  std::set<std::string> titles;
  for (const auto* panel : all_panels(dashboard)) {
    const auto* targets = panel->if_contains("targets");
    if (!targets) continue;
    const std::string title = str(*panel, "title");
    INFO("panel " << title);
    for (const auto& t : targets->as_array()) {
      const std::string raw = str(t, "rawSql");
      REQUIRE(!raw.empty());
      std::string sql;
      REQUIRE_NOTHROW(sql = interpolate(raw, request, models));
      INFO("SQL: " << sql);
      const Result res = run_sql(db, sql);
      const auto check = checks.find(title);
      REQUIRE(check != checks.end());  // every panel has its expectation here
      check->second(res, h, request);
    }
    titles.insert(title);
  }
  return titles;
}

}  // namespace

TEST_CASE("Grafana's interpolation as this test performs it", "[grafana]") {
  const auto dashboard = read_json(dashboard_path("fourkeys.json"));
  const auto models = variable_models(dashboard);
  GrafanaRequest r;
  r.from = 1'717'200'000'000;       // 2024-06-01T00:00:00Z
  r.to = 1'717'286'400'000 + 123;   // 2024-06-02T00:00:00.123Z
  r.services = {"acme/web", "o'brien"};
  r.environment = "prod'uction";
  CHECK(interpolate("SELECT $__timeGroupAlias(day, '1d'), x FROM t WHERE $__timeFilter(day) AND s IN ($service) "
                    "AND s IN (${service}) AND s IN (${service:sqlstring}) AND e = '$environment' "
                    "AND e = ${environment:sqlstring} AND $__timeFrom() < $__timeTo()",
                    r, models) ==
        "SELECT floor(extract(epoch from day)/86400)*86400 AS \"time\", x FROM t WHERE day BETWEEN "
        "'2024-06-01T00:00:00Z' AND '2024-06-02T00:00:00.123Z' AND s IN ('acme/web','o''brien') "
        "AND s IN ('acme/web','o''brien') AND s IN ('acme/web','o''brien') AND e = 'prod''uction' "
        "AND e = 'prod''uction' AND '2024-06-01T00:00:00Z' < '2024-06-02T00:00:00.123Z'");
  // What the dashboard does not use is refused, so a panel using it fails.
  for (const char* sql : {"SELECT $__timeGroup(day, '1d')", "SELECT $__interval", "SELECT $__unixEpochFilter(t)",
                          "SELECT $squad", "SELECT ${service:csv}", "SELECT [[service]]", "SELECT $1",
                          "SELECT $__timeFilter()"}) {
    INFO(sql);
    CHECK_THROWS(interpolate(sql, r, models));
  }
}

TEST_CASE("every panel of the Four Keys dashboard shows the known history's numbers", "[grafana][integration]") {
  const auto dashboard = read_json(dashboard_path("fourkeys.json"));
  Pipeline p;
  const History& h = p.history;

  // The template variables' own queries list what the tables hold; the
  // service list follows the team picked.
  const auto models = variable_models(dashboard);
  auto options = [&](const json::value& variable, const std::vector<std::string>& teams) {
    GrafanaRequest r;
    r.teams = teams;
    std::set<std::string> values;
    for (const auto& row : run_sql(p.db, interpolate(str(variable, "query"), r, models)).rows) values.insert(*row.at(0));
    return values;
  };
  for (const auto& v : dashboard.at("templating").at("list").as_array()) {
    if (str(v, "name") == "team") {
      CHECK(options(v, {"__all__"}) == std::set<std::string>{kWebTeam});
      CHECK(str(v, "allValue") == "__all__");
      CHECK(v.at("includeAll").as_bool());
    } else if (str(v, "name") == "service") {
      CHECK(options(v, {"__all__"}) == std::set<std::string>{kWeb, kApi});
      CHECK(options(v, {kWebTeam}) == std::set<std::string>{kWeb});
      CHECK(options(v, {"another team"}).empty());
      CHECK(v.at("multi").as_bool());
      CHECK(v.at("includeAll").as_bool());
    } else {
      CHECK(str(v, "name") == "environment");
      CHECK(options(v, {"__all__"}) == std::set<std::string>{"production", "staging"});
      CHECK(str(v.at("current"), "value") == "production");
    }
  }
  CHECK(str(dashboard.at("time"), "from") == "now-30d");

  const EpochMillis now = now_millis();
  GrafanaRequest all;  // the defaults: every service, production, the last 30 days
  all.from = now - 30 * kDay;
  all.to = now;
  all.services = {kApi, kWeb};
  all.environment = "production";

  // The default view. A few of its numbers are spelled out, so that the
  // expectations worked out above are checked too.
  {
    INFO("every service, production, the last 30 days");
    const Headline e = headline(h, all);
    CHECK(e.deployments == 7);  // the 40-day-old one and the failed attempt left out
    CHECK(e.failed == 5);
    CHECK(e.rework == 3);
    CHECK(*percentile(e.leads, 0.5) == 7200);  // a6's -3600 s left out
    CHECK(*percentile(e.restores, 0.5) == 90 * 60);
    const auto titles = run_all_panels(dashboard, p.db, h, all);
    CHECK(titles.size() == panel_checks().size());
    for (const auto* panel : all_panels(dashboard)) {
      if (str(*panel, "title") != "Change failure rate") continue;
      const Result res = run_sql(p.db, interpolate(str(panel->at("targets").at(0), "rawSql"), all, models));
      CHECK(*res.number(0, "change failure rate") == Approx(500.0 / 7));
      CHECK(res.text(0, "rating") == std::optional<std::string>("low"));
    }
  }
  {
    INFO("one service");
    GrafanaRequest web = all;
    web.services = {kWeb};
    CHECK(headline(h, web).deployments == 4);  // 4/30 a day: medium, where both services together are high
    CHECK(classify_df(4.0 / 30) == std::optional<std::string>("medium"));
    run_all_panels(dashboard, p.db, h, web);
  }
  {
    INFO("a shorter time range starting at a UTC midnight");
    GrafanaRequest recent = all;
    recent.from = h.midnight - 2 * kDay;
    const Headline e = headline(h, recent);
    CHECK(e.deployments == 3);
    CHECK(*percentile(e.leads, 0.5) == 3 * 3600);
    run_all_panels(dashboard, p.db, h, recent);
  }
  {
    INFO("staging");
    GrafanaRequest staging = all;
    staging.environment = "staging";
    CHECK(headline(h, staging).deployments == 1);
    CHECK(headline(h, staging).restores.empty());  // no data: no value and no rating
    run_all_panels(dashboard, p.db, h, staging);
  }
}

namespace {

// The colour Grafana gives a number in a stat panel: the first range
// mapping that holds it (bounds inclusive), else the highest threshold step
// at or below it.
std::string display_colour(const json::object& panel, double v) {
  const auto& defaults = panel.at("fieldConfig").at("defaults");
  if (const auto* mappings = defaults.as_object().if_contains("mappings")) {
    for (const auto& m : mappings->as_array()) {
      if (str(m, "type") != "range") continue;
      const auto& o = m.at("options");
      const auto& from = o.at("from");
      const auto& to = o.at("to");
      if ((from.is_null() || v >= from.to_number<double>()) && (to.is_null() || v <= to.to_number<double>())) {
        return str(o.at("result"), "color");
      }
    }
  }
  std::string colour;
  for (const auto& step : defaults.at("thresholds").at("steps").as_array()) {
    const auto& value = step.at("value");
    if (value.is_null() || v >= value.to_number<double>()) colour = str(step, "color");
  }
  return colour;
}

std::string rating_colour(const std::optional<std::string>& rating) {
  if (rating == "elite") return "green";
  if (rating == "high") return "yellow";
  if (rating == "medium") return "orange";
  return "red";
}

}  // namespace

TEST_CASE("the headline stats are coloured by the seed's ratings, boundaries included", "[grafana]") {
  const auto dashboard = read_json(dashboard_path("fourkeys.json"));
  const std::map<std::string, std::function<std::optional<std::string>(double)>> ratings = {
      {"Deployment frequency", [](double v) { return classify_df(v); }},
      {"Lead time for changes (median)", [](double v) { return classify_lt(v); }},
      {"Change failure rate", [](double v) { return classify_cfr(v); }},
      {"Time to restore (median)", [](double v) { return classify_mttr(v); }},
      // No rating of its own: the change failure rate's bands.
      {"Rework rate", [](double v) { return classify_cfr(v); }},
  };
  std::vector<double> samples = {0, 0.01, 0.1, 0.5, 2, 5, 14.9, 15, 15.01, 29.99, 30, 30.01, 44.99, 45, 45.01, 59.99,
                                 60, 100, 167.99, 168, 1439.9, 1440, 4319.9, 4320, 10079.9, 10080, 50000};
  for (double b : {1.0 / 30, 1.0 / 7, 1.0}) {
    samples.insert(samples.end(), {std::nextafter(b, 0.0), b, std::nextafter(b, 2.0)});
  }
  std::size_t found = 0;
  for (const auto* panel : all_panels(dashboard)) {
    const auto rating = ratings.find(str(*panel, "title"));
    if (rating == ratings.end()) continue;
    ++found;
    CHECK(str(*panel, "type") == "stat");
    for (double v : samples) {
      INFO(rating->first << " at " << v);
      CHECK(display_colour(*panel, v) == rating_colour(rating->second(v)));
    }
  }
  CHECK(found == ratings.size());
}

TEST_CASE("the seed's weekly change-failure-rate SQL runs unchanged on the worker's tables", "[grafana][integration]") {
  // Copied from the seed document, section "Change Failure Rate", unchanged.
  const std::string seed_sql = R"(SELECT
    service,
    DATE_TRUNC('week', deployed_at) AS week,
    COUNT(*) FILTER (WHERE is_rollback OR is_hotfix) AS failed_deployments,
    COUNT(*) AS total_deployments,
    ROUND(
        100.0 * COUNT(*) FILTER (WHERE is_rollback OR is_hotfix) / COUNT(*),
        2
    ) AS change_failure_rate
FROM deployments
WHERE environment = 'production'
  AND deployed_at >= NOW() - INTERVAL '30 days'
GROUP BY service, DATE_TRUNC('week', deployed_at)
ORDER BY week DESC;)";

  Pipeline p;
  // The seed counts rollbacks and hotfixes only (an incident does not make a
  // deployment failed there), every successful production deployment of
  // the last 30 days, by (service, ISO week starting Monday).
  std::map<std::pair<std::string, EpochMillis>, std::pair<long long, long long>> weeks;  // failed, total
  const EpochMillis cutoff = now_millis() - 30 * kDay;
  for (const auto& d : p.history.deployments) {
    if (d.status != "success" || d.environment != "production" || d.finished < cutoff) continue;
    const long long day = d.finished / kDay;
    const long long monday = day - (day + 3) % 7;  // 1970-01-01 was a Thursday
    auto& w = weeks[{d.service, monday * kDay}];
    w.first += d.rollback || d.hotfix;
    ++w.second;
  }
  std::multiset<std::string> expected;
  for (const auto& [key, counts] : weeks) {
    const long long hundredths = (10000 * counts.first * 2 + counts.second) / (2 * counts.second);  // rounded half up
    char cfr[32];
    std::snprintf(cfr, sizeof cfr, "%lld.%02lld", hundredths / 100, hundredths % 100);
    expected.insert(key.first + "|" + format_time(key.second).substr(0, 10) + " 00:00:00+00|" +
                    std::to_string(counts.first) + "|" + std::to_string(counts.second) + "|" + cfr);
  }
  long long total = 0;
  for (const auto& [key, counts] : weeks) total += counts.second;
  CHECK(total == 7);

  const Result res = run_sql(p.db, seed_sql, "UTC");
  REQUIRE(res.columns ==
          std::vector<std::string>{"service", "week", "failed_deployments", "total_deployments", "change_failure_rate"});
  std::multiset<std::string> actual;
  std::optional<std::string> previous_week;
  for (const auto& row : res.rows) {
    std::string line;
    for (const auto& f : row) line += (line.empty() ? "" : "|") + f.value_or("NULL");
    actual.insert(line);
    if (previous_week) CHECK(*row.at(1) <= *previous_week);  // ORDER BY week DESC
    previous_week = row.at(1);
  }
  CHECK(actual == expected);
}

TEST_CASE("the seed's Prometheus panels are in seed-prometheus.json exactly", "[grafana]") {
  const auto dashboard = read_json(dashboard_path("seed-prometheus.json"));
  std::map<std::string, const json::object*> by_title;
  for (const auto* panel : all_panels(dashboard)) by_title[str(*panel, "title")] = panel;
  REQUIRE(by_title.size() == 4);

  const auto exprs = [](const json::object& panel) {
    std::vector<std::string> out;
    for (const auto& t : panel.at("targets").as_array()) out.push_back(str(t, "expr"));
    return out;
  };
  const auto steps = [](const json::object& panel) {
    std::vector<std::pair<std::string, std::optional<double>>> out;
    for (const auto& s : panel.at("fieldConfig").at("defaults").at("thresholds").at("steps").as_array()) {
      const auto& v = s.at("value");
      out.emplace_back(str(s, "color"), v.is_null() ? std::nullopt : std::optional<double>(v.to_number<double>()));
    }
    return out;
  };
  using Steps = std::vector<std::pair<std::string, std::optional<double>>>;

  const auto* mttr = by_title.at("Mean Time to Restore (MTTR)");
  CHECK(str(*mttr, "type") == "timeseries");
  CHECK(exprs(*mttr) == std::vector<std::string>{"avg(incident_resolution_time_seconds) by (service) / 60"});
  CHECK(str(mttr->at("targets").at(0), "legendFormat") == "{{service}} (minutes)");
  CHECK(str(mttr->at("fieldConfig").at("defaults"), "unit") == "m");
  CHECK(steps(*mttr) ==
        Steps{{"green", std::nullopt}, {"green", 0}, {"yellow", 60}, {"orange", 1440}, {"red", 10080}});

  const auto* df = by_title.at("Deployment Frequency");
  CHECK(str(*df, "type") == "stat");
  CHECK(exprs(*df) == std::vector<std::string>{"sum(increase(deployments_total{environment=\"production\"}[7d]))"});
  CHECK(str(df->at("targets").at(0), "legendFormat") == "Deployments (7d)");

  const auto* cfr = by_title.at("Change Failure Rate");
  CHECK(str(*cfr, "type") == "gauge");
  CHECK(exprs(*cfr) == std::vector<std::string>{"sum(deployments_failed_total) / sum(deployments_total) * 100"});
  CHECK(str(cfr->at("targets").at(0), "legendFormat") == "CFR %");
  CHECK(str(cfr->at("fieldConfig").at("defaults"), "unit") == "percent");
  CHECK(cfr->at("fieldConfig").at("defaults").at("max").to_number<double>() == 100);
  CHECK(steps(*cfr) == Steps{{"green", 0}, {"yellow", 15}, {"orange", 30}, {"red", 45}});

  // The seed's "Lead Time Calculation" PromQL, as written there.
  const auto* lead = by_title.at("Lead Time for Changes");
  CHECK(str(*lead, "type") == "timeseries");
  CHECK(exprs(*lead) == std::vector<std::string>{
                            "avg(\n  deployment_timestamp - commit_timestamp\n) by (service) / 3600",
                            "histogram_quantile(0.50,\n  sum(rate(lead_time_seconds_bucket[7d])) by (le, service)\n)",
                            "histogram_quantile(0.95,\n  sum(rate(lead_time_seconds_bucket[7d])) by (le, service)\n)",
                        });

  for (const auto& [title, panel] : by_title) {
    INFO(title);
    CHECK(str(panel->at("datasource"), "uid") == "prometheus");
    for (const auto& t : panel->at("targets").as_array()) CHECK(str(t.at("datasource"), "uid") == "prometheus");
  }
}

namespace {

// Every {"type": ..., "uid": ...} datasource reference in a dashboard.
void datasource_refs(const json::value& v, std::vector<std::pair<std::string, std::string>>& out) {
  if (const auto* o = v.if_object()) {
    for (const auto& [key, value] : *o) {
      if (key == "datasource") {
        REQUIRE(value.is_object());  // a bare name would be looked up by name, not uid
        out.emplace_back(str(value, "type"), str(value, "uid"));
      } else {
        datasource_refs(value, out);
      }
    }
  } else if (const auto* a = v.if_array()) {
    for (const auto& e : *a) datasource_refs(e, out);
  }
}

}  // namespace

TEST_CASE("the provisioning files parse and provide every data source the dashboards use", "[grafana]") {
  const YAML::Node sources = YAML::LoadFile(kGrafanaDir + "/provisioning/datasources/datasources.yaml");
  CHECK(sources["apiVersion"].as<int>() == 1);
  std::map<std::string, YAML::Node> by_uid;
  for (const YAML::Node& s : sources["datasources"]) by_uid.emplace(s["uid"].as<std::string>(), s);
  REQUIRE(by_uid.count("fourkeys-postgres") == 1);
  REQUIRE(by_uid.count("prometheus") == 1);

  const auto& pg = by_uid["fourkeys-postgres"];
  CHECK(pg["type"].as<std::string>() == "postgres");
  CHECK(pg["url"].as<std::string>() == "postgres:5432");
  CHECK(pg["user"].as<std::string>() == "fourkeys");
  CHECK(pg["jsonData"]["database"].as<std::string>() == "fourkeys");
  const auto password = pg["secureJsonData"]["password"].as<std::string>();
  CHECK((password == "${POSTGRES_PASSWORD}" || password == "$POSTGRES_PASSWORD" ||
         password == "$__env{POSTGRES_PASSWORD}"));
  const auto& prom = by_uid["prometheus"];
  CHECK(prom["type"].as<std::string>() == "prometheus");
  CHECK(prom["url"].as<std::string>() == "http://prometheus:9090");

  const YAML::Node providers = YAML::LoadFile(kGrafanaDir + "/provisioning/dashboards/dashboards.yaml");
  CHECK(providers["apiVersion"].as<int>() == 1);
  REQUIRE(providers["providers"].size() == 1);
  CHECK(providers["providers"][0]["type"].as<std::string>() == "file");
  CHECK(providers["providers"][0]["options"]["path"].as<std::string>() == "/var/lib/grafana/dashboards");

  for (const char* name : {"fourkeys.json", "seed-prometheus.json"}) {
    INFO(name);
    const auto dashboard = read_json(dashboard_path(name));
    CHECK(!str(dashboard, "uid").empty());
    std::vector<std::pair<std::string, std::string>> refs;
    datasource_refs(dashboard, refs);
    CHECK(!refs.empty());
    for (const auto& [type, uid] : refs) {
      INFO(type << " " << uid);
      if (type == "grafana") continue;  // the built-in annotations source
      REQUIRE(by_uid.count(uid) == 1);
      CHECK(by_uid[uid]["type"].as<std::string>() == type);
    }
  }
}

#include "tools/generate/expect.h"

#include "common/time.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

namespace fourkeys::generate {

namespace {

std::int64_t day_number(Millis t) { return t >= 0 ? t / kDay : -((-t + kDay - 1) / kDay); }

Distribution distribution(std::vector<double> values) {
  Distribution d;
  d.sample_size = static_cast<std::int64_t>(values.size());
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  d.median = percentile_cont(values, 0.5);
  d.p90 = percentile_cont(values, 0.9);
  d.p95 = percentile_cont(values, 0.95);
  // Every value is a whole number of seconds, so the sum is exact in any
  // order and the mean is the one Postgres' avg() gives.
  double sum = 0;
  for (double v : values) sum += v;
  d.mean = sum / static_cast<double>(values.size());
  d.min = values.front();
  d.max = values.back();
  return d;
}

std::optional<double> percent(std::int64_t part, std::int64_t whole) {
  if (whole <= 0) return std::nullopt;
  return python_round2(static_cast<double>(part) / static_cast<double>(whole) * 100);
}

// A minimal JSON text writer: objects, arrays, and numbers laid out as the
// read side writes them, so that equal values are equal texts.
class Writer {
 public:
  Writer& open(char c) {
    comma();
    out_ += c;
    first_ = true;
    return *this;
  }
  Writer& close(char c) {
    out_ += c;
    first_ = false;
    return *this;
  }
  Writer& key(const std::string& k) {
    comma();
    string_text(k);
    out_ += ':';
    first_ = true;
    return *this;
  }
  Writer& value(const std::string& s) {
    comma();
    string_text(s);
    return *this;
  }
  Writer& value(const char* s) { return value(std::string(s)); }
  Writer& value(std::int64_t n) {
    comma();
    out_ += std::to_string(n);
    return *this;
  }
  Writer& value(int n) { return value(static_cast<std::int64_t>(n)); }
  Writer& value(std::uint64_t n) {
    comma();
    out_ += std::to_string(n);
    return *this;
  }
  Writer& value(bool b) {
    comma();
    out_ += b ? "true" : "false";
    return *this;
  }
  Writer& value(double d) {
    comma();
    out_ += python_float_text(d);
    return *this;
  }
  Writer& value(const std::optional<double>& d) {
    if (d) return value(*d);
    comma();
    out_ += "null";
    return *this;
  }
  template <typename T>
  Writer& field(const std::string& k, const T& v) {
    key(k);
    return value(v);
  }
  // An item of an array on a line of its own, for people reading the output.
  Writer& open_line(char c) {
    comma();
    out_ += '\n';
    out_ += c;
    first_ = true;
    return *this;
  }
  Writer& newline() {
    out_ += '\n';
    return *this;
  }
  std::string take() { return std::move(out_); }

 private:
  void comma() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  void string_text(const std::string& s) {
    out_ += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out_ += buf;
      } else {
        out_ += c;
      }
    }
    out_ += '"';
  }
  std::string out_;
  bool first_ = true;
};

void write_distribution(Writer& w, const Distribution& d) {
  w.field("sample_size", d.sample_size);
  w.field("median_seconds", d.median).field("p90_seconds", d.p90).field("p95_seconds", d.p95);
  w.field("mean_seconds", d.mean).field("min_seconds", d.min).field("max_seconds", d.max);
}

std::string day_text(std::int64_t day) { return format_time(day * kDay).substr(0, 10); }

}  // namespace

std::optional<double> percentile_cont(std::vector<double> values, double p) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const double position = p * static_cast<double>(values.size() - 1);
  const double lower = std::floor(position);
  const double upper = std::ceil(position);
  const double lo = values[static_cast<std::size_t>(lower)];
  if (upper <= lower) return lo;
  const double hi = values[static_cast<std::size_t>(upper)];
  // float8_lerp: lo + pct * (hi - lo)
  return lo + (position - lower) * (hi - lo);
}

double python_round2(double value) {
  // %.2f rounds the exact binary value, ties to even, as Python's round() does.
  char buf[512];
  std::snprintf(buf, sizeof buf, "%.2f", value);
  return std::strtod(buf, nullptr);
}

std::string python_float_text(double value) {
  if (!std::isfinite(value)) return "null";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string sci(buf, result.ptr);
  std::string out;
  if (sci.front() == '-') {
    out = "-";
    sci.erase(0, 1);
  }
  const auto e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits += c;
  }
  const int exponent = std::atoi(sci.c_str() + e + 1);
  if (exponent >= -4 && exponent < 16) {
    const int point = exponent + 1;
    if (point <= 0) {
      out += "0." + std::string(static_cast<std::size_t>(-point), '0') + digits;
    } else if (static_cast<std::size_t>(point) >= digits.size()) {
      out += digits + std::string(static_cast<std::size_t>(point) - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<std::size_t>(point)) + "." + digits.substr(static_cast<std::size_t>(point));
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char exp[16];
  std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exp;
}

std::string dora_request(const Expectation& e) {
  std::string service;
  for (unsigned char c : e.service) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      service += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      service += buf;
    }
  }
  return "/api/v1/dora?service=" + service + "&environment=" + e.environment + "&from=" + format_time(e.from) +
         "&to=" + format_time(e.to);
}

std::vector<Expectation> expectations(const History& h) {
  std::vector<Expectation> out;
  const std::int64_t first_day = day_number(h.from);
  const std::int64_t last_day = day_number(h.to - 1);
  for (const Service& s : h.services) {
    for (const std::string& environment : {std::string("production"), std::string("staging")}) {
      const bool any = std::any_of(s.attempts.begin(), s.attempts.end(),
                                   [&](const Attempt& a) { return a.environment == environment; }) ||
                       std::any_of(s.incidents.begin(), s.incidents.end(),
                                   [&](const Incident& i) { return i.environment == environment; });
      if (!any) continue;
      Expectation e;
      e.service = s.name;
      e.environment = environment;
      e.from = h.from;
      e.to = h.to;
      std::map<std::int64_t, DayExpectation> days;
      for (std::int64_t d = first_day; d <= last_day; ++d) days[d].day = d;
      std::map<std::int64_t, std::vector<double>> day_leads, day_restores;
      std::vector<double> leads, restores;
      auto in_window = [&](Millis t) { return t >= h.from && t < h.to; };

      for (const Attempt& a : s.attempts) {
        if (a.environment != environment || !in_window(a.finished_at)) continue;
        DayExpectation& day = days[day_number(a.finished_at)];
        if (a.status != "success") {
          ++e.unsuccessful;
          ++day.unsuccessful;
          continue;
        }
        const bool failed = a.rollback || a.hotfix || a.caused_incident;
        const bool rework = a.rollback || a.hotfix;
        ++e.deployments;
        ++day.deployments;
        e.failed += failed;
        day.failed += failed;
        e.rework += rework;
        day.rework += rework;
        e.rollbacks += a.rollback;
        e.hotfixes += a.hotfix;
        e.incident_linked += a.caused_incident;
        for (int c : a.changes) {
          const double lead =
              static_cast<double>(a.finished_at - s.chain[static_cast<std::size_t>(c)].time) / 1000.0;
          leads.push_back(lead);
          day_leads[day_number(a.finished_at)].push_back(lead);
          ++day.changes;
        }
      }
      for (const Incident& i : s.incidents) {
        if (i.environment != environment || !in_window(i.opened_at)) continue;
        DayExpectation& day = days[day_number(i.opened_at)];
        ++e.incidents;
        ++day.opened;
        if (!i.resolved_at) {
          ++e.open_incidents;
          continue;
        }
        ++day.resolved;
        const double seconds = static_cast<double>(*i.resolved_at - i.opened_at) / 1000.0;
        restores.push_back(seconds);
        day_restores[day_number(i.opened_at)].push_back(seconds);
      }
      e.lead_time = distribution(leads);
      e.restore = distribution(restores);
      for (auto& [n, day] : days) {
        if (const auto it = day_leads.find(n); it != day_leads.end()) day.lead_median = percentile_cont(it->second, 0.5);
        if (const auto it = day_restores.find(n); it != day_restores.end()) {
          day.restore_median = percentile_cont(it->second, 0.5);
        }
        e.daily.push_back(day);
      }
      out.push_back(std::move(e));
    }
  }
  return out;
}

std::string expectations_json(const History& h, const std::vector<Expectation>& all) {
  Writer w;
  w.open('{');
  w.key("generator").open('{');
  w.field("seed", static_cast<std::uint64_t>(h.options.seed)).field("now", format_time(h.options.now));
  w.field("days", h.options.days).field("services", h.options.services).field("four_keys", h.options.four_keys);
  w.close('}');
  w.field("from", format_time(h.from)).field("to", format_time(h.to));
  w.key("expectations").open('[');
  for (const Expectation& e : all) {
    w.open_line('{');
    w.field("service", e.service).field("environment", e.environment).field("request", dora_request(e));
    w.key("dora").open('{');
    const double window_days = static_cast<double>(e.to - e.from) / static_cast<double>(kDay);
    w.field("service", e.service).field("environment", e.environment);
    w.field("from", format_time(e.from)).field("to", format_time(e.to)).field("days", window_days);

    const double frequency = static_cast<double>(e.deployments) / window_days;
    w.key("deployment_frequency").open('{');
    w.field("deployments", e.deployments).field("unsuccessful_attempts", e.unsuccessful);
    w.field("per_day", frequency).field("per_week", frequency * 7);
    w.close('}');

    w.key("lead_time").open('{');
    write_distribution(w, e.lead_time);
    w.field("negative_excluded", std::int64_t{0});
    w.close('}');

    w.key("change_failure_rate").open('{');
    w.field("deployments", e.deployments).field("failed_deployments", e.failed);
    w.field("rollbacks", e.rollbacks).field("hotfixes", e.hotfixes).field("incident_linked", e.incident_linked);
    w.field("percent", percent(e.failed, e.deployments));
    w.close('}');

    w.key("time_to_restore").open('{');
    w.field("incidents", e.incidents).field("open_incidents", e.open_incidents);
    write_distribution(w, e.restore);
    w.close('}');

    w.key("rework_rate").open('{');
    w.field("deployments", e.deployments).field("rework_deployments", e.rework);
    w.field("percent", percent(e.rework, e.deployments));
    w.close('}');

    w.key("daily").open('[');
    for (const DayExpectation& d : e.daily) {
      w.open('{');
      w.field("day", day_text(d.day));
      w.field("deployments", d.deployments).field("failed_deployments", d.failed);
      w.field("rework_deployments", d.rework).field("unsuccessful_attempts", d.unsuccessful);
      w.field("changes_deployed", d.changes).field("lead_time_median_seconds", d.lead_median);
      w.field("incidents_opened", d.opened).field("incidents_resolved", d.resolved);
      w.field("restore_median_seconds", d.restore_median);
      w.close('}');
    }
    w.close(']');
    w.close('}');
    w.close('}');
  }
  w.newline();
  w.close(']');
  w.close('}');
  w.newline();
  return w.take();
}

}  // namespace fourkeys::generate

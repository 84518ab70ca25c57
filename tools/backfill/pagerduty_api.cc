#include "tools/backfill/pagerduty_api.h"

#include "common/json.h"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>

namespace fourkeys::backfill {

namespace {

constexpr EpochMillis kDayMillis = 86'400'000;

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

bool is_date_only(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

// Whole non-negative seconds ("120"), as Retry-After and ratelimit-reset
// send them; fractions ("1.5") are rounded up so the wait is never short.
std::optional<std::chrono::milliseconds> seconds_value(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  double seconds = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size() || seconds < 0 || seconds > 1e9) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0 + 0.999));
}

// Retry-After as an HTTP date ("Sun, 06 Nov 1994 08:49:37 GMT").
std::optional<EpochMillis> http_date(std::string_view text) {
  const std::string copy(trim(text));
  std::tm tm{};
  const char* end = strptime(copy.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  const std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return static_cast<EpochMillis>(t) * 1000;
}

// Everything but RFC 3986's unreserved characters, so `[]` in PagerDuty's
// array parameters and the colons of times reach the server unambiguously.
std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::chrono::milliseconds exponential(int attempt, const RetryPolicy& policy) {
  auto delay = policy.base;
  for (int i = 1; i < attempt && delay < policy.cap; ++i) delay *= 2;
  return std::min(delay, policy.cap);
}

}  // namespace

std::optional<EpochMillis> parse_range_argument(std::string_view text, bool is_until) {
  text = trim(text);
  if (is_date_only(text)) {
    const auto midnight = parse_time(std::string(text) + "T00:00:00Z");
    if (!midnight) return std::nullopt;
    return is_until ? midnight->millis + kDayMillis : midnight->millis;
  }
  // A bare "YYYY-MM-DD HH:MM" is not what people mean by RFC 3339; the
  // shared parser takes it anyway (as UTC), which is what a user expects.
  const auto parsed = parse_time(text);
  if (!parsed) return std::nullopt;
  return parsed->millis;
}

std::vector<TimeWindow> split_windows(EpochMillis since, EpochMillis until, EpochMillis max_window) {
  std::vector<TimeWindow> windows;
  if (max_window <= 0) max_window = kMaxWindowMillis;
  for (EpochMillis start = since; start < until; start += max_window) {
    windows.push_back({start, std::min(until, start + max_window)});
  }
  return windows;
}

std::optional<std::vector<std::string>> parse_statuses(std::string_view text, std::string& error) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view word = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (word.empty()) continue;
    const auto known = std::find(kIncidentStatuses.begin(), kIncidentStatuses.end(), word);
    if (known == kIncidentStatuses.end()) {
      error = "not a PagerDuty incident status: " + std::string(word) + " (use resolved, acknowledged, triggered)";
      return std::nullopt;
    }
    if (std::find(out.begin(), out.end(), word) == out.end()) out.emplace_back(word);
  }
  if (out.empty()) {
    error = "no status given (use resolved, acknowledged, triggered)";
    return std::nullopt;
  }
  return out;
}

std::string incidents_target(std::string_view base_path, const IncidentQuery& query) {
  while (!base_path.empty() && base_path.back() == '/') base_path.remove_suffix(1);
  std::string target = std::string(base_path) + "/incidents";
  char separator = '?';
  const auto add = [&](std::string_view key, std::string_view value) {
    target += separator;
    separator = '&';
    target += percent_encode(key);
    target += '=';
    target += percent_encode(value);
  };
  add("since", format_time(query.window.since));
  add("until", format_time(query.window.until));
  for (const auto& id : query.service_ids) add("service_ids[]", id);
  for (const auto& status : query.statuses) add("statuses[]", status);
  add("time_zone", "UTC");
  add("sort_by", "created_at:asc");
  add("offset", std::to_string(query.offset));
  add("limit", std::to_string(query.limit));
  return target;
}

std::vector<std::pair<std::string, std::string>> api_headers(const std::string& token) {
  return {
      {"Authorization", "Token token=" + token},
      {"Accept", "application/vnd.pagerduty+json;version=2"},
      {"User-Agent", "fourkeys-backfill"},
  };
}

std::optional<IncidentPage> parse_incident_page(std::string_view body, std::string& error) {
  json::ParseError parse_error;
  const auto parsed = json::parse(body, parse_error);
  if (!parsed) {
    error = "the answer is not JSON (byte " + std::to_string(parse_error.offset) + ": " + parse_error.message + ")";
    return std::nullopt;
  }
  if (!parsed->is_object()) {
    error = "the answer is not a JSON object";
    return std::nullopt;
  }
  const auto& object = parsed->get_object();
  const auto* incidents = object.if_contains("incidents");
  if (!incidents || !incidents->is_array()) {
    error = "the answer has no incidents array";
    return std::nullopt;
  }
  IncidentPage page;
  for (const auto& entry : incidents->get_array()) {
    if (!entry.is_object()) {
      error = "an entry of incidents is not an object";
      return std::nullopt;
    }
    // A copy with the default storage, so that the page's arena can go.
    page.incidents.emplace_back(entry.get_object(), boost::json::storage_ptr());
  }
  page.more = json::get_bool(*parsed, {"more"});
  page.offset = json::get_int(*parsed, {"offset"}).value_or(0);
  page.limit = json::get_int(*parsed, {"limit"}).value_or(0);
  return page;
}

std::string incident_id(const boost::json::object& incident) {
  const auto* id = incident.if_contains("id");
  if (!id) return {};
  if (id->is_string()) return std::string(id->get_string());
  if (id->is_int64()) return std::to_string(id->get_int64());
  if (id->is_uint64()) return std::to_string(id->get_uint64());
  return {};
}

std::optional<EpochMillis> time_member(const boost::json::object& object, std::string_view key) {
  const auto* v = object.if_contains(key);
  if (!v || !v->is_string()) return std::nullopt;
  const auto parsed = parse_time(std::string_view(v->get_string()));
  if (!parsed) return std::nullopt;
  return parsed->millis;
}

std::string describe_error_body(std::string_view body) {
  json::ParseError ignored;
  if (const auto parsed = json::parse(body, ignored)) {
    if (const auto* error = json::find(*parsed, {"error"}); error && error->is_object()) {
      std::string out = json::get_string(*error, {"message"}).value_or("");
      if (const auto code = json::get_id(*error, {"code"}); !code.empty()) out += " (code " + code + ")";
      if (const auto* errors = json::find(*error, {"errors"}); errors && errors->is_array()) {
        for (const auto& e : errors->get_array()) {
          if (e.is_string()) out += "; " + std::string(e.get_string());
        }
      }
      if (!out.empty()) return out;
    }
  }
  std::string out(body.substr(0, 200));
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return out;
}

std::string header_value(const HeaderLookup& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

std::optional<std::chrono::milliseconds> retry_delay(int status, const HeaderLookup& headers, int attempt,
                                                     const RetryPolicy& policy, EpochMillis now) {
  const bool retriable = status == 0 || status == 429 || status >= 500;
  if (!retriable || attempt >= policy.max_attempts) return std::nullopt;
  if (status != 0) {
    const std::string retry_after = header_value(headers, "Retry-After");
    std::optional<std::chrono::milliseconds> asked = seconds_value(retry_after);
    if (!asked && !retry_after.empty()) {
      if (const auto at = http_date(retry_after)) asked = std::chrono::milliseconds(std::max<EpochMillis>(0, *at - now));
    }
    // PagerDuty's rate limiter says when the current window ends.
    if (!asked && status == 429) asked = seconds_value(header_value(headers, "ratelimit-reset"));
    if (asked) return std::min(*asked, policy.header_cap);
  }
  return exponential(attempt, policy);
}

}  // namespace fourkeys::backfill

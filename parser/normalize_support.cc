#include "parser/normalize_support.h"

#include "common/crypto.h"
#include "common/json.h"
#include "common/time.h"

namespace fourkeys::parser {

std::optional<boost::json::value> parse_body(std::string_view body, Outcome& outcome) {
  json::ParseError error;
  auto v = json::parse(body, error);
  if (!v) reject_body(error, outcome);
  return v;
}

void reject_body(const json::ParseError& error, Outcome& outcome) {
  outcome.disposition = Disposition::bad_request;
  outcome.reason = "invalid JSON at byte " + std::to_string(error.offset) + ": " + error.message;
}

namespace {

// The schema's id pattern (`<source>:.+`, ECMAScript) does not match line
// terminators, so the worker refuses an envelope whose id holds one. A sender
// id with a line break (from a body: PagerDuty's event.id, a CDEvent's
// context.id) is no usable delivery id: such a delivery gets the SHA-1 id, as
// one without an id does.
bool has_line_break(std::string_view id) {
  return id.find_first_of("\r\n") != std::string_view::npos ||
         id.find("\xE2\x80\xA8") != std::string_view::npos ||  // U+2028
         id.find("\xE2\x80\xA9") != std::string_view::npos;    // U+2029
}

}  // namespace

Envelope start_envelope(std::string_view source, std::string_view source_event,
                        std::string_view delivery_id, std::string_view raw_body,
                        boost::json::value raw, const NormalizeOptions& options) {
  Envelope env;
  env.source = std::string(source);
  env.source_event = std::string(source_event);
  env.signature = sha1_hex(raw_body);
  if (delivery_id.empty() || has_line_break(delivery_id)) {
    env.id = std::string(source) + ":sha1:" + env.signature;
    env.defaults.push_back("id");
  } else {
    env.id = std::string(source) + ":" + std::string(delivery_id);
  }
  env.received_at = format_time(options.received_at_millis);
  json::move_into(env.raw, std::move(raw));
  return env;
}

std::string envelope_time(std::string_view text, Envelope& env) {
  if (text.empty()) return {};
  auto parsed = parse_time(text);
  if (!parsed) return {};
  if (!parsed->had_zone) {
    bool seen = false;
    for (const auto& d : env.defaults) seen = seen || d == "zone";
    if (!seen) env.defaults.push_back("zone");
  }
  return format_time(parsed->millis);
}

std::string envelope_time(const boost::json::value* v, Envelope& env) {
  if (!v) return {};
  if (v->is_string()) return envelope_time(std::string_view(v->get_string()), env);
  if (v->is_int64()) return format_time(epoch_number_to_millis(static_cast<double>(v->get_int64())));
  if (v->is_uint64()) return format_time(epoch_number_to_millis(static_cast<double>(v->get_uint64())));
  if (v->is_double()) return format_time(epoch_number_to_millis(v->get_double()));
  return {};
}

void set_repository(Envelope& env, std::string_view repository) {
  env.repository = std::string(repository);
  if (!repository.empty()) {
    env.service = std::string(repository);
  } else {
    env.service = "unknown";
    env.defaults.push_back("service");
  }
}

void set_occurred_at(Envelope& env, const std::string& time) {
  if (!time.empty()) {
    env.occurred_at = time;
  } else {
    env.occurred_at = env.received_at;
    env.defaults.push_back("occurred_at");
  }
}

std::string first_line(std::string_view message) {
  const auto nl = message.find('\n');
  std::string_view line = nl == std::string_view::npos ? message : message.substr(0, nl);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  return std::string(line);
}

std::vector<std::pair<std::string, std::string>> parse_deploy_workflows(std::string_view text) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  };
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const auto eq = item.find('=');
    const std::string_view name = trim(item.substr(0, eq));
    const std::string_view environment = eq == std::string_view::npos ? std::string_view() : trim(item.substr(eq + 1));
    if (!name.empty()) out.emplace_back(std::string(name), std::string(environment));
  }
  return out;
}

namespace {
Outcome without_envelope(Disposition disposition, std::string source_event, std::string reason) {
  Outcome o;
  o.disposition = disposition;
  o.source_event = std::move(source_event);
  o.reason = std::move(reason);
  return o;
}
}  // namespace

Outcome publish(Envelope env) {
  Outcome o;
  o.disposition = Disposition::publish;
  o.source_event = env.source_event;
  o.envelope = std::move(env);
  return o;
}

Outcome ignored(std::string source_event, std::string reason) {
  return without_envelope(Disposition::ignored, std::move(source_event), std::move(reason));
}

Outcome unsupported(std::string source_event, std::string reason) {
  return without_envelope(Disposition::unsupported, std::move(source_event), std::move(reason));
}

Outcome dead_letter(std::string source_event, std::string reason) {
  return without_envelope(Disposition::dead_letter, std::move(source_event), std::move(reason));
}

}  // namespace fourkeys::parser

#include "worker/renormalize.h"

#include "common/json.h"
#include "common/time.h"
#include "parser/registry.h"
#include "parser/service_map/service_resolver.h"

#include <stdexcept>

namespace fourkeys::worker {
namespace {

constexpr std::size_t kEnd = std::string_view::npos;

std::size_t skip_space(std::string_view t, std::size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\n' || t[i] == '\r' || t[i] == '\t')) ++i;
  return i;
}

// `t[i]` is the opening quote; the index after the closing one.
std::size_t skip_string(std::string_view t, std::size_t i) {
  for (++i; i < t.size(); ++i) {
    if (t[i] == '\\') {
      ++i;
    } else if (t[i] == '"') {
      return i + 1;
    }
  }
  return kEnd;
}

// The index after the value that starts at `t[i]`, for valid JSON.
std::size_t skip_value(std::string_view t, std::size_t i) {
  if (i >= t.size()) return kEnd;
  if (t[i] == '"') return skip_string(t, i);
  if (t[i] != '{' && t[i] != '[') {
    while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' && t[i] != '\n' &&
           t[i] != '\r' && t[i] != '\t') {
      ++i;
    }
    return i;
  }
  std::size_t depth = 0;
  while (i < t.size()) {
    const char c = t[i];
    if (c == '"') {
      i = skip_string(t, i);
      if (i == kEnd) return kEnd;
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') --depth;
    ++i;
    if (depth == 0) return i;
  }
  return kEnd;
}

std::string text_of(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

std::optional<std::string_view> stored_raw_text(std::string_view t) {
  std::size_t i = skip_space(t, 0);
  if (i >= t.size() || t[i] != '{') return std::nullopt;
  i = skip_space(t, i + 1);
  while (i < t.size() && t[i] == '"') {
    const std::size_t key_end = skip_string(t, i);
    if (key_end == kEnd) return std::nullopt;
    const std::string_view key = t.substr(i + 1, key_end - i - 2);
    i = skip_space(t, key_end);
    if (i >= t.size() || t[i] != ':') return std::nullopt;
    i = skip_space(t, i + 1);
    const std::size_t value_end = skip_value(t, i);
    if (value_end == kEnd) return std::nullopt;
    if (key == "raw") return t.substr(i, value_end - i);
    i = skip_space(t, value_end);
    if (i < t.size() && t[i] == ',') i = skip_space(t, i + 1);
  }
  return std::nullopt;
}

DeliveryRenormalizer::DeliveryRenormalizer(RenormalizeSettings settings)
    // No credentials: normalizing does not authenticate.
    : settings_(std::move(settings)),
      sources_(parser::build_sources(parser::SourceSettings{})),
      routes_(sources_) {}

DeliveryRenormalizer::~DeliveryRenormalizer() = default;

Renormalized DeliveryRenormalizer::renormalize(std::string_view envelope_text) const {
  json::ParseError error;
  const auto parsed = json::parse(envelope_text, error, json::Nesting::envelope);
  if (!parsed || !parsed->is_object()) throw std::invalid_argument("stored envelope is not a JSON object");
  const boost::json::object& stored = parsed->get_object();

  Renormalized result;
  result.delivery_id = text_of(stored, "part_of");
  result.stored_part = !result.delivery_id.empty();
  if (!result.stored_part) result.delivery_id = text_of(stored, "id");
  const auto* kept = stored.if_contains("delivery");
  const auto raw = stored_raw_text(envelope_text);
  if (!kept || !kept->is_object() || !raw) {
    result.outcome = Renormalized::Outcome::kept;
    result.envelopes.emplace_back(envelope_text);
    return result;
  }

  const std::string path = text_of(kept->get_object(), "path");
  parser::Headers headers;
  if (const auto* fields = kept->get_object().if_contains("headers"); fields && fields->is_object()) {
    for (const auto& [name, value] : fields->get_object()) {
      if (value.is_string()) headers.add(std::string(name), std::string(value.get_string()));
    }
  }
  const parser::Source* source = routes_.find(path, headers);
  if (!source) throw std::invalid_argument("stored envelope names no known route: " + path);

  const auto received = parse_time(text_of(stored, "received_at"));
  if (!received) throw std::invalid_argument("stored envelope has no valid received_at");
  parser::NormalizeOptions options;
  options.received_at_millis = received->millis;
  options.incident_label = settings_.incident_label;
  options.deploy_workflows = settings_.deploy_workflows;
  const parser::Delivery delivery{path, headers, *raw};
  parser::Outcome outcome = source->normalize(delivery, options);
  if (outcome.disposition != parser::Disposition::publish) {
    result.outcome = Renormalized::Outcome::dropped;
    result.reason = outcome.reason.empty() ? "not published" : outcome.reason;
    return result;
  }

  parser::Envelope& envelope = outcome.envelope;
  envelope.signature = text_of(stored, "signature");
  const std::string raw_text = std::move(envelope.raw_text);
  const std::string_view raw_json = raw_text.empty() ? *raw : std::string_view(raw_text);
  const auto parts = parser::envelopes_to_publish(std::move(envelope), delivery, settings_.service_map.get());
  result.outcome = Renormalized::Outcome::renormalized;
  for (const auto& part : parts) result.envelopes.push_back(parser::serialize_envelope(part, raw_json));
  return result;
}

}  // namespace fourkeys::worker

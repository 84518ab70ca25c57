#include "parser/envelope.h"

#include <boost/json/serialize.hpp>

#include <stdexcept>

namespace fourkeys::parser {
namespace {

// Writes the envelope's JSON text directly: building a boost::json::object
// first costs an allocation per field on every delivery. One writer is the
// single definition of the layout; to_json() parses what it writes.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void begin_object() { open('{'); }
  void begin_object(std::string_view key) {
    name(key);
    open('{');
  }
  void end_object() { close('}'); }
  void begin_array(std::string_view key) {
    name(key);
    open('[');
  }
  void end_array() { close(']'); }

  void string(std::string_view key, std::string_view value) {
    name(key);
    escaped(value);
  }
  // Empty means "the sender did not say": null.
  void optional(std::string_view key, std::string_view value) {
    if (value.empty()) return null(key);
    string(key, value);
  }
  void boolean(std::string_view key, bool value) {
    name(key);
    out_ += value ? "true" : "false";
  }
  void integer(std::string_view key, std::int64_t value) {
    name(key);
    out_ += std::to_string(value);
  }
  void null(std::string_view key) {
    name(key);
    out_ += "null";
  }
  void element(std::string_view value) {
    separator();
    escaped(value);
  }
  void object_element() {
    separator();
    out_ += '{';
    first_ = true;
  }
  // Writes pre-validated JSON text as the value of `key`.
  void verbatim(std::string_view key, std::string_view json) {
    name(key);
    out_ += json;
  }

 private:
  void separator() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  void name(std::string_view key) {
    separator();
    out_ += '"';
    out_ += key;  // our own keys: plain ASCII
    out_ += "\":";
  }
  void open(char c) {
    out_ += c;
    first_ = true;
  }
  void close(char c) {
    out_ += c;
    first_ = false;
  }
  void escaped(std::string_view value) {
    // Header values (delivery ids, event names) are bytes, not text: a
    // sender can put anything there, and the envelope must stay valid JSON.
    if (!valid_utf8(value)) {
      json::append_string(out_, repair_utf8(value));
      return;
    }
    json::append_string(out_, value);
  }

  // Length of the valid UTF-8 sequence starting at s[i], or 0.
  static std::size_t sequence_length(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return 1;
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return 0;
    }
    if (i + n > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k) {
      if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
    }
    return n;
  }
  static bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
      const std::size_t n = sequence_length(s, i);
      if (n == 0) return false;
      i += n;
    }
    return true;
  }
  static std::string repair_utf8(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
      const std::size_t n = sequence_length(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
    }
    return out;
  }

  std::string& out_;
  bool first_ = true;
};

void write_strings(JsonWriter& w, std::string_view key, const std::vector<std::string>& items) {
  w.begin_array(key);
  for (const auto& s : items) w.element(s);
  w.end_array();
}

void write_change(JsonWriter& w, const Change& c) {
  w.optional("ref", c.ref);
  w.optional("before", c.before);
  w.optional("after", c.after);
  w.begin_array("commits");
  for (const auto& commit : c.commits) {
    w.object_element();
    w.string("sha", commit.sha);
    w.optional("time", commit.time);
    w.optional("author", commit.author);
    w.optional("title", commit.title);
    w.end_object();
  }
  w.end_array();
  if (c.number) w.integer("number", *c.number);
  else w.null("number");
  w.optional("merge_sha", c.merge_sha);
  w.optional("created_at", c.created_at);
  w.optional("merged_at", c.merged_at);
  w.optional("base_ref", c.base_ref);
  if (!c.chain.empty()) write_strings(w, "chain", c.chain);
}

void write_deployment(JsonWriter& w, const Deployment& d) {
  w.optional("id", d.id);
  w.string("environment", d.environment);
  w.optional("sha", d.sha);
  w.string("status", d.status);
  w.optional("started_at", d.started_at);
  w.optional("finished_at", d.finished_at);
  w.boolean("is_rollback", d.is_rollback);
  w.boolean("is_hotfix", d.is_hotfix);
  write_strings(w, "additional_shas", d.additional_shas);
  w.optional("commit_time", d.commit_time);
}

void write_incident(JsonWriter& w, const Incident& i) {
  w.string("id", i.id);
  w.string("status", i.status);
  w.optional("created_at", i.created_at);
  w.optional("resolved_at", i.resolved_at);
  w.optional("root_cause_sha", i.root_cause_sha);
  w.optional("severity", i.severity);
  w.optional("title", i.title);
  w.optional("environment", i.environment);
}

template <typename T, typename Write>
void write_section(JsonWriter& w, std::string_view key, const std::optional<T>& section, Write write) {
  if (!section) return;
  w.begin_object(key);
  write(w, *section);
  w.end_object();
}

}  // namespace

const char* to_string(Kind kind) {
  switch (kind) {
    case Kind::change: return "change";
    case Kind::deployment: return "deployment";
    case Kind::incident: return "incident";
    case Kind::other: return "other";
  }
  return "other";
}

std::string serialize_envelope(const Envelope& e, std::string_view raw_json) {
  while (!raw_json.empty() && (raw_json.back() == '\n' || raw_json.back() == '\r' ||
                               raw_json.back() == ' ' || raw_json.back() == '\t')) {
    raw_json.remove_suffix(1);
  }
  std::string out;
  out.reserve(raw_json.size() + 1024);
  JsonWriter w(out);
  w.begin_object();
  w.string("schema", "fourkeys.event.v1");
  w.string("id", e.id);
  w.string("source", e.source);
  w.string("source_event", e.source_event);
  w.string("kind", to_string(e.kind));
  w.string("service", e.service);
  w.optional("team", e.team);
  w.optional("repository", e.repository);
  w.string("received_at", e.received_at);
  w.string("occurred_at", e.occurred_at);
  w.string("signature", e.signature);
  write_section(w, "change", e.change, write_change);
  write_section(w, "deployment", e.deployment, write_deployment);
  write_section(w, "incident", e.incident, write_incident);
  write_strings(w, "defaults", e.defaults);
  if (!e.part_of.empty()) w.string("part_of", e.part_of);
  if (!e.delivery_path.empty()) {
    w.begin_object("delivery");
    w.string("path", e.delivery_path);
    w.begin_object("headers");
    for (const auto& [name, value] : e.delivery_headers) w.string(name, value);
    w.end_object();
    w.end_object();
  }
  // `raw` stays last: a reader can take the sender's body byte for byte as
  // the text between `"raw":` and the final `}`.
  w.verbatim("raw", raw_json.empty() ? std::string_view("null") : raw_json);
  w.end_object();
  return out;
}

std::string raw_json_text(const Envelope& e) {
  return e.raw_text.empty() ? boost::json::serialize(e.raw) : e.raw_text;
}

boost::json::value to_json(const Envelope& e) {
  json::ParseError error;
  auto v = json::parse(serialize_envelope(e, raw_json_text(e)), error);
  if (!v) throw std::logic_error("envelope text is not JSON: " + error.message);
  return std::move(*v);
}

std::string cloudevents_type(const Envelope& envelope) {
  return std::string("dev.fourkeys.") + to_string(envelope.kind) + ".v1";
}

}  // namespace fourkeys::parser

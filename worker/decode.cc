#include "worker/decode.h"

#include "common/json.h"
#include "common/time.h"
#include "worker/envelope_shape.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_stack.hpp>
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include <cmath>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

namespace fourkeys::worker {

// Generated from schemas/event.v1.schema.json (envelope_schema_text.cc.in).
extern const char* const kEnvelopeSchemaText;

namespace {

// How many violations a DecodeError names; envelope_schema_errors names all.
constexpr std::size_t kReasonViolations = 3;
// Longest property name copied into a message. Names come from the producer
// (or, under `raw`, from the sender); long or odd ones are not echoed.
constexpr std::size_t kMaxKeyInMessage = 40;

// ---- the schema -------------------------------------------------------------

struct CompiledSchema {
  boost::json::value document;  // kept alive: the schema may refer into it
  valijson::Schema schema;
};

const valijson::Schema& envelope_schema() {
  // A function-local static: built once, thread-safe (C++11 magic statics).
  static const CompiledSchema* compiled = [] {
    auto* c = new CompiledSchema;  // never freed: used until exit by any thread
    json::ParseError error;
    auto parsed = json::parse(kEnvelopeSchemaText, error);
    if (!parsed) {
      throw std::logic_error("the compiled-in envelope schema is not JSON at byte " +
                             std::to_string(error.offset) + ": " + error.message);
    }
    c->document = std::move(*parsed);
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::BoostJsonAdapter adapter(c->document);
    parser.populateSchema(adapter, c->schema);
    return c;
  }();
  return compiled->schema;
}

// The validator keeps compiled `pattern` regexes between calls; one per
// thread, as validate() fills that cache.
valijson::Validator& thread_validator() {
  static thread_local valijson::Validator validator;
  return validator;
}

// ---- messages -----------------------------------------------------------------

bool plain_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyInMessage) return false;
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Appends one path step: ".key" for plain property names, "[n]" for array
// indexes, ".*" for a name not fit to echo.
void append_key(std::string& path, std::string_view key) {
  path += '.';
  path += plain_key(key) ? key : std::string_view("*");
}

// valijson's context ("<root>", "[change]", "[commits]", "[0]") as "$.change.commits[0]".
std::string json_path(const std::vector<std::string>& context) {
  std::string path = "$";
  for (const auto& step : context) {
    if (step.size() < 2 || step.front() != '[' || step.back() != ']') continue;  // "<root>"
    const std::string_view inner = std::string_view(step).substr(1, step.size() - 2);
    if (all_digits(inner)) {
      path += step;
    } else {
      append_key(path, inner);
    }
  }
  return path;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The name quoted in a valijson message ("... 'name'."), or empty.
std::string_view quoted_name(std::string_view description) {
  const auto end = description.rfind('\'');
  if (end == std::string_view::npos || end == 0) return {};
  const auto begin = description.rfind('\'', end - 1);
  if (begin == std::string_view::npos) return {};
  return description.substr(begin + 1, end - begin - 1);
}

// One violation, rewritten short: its path and what is wrong there. Returns
// false for valijson's summary lines ("Failed to validate against ..."),
// which only repeat a more precise error reported before them.
bool violation(const valijson::ValidationResults::Error& error, std::string& path,
               std::string& what) {
  const std::string_view d = error.description;
  path = json_path(error.context);
  if (starts_with(d, "Missing required property")) {
    append_key(path, quoted_name(d));
    what = "missing";
  } else if (starts_with(d, "Object contains a property that could not be validated")) {
    append_key(path, quoted_name(d));
    what = "not allowed";
  } else if (starts_with(d, "Value type not permitted")) {
    what = "wrong type";
  } else if (starts_with(d, "Failed to match regex")) {
    what = "wrong format";
  } else if (starts_with(d, "Failed to match against any enum")) {
    what = "not one of the allowed values";
  } else if (starts_with(d, "Failed to match expected value set by 'const'")) {
    what = "not the expected value";
  } else if (starts_with(d, "String should be no fewer than")) {
    what = "too short";
  } else if (starts_with(d, "Failed to ") || starts_with(d, "Cannot validate")) {
    return false;  // a summary of the errors below it
  } else {
    what = std::string(d);
    while (!what.empty() && what.back() == '.') what.pop_back();
    if (!what.empty() && what.front() >= 'A' && what.front() <= 'Z') what.front() += 'a' - 'A';
  }
  return true;
}

// Every violation of `envelope`, as "path: what" items in report order. Two
// errors at one path (a oneOf of null and a pattern) join with " or ".
std::vector<std::string> schema_violations(const boost::json::value& envelope) {
  valijson::ValidationResults results;
  valijson::adapters::BoostJsonAdapter adapter(envelope);
  thread_validator().validate(envelope_schema(), adapter, &results);

  std::vector<std::pair<std::string, std::string>> by_path;
  valijson::ValidationResults::Error error;
  std::string path, what;
  while (results.popError(error)) {
    if (!violation(error, path, what)) continue;
    bool merged = false;
    for (auto& [p, w] : by_path) {
      if (p != path) continue;
      if (w != what && w.find(" or " + what) == std::string::npos) w += " or " + what;
      merged = true;
      break;
    }
    if (!merged) by_path.emplace_back(path, what);
  }
  std::vector<std::string> out;
  out.reserve(by_path.size());
  for (auto& [p, w] : by_path) out.push_back(p + ": " + w);
  if (out.empty()) out.emplace_back("$: does not match the schema");
  return out;
}

// The envelope whole: `raw`'s subschema is empty, so valijson checks that
// the member may be there and does not descend into the sender's body.
bool schema_valid(const boost::json::value& envelope) {
  valijson::adapters::BoostJsonAdapter adapter(envelope);
  // Without results valijson stops at the first violation.
  return thread_validator().validate(envelope_schema(), adapter, nullptr);
}

std::string not_json(const json::ParseError& error) {
  return "not JSON at byte " + std::to_string(error.offset) + ": " + error.message;
}

// ---- U+0000 -------------------------------------------------------------------

// True when the JSON text holds the escape \u0000. In valid JSON a
// backslash appears only inside strings, as the start of an escape, so
// stepping over each escape's first two bytes is exact: "\\u0000" is an
// escaped backslash followed by the letters u0000. (On text that is not
// JSON the answer only picks the path that refuses it.)
bool has_nul_escape(std::string_view text) {
  const char* p = text.data();
  const char* const end = p + text.size();
  while (p < end) {
    const void* hit = std::memchr(p, '\\', static_cast<std::size_t>(end - p));
    if (!hit) return false;
    p = static_cast<const char*>(hit);
    if (end - p >= 6 && p[1] == 'u' && p[2] == '0' && p[3] == '0' && p[4] == '0' && p[5] == '0') {
      return true;
    }
    p += 2;
  }
  return false;
}

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// The path of the first string (or property name) holding a NUL byte, for
// the error message. Only called once has_nul_escape found one.
bool find_nul(const boost::json::value& v, std::string& path) {
  if (const auto* s = v.if_string()) return has_nul(*s);
  if (const auto* o = v.if_object()) {
    for (const auto& kv : *o) {
      const std::size_t size = path.size();
      append_key(path, kv.key());
      if (has_nul(kv.key())) {
        path.insert(0, "a property name at ");
        return true;
      }
      if (find_nul(kv.value(), path)) return true;
      path.resize(size);
    }
  } else if (const auto* a = v.if_array()) {
    for (std::size_t i = 0; i < a->size(); ++i) {
      const std::size_t size = path.size();
      path += '[' + std::to_string(i) + ']';
      if (find_nul((*a)[i], path)) return true;
      path.resize(size);
    }
  }
  return false;
}

// ---- the envelope without its body ---------------------------------------------

// Builds the envelope's tree as boost::json::parser does, except for the
// top-level member "raw": the sender's body, which the schema leaves open and
// the decode stage never reads, becomes an empty object (or array) in the
// tree. Its text is still parsed, so it must be JSON with finite numbers; it
// is about two thirds of an envelope's bytes and most of its keys, which the
// full tree allocated, copied and validated for nothing.
class TreeWithoutBody {
 public:
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();
  using error_code = boost::system::error_code;
  using string_view = boost::json::string_view;

  boost::json::value_stack stack;

  void restart(boost::json::storage_ptr storage) {
    stack.reset(std::move(storage));
    depth_ = 0;
    skipping_ = 0;
    body_next_ = false;
    key_.clear();
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) { return begin(); }
  bool on_array_begin(error_code&) { return begin(); }
  bool on_object_end(std::size_t n, error_code&) {
    if (end()) stack.push_object(skipped_ ? 0 : n);
    return true;
  }
  bool on_array_end(std::size_t n, error_code&) {
    if (end()) stack.push_array(skipped_ ? 0 : n);
    return true;
  }
  bool on_key_part(string_view s, std::size_t, error_code&) {
    if (skipping_ > 0) return true;
    if (depth_ == 1) key_.append(s.data(), s.size());
    stack.push_chars(s);
    return true;
  }
  bool on_key(string_view s, std::size_t, error_code&) {
    if (skipping_ > 0) return true;
    if (depth_ == 1) {
      key_.append(s.data(), s.size());
      body_next_ = key_ == "raw";
      key_.clear();
    }
    stack.push_key(s);
    return true;
  }
  bool on_string_part(string_view s, std::size_t, error_code&) {
    if (scalar()) stack.push_chars(s);
    return true;
  }
  bool on_string(string_view s, std::size_t, error_code&) {
    if (scalar()) stack.push_string(s);
    return true;
  }
  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t i, string_view, error_code&) {
    if (scalar()) stack.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, string_view, error_code&) {
    if (scalar()) stack.push_uint64(u);
    return true;
  }
  bool on_double(double d, string_view, error_code& ec) {
    if (!std::isfinite(d)) {  // 1e400: see json::parse()
      ec = boost::json::error::exponent_overflow;
      return false;
    }
    if (scalar()) stack.push_double(d);
    return true;
  }
  bool on_bool(bool b, error_code&) {
    if (scalar()) stack.push_bool(b);
    return true;
  }
  bool on_null(error_code&) {
    if (scalar()) stack.push_null();
    return true;
  }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

 private:
  bool begin() {
    if (skipping_ > 0 || body_next_) {
      body_next_ = false;
      ++skipping_;
    } else {
      ++depth_;
    }
    return true;
  }
  // True when the container that ends goes into the tree; skipped_ then says
  // whether it is the body, which goes in empty.
  bool end() {
    if (skipping_ > 0) {
      skipped_ = true;
      return --skipping_ == 0;
    }
    skipped_ = false;
    --depth_;
    return true;
  }
  // True when a scalar goes into the tree (a scalar body does, as it is).
  bool scalar() {
    body_next_ = false;
    return skipping_ == 0;
  }

  int depth_ = 0;         // containers open in the tree (1: inside the envelope)
  int skipping_ = 0;      // containers open inside the body
  bool skipped_ = false;  // the container just ended was the body
  bool body_next_ = false;
  std::string key_;       // an envelope member's name, when it comes in parts
};

// The envelope's tree without its body (TreeWithoutBody), in `arena`;
// nullopt when the text is not one JSON value, the caller then parses it
// whole for the message.
std::optional<boost::json::value> parse_without_body(std::string_view text, boost::json::storage_ptr arena) {
  static thread_local boost::json::basic_parser<TreeWithoutBody> parser(json::parse_options(json::Nesting::envelope));
  parser.reset();
  parser.handler().restart(std::move(arena));
  boost::system::error_code ec;
  const std::size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
  json::ParseError error;
  if (!json::complete_value(text, consumed, ec, error)) return std::nullopt;
  return parser.handler().stack.release();
}

// ---- reading the validated envelope -----------------------------------------

// Read only after validation, so the shape is known; still, every accessor
// tolerates a missing or mistyped value rather than throwing.
class Reader {
 public:
  // A string member, or empty when null or absent.
  static std::string_view text(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    const auto* s = v ? v->if_string() : nullptr;
    return s ? std::string_view(*s) : std::string_view();
  }

  static std::string string(const boost::json::object& o, std::string_view key) {
    return std::string(text(o, key));
  }

  static bool boolean(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_bool() && v->get_bool();
  }

  static const boost::json::object* object(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v ? v->if_object() : nullptr;
  }

  static const boost::json::array* array(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v ? v->if_array() : nullptr;
  }

  // The time at `key` (a path for messages in `where`); nullopt when null.
  // Sets `error_` when the text has the schema's shape but is not a time
  // (month 13).
  std::optional<Millis> optional_time(const boost::json::object& o, std::string_view key,
                                      std::string_view where) {
    const std::string_view t = text(o, key);
    if (t.empty()) return std::nullopt;
    if (auto parsed = parse_time(t)) return parsed->millis;
    if (error_.empty()) error_ = "$." + std::string(where) + ": not a valid time";
    return std::nullopt;
  }

  Millis time(const boost::json::object& o, std::string_view key, std::string_view where) {
    auto t = optional_time(o, key, where);
    if (!t && error_.empty()) error_ = "$." + std::string(where) + ": missing";
    return t.value_or(0);
  }

  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

void read_change(const boost::json::object& change, DecodedEvent& e, Reader& r) {
  const auto* commits = Reader::array(change, "commits");
  const bool has_commits = commits && !commits->empty();
  // A push the service map split by service: the chain is the push's own
  // order of commits, for linking; `commits` only this service's changes.
  const auto* chain = Reader::array(change, "chain");
  const bool has_chain = chain && !chain->empty();
  if (has_commits || has_chain || !Reader::text(change, "after").empty()) {
    PushRow push;
    push.event_id = e.id;
    push.repository = e.repository;
    push.ref = Reader::string(change, "ref");
    push.before = Reader::string(change, "before");
    push.after = Reader::string(change, "after");
    push.time_created = e.occurred_at;
    if (has_commits) {
      push.commit_shas.reserve(commits->size());
      e.changes.reserve(commits->size());
      std::string where;
      for (std::size_t i = 0; i < commits->size(); ++i) {
        const auto* commit = (*commits)[i].if_object();
        if (!commit) continue;
        ChangeRow row;
        row.change_id = Reader::string(*commit, "sha");
        where = "change.commits[" + std::to_string(i) + "].time";
        row.time_created = r.optional_time(*commit, "time", where).value_or(e.occurred_at);
        row.source = e.source;
        row.event_type = e.source_event;
        row.event_id = e.id;
        row.repository = e.repository;
        row.author = Reader::string(*commit, "author");
        row.title = Reader::string(*commit, "title");
        if (!has_chain) push.commit_shas.push_back(row.change_id);
        e.changes.push_back(std::move(row));
      }
    }
    if (has_chain) {
      push.commit_shas.reserve(chain->size());
      for (const auto& sha : *chain) {
        if (const auto* text = sha.if_string()) push.commit_shas.emplace_back(text->data(), text->size());
      }
    }
    e.push = std::move(push);
    return;
  }
  const std::string_view merge_sha = Reader::text(change, "merge_sha");
  if (merge_sha.empty()) return;  // neither a push nor a merge: common fields only
  ChangeRow row;
  row.change_id = std::string(merge_sha);
  row.time_created = r.optional_time(change, "merged_at", "change.merged_at").value_or(e.occurred_at);
  row.source = e.source;
  row.event_type = e.source_event;
  row.event_id = e.id;
  row.repository = e.repository;
  e.changes.push_back(std::move(row));
}

void read_deployment(const boost::json::object& d, DecodedEvent& e, Reader& r) {
  DeploymentEventRow row;
  row.event_id = e.id;
  row.source = e.source;
  row.event_type = e.source_event;
  row.environment = Reader::string(d, "environment");
  const std::string_view id = Reader::text(d, "id");
  if (id.empty()) {
    row.deploy_id = e.id;  // already "<source>:..."
  } else {
    row.deploy_id.reserve(e.source.size() + 1 + id.size());
    row.deploy_id.append(e.source).append(1, ':').append(id);
  }
  row.sha = Reader::string(d, "sha");
  row.status = Reader::string(d, "status");
  row.started_at = r.optional_time(d, "started_at", "deployment.started_at");
  row.finished_at = r.optional_time(d, "finished_at", "deployment.finished_at");
  row.time_created = e.occurred_at;
  row.is_rollback = Reader::boolean(d, "is_rollback");
  row.is_hotfix = Reader::boolean(d, "is_hotfix");
  if (const auto* shas = Reader::array(d, "additional_shas")) {
    row.additional_shas.reserve(shas->size());
    for (const auto& sha : *shas) {
      if (const auto* s = sha.if_string()) row.additional_shas.emplace_back(*s);
    }
  }
  row.commit_time = r.optional_time(d, "commit_time", "deployment.commit_time");
  row.repository = e.repository;
  e.environment = row.environment;
  e.deployment = std::move(row);
}

void read_incident(const boost::json::object& i, DecodedEvent& e, Reader& r) {
  IncidentEventRow row;
  row.event_id = e.id;
  row.source = e.source;
  row.event_type = e.source_event;
  row.incident_id = Reader::string(i, "id");
  row.status = Reader::string(i, "status");
  row.created_at = r.optional_time(i, "created_at", "incident.created_at");
  row.resolved_at = r.optional_time(i, "resolved_at", "incident.resolved_at");
  row.time_created = e.occurred_at;
  row.root_cause_sha = Reader::string(i, "root_cause_sha");
  row.severity = Reader::string(i, "severity");
  row.title = Reader::string(i, "title");
  row.environment = Reader::string(i, "environment");
  if (row.environment.empty()) row.environment = "production";
  e.environment = row.environment;
  e.incident = std::move(row);
}

DecodeResult decode_value(const boost::json::value& value) {
  const auto* root = value.if_object();
  if (!root) return DecodeError{"not an envelope: $: wrong type"};

  DecodedEvent e;
  Reader r;
  e.id = Reader::string(*root, "id");
  e.source = Reader::string(*root, "source");
  e.source_event = Reader::string(*root, "source_event");
  e.kind = Reader::string(*root, "kind");
  e.service = Reader::string(*root, "service");
  e.team = Reader::string(*root, "team");
  e.repository = Reader::string(*root, "repository");
  e.signature = Reader::string(*root, "signature");
  e.occurred_at = r.time(*root, "occurred_at", "occurred_at");
  e.received_at = r.time(*root, "received_at", "received_at");

  if (e.kind == "change") {
    if (const auto* change = Reader::object(*root, "change")) read_change(*change, e, r);
  } else if (e.kind == "deployment") {
    if (const auto* d = Reader::object(*root, "deployment")) read_deployment(*d, e, r);
  } else if (e.kind == "incident") {
    if (const auto* i = Reader::object(*root, "incident")) read_incident(*i, e, r);
  }
  if (!r.error().empty()) return DecodeError{"not an envelope: " + r.error()};
  return e;
}

// Decodes from the whole tree, body included, saying exactly what is wrong
// (the JSON error, the path of a U+0000, every schema violation).
DecodeResult decode_whole(std::string_view text) {
  json::ParseError parse_error;
  const auto value = json::parse(text, parse_error, json::Nesting::envelope);
  if (!value) return DecodeError{not_json(parse_error)};

  if (has_nul_escape(text)) {
    std::string path = "$";
    if (!find_nul(*value, path)) path = "a string";
    return DecodeError{path + " contains U+0000, which Postgres cannot store"};
  }

  if (!schema_valid(*value)) {
    const auto violations = schema_violations(*value);
    std::string reason = "not an envelope (schema event.v1): ";
    for (std::size_t i = 0; i < violations.size() && i < kReasonViolations; ++i) {
      if (i > 0) reason += "; ";
      reason += violations[i];
    }
    if (violations.size() > kReasonViolations) {
      reason += "; and " + std::to_string(violations.size() - kReasonViolations) + " more";
    }
    return DecodeError{std::move(reason)};
  }
  return decode_value(*value);
}

}  // namespace

DecodeResult decode_envelope(std::string_view text) {
  try {
    // The common case, a good envelope, from the tree without its body, in
    // an arena on this thread's stack of buffers (it spills to the heap when
    // the envelope's own members need more), checked by the schema's rules
    // written out (envelope_shape.h). Anything wrong is decoded again from
    // the whole tree with valijson, which says exactly what.
    alignas(16) static thread_local unsigned char buffer[32 * 1024];
    boost::json::monotonic_resource arena(buffer, sizeof buffer);
    if (!has_nul_escape(text)) {
      if (auto value = parse_without_body(text, &arena); value && has_envelope_shape(*value)) {
        DecodeResult result = decode_value(*value);
        if (std::holds_alternative<DecodedEvent>(result)) return result;
      }
    }
    return decode_whole(text);
  } catch (const std::exception& ex) {
    // Not expected (allocation failure, a valijson internal error); the
    // contract is that bad input never throws.
    return DecodeError{std::string("cannot decode: ") + ex.what()};
  }
}

DecodeResult decode_envelope_whole(std::string_view text) {
  try {
    return decode_whole(text);
  } catch (const std::exception& ex) {
    return DecodeError{std::string("cannot decode: ") + ex.what()};
  }
}

std::string envelope_schema_errors(std::string_view text) {
  json::ParseError parse_error;
  const auto value = json::parse(text, parse_error, json::Nesting::envelope);
  if (!value) return not_json(parse_error);
  if (schema_valid(*value)) return {};
  std::string out;
  for (const auto& v : schema_violations(*value)) {
    if (!out.empty()) out += '\n';
    out += v;
  }
  return out;
}

}  // namespace fourkeys::worker

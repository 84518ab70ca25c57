#include "common/json.h"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/serializer.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace fourkeys::json {

namespace {
// JSON has no Infinity: a literal too large for a double (1e400) parses as
// one, and would serialize to text that is not JSON. Refuse it at the door.
bool all_finite(const boost::json::value& v) {
  if (v.is_double()) return std::isfinite(v.get_double());
  if (const auto* o = v.if_object()) {
    for (const auto& kv : *o) {
      if (!all_finite(kv.value())) return false;
    }
  } else if (const auto* a = v.if_array()) {
    for (const auto& item : *a) {
      if (!all_finite(item)) return false;
    }
  }
  return true;
}
}  // namespace

boost::json::parse_options parse_options(Nesting nesting) {
  boost::json::parse_options options;
  options.max_depth = nesting == Nesting::body ? 64 : 65;
  return options;
}

bool complete_value(std::string_view text, std::size_t consumed, const boost::system::error_code& ec,
                    ParseError& error) {
  if (!ec && consumed < text.size()) {
    std::size_t i = consumed;
    while (i < text.size() &&
           (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) {
      ++i;
    }
    if (i < text.size()) {
      error = {i, "unexpected data after the JSON value"};
      return false;
    }
  }
  if (ec) {
    error = {consumed, ec.message()};
    if (consumed >= text.size()) error.message = "the body ends before the JSON value is complete";
    return false;
  }
  return true;
}

ParseError number_too_large() { return {0, "a number is too large to represent"}; }

std::optional<boost::json::value> parse(std::string_view text, ParseError& error, Nesting nesting) {
  // One parser per thread and limit keeps its working stack between documents.
  static thread_local boost::json::parser body_parser({}, parse_options(Nesting::body));
  static thread_local boost::json::parser envelope_parser({}, parse_options(Nesting::envelope));
  boost::json::parser& p = nesting == Nesting::body ? body_parser : envelope_parser;
  // One arena per document: a body's many small strings and objects cost one
  // allocation and one release instead of one each.
  p.reset(boost::json::make_shared_resource<boost::json::monotonic_resource>(text.size() * 2 + 1024));
  boost::system::error_code ec;
  const std::size_t consumed = p.write_some(text.data(), text.size(), ec);
  if (!complete_value(text, consumed, ec, error)) return std::nullopt;
  auto value = p.release();
  if (!all_finite(value)) {
    error = number_too_large();
    return std::nullopt;
  }
  return value;
}

void append_string(std::string& out, std::string_view text) {
  // A serializer keeps a working stack: one per thread, reset per string.
  static thread_local boost::json::serializer serializer;
  serializer.reset(boost::json::string_view(text.data(), text.size()));
  char buffer[512];
  while (!serializer.done()) {
    const auto part = serializer.read(buffer);
    out.append(part.data(), part.size());
  }
}

const boost::json::value* find(const boost::json::value& v,
                               std::initializer_list<std::string_view> path) {
  const boost::json::value* cur = &v;
  for (std::string_view key : path) {
    const auto* obj = cur->if_object();
    if (!obj) return nullptr;
    cur = obj->if_contains(key);
    if (!cur) return nullptr;
  }
  return cur;
}

std::optional<std::string> get_string(const boost::json::value& v,
                                      std::initializer_list<std::string_view> path) {
  const auto* found = find(v, path);
  if (!found || !found->is_string()) return std::nullopt;
  return std::string(found->get_string());
}

std::string get_id(const boost::json::value& v, std::initializer_list<std::string_view> path) {
  const auto* found = find(v, path);
  if (!found) return {};
  if (found->is_string()) return std::string(found->get_string());
  if (found->is_int64()) return std::to_string(found->get_int64());
  if (found->is_uint64()) return std::to_string(found->get_uint64());
  return {};
}

std::optional<std::int64_t> get_int(const boost::json::value& v,
                                    std::initializer_list<std::string_view> path) {
  const auto* found = find(v, path);
  if (!found) return std::nullopt;
  if (found->is_int64()) return found->get_int64();
  if (found->is_uint64() && found->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(found->get_uint64());
  }
  return std::nullopt;
}

bool get_bool(const boost::json::value& v, std::initializer_list<std::string_view> path) {
  const auto* found = find(v, path);
  return found && found->is_bool() && found->get_bool();
}

namespace {
void write_canonical(const boost::json::value& v, std::string& out) {
  if (const auto* obj = v.if_object()) {
    std::vector<const boost::json::key_value_pair*> items;
    items.reserve(obj->size());
    for (const auto& kv : *obj) items.push_back(&kv);
    std::sort(items.begin(), items.end(),
              [](const auto* a, const auto* b) { return a->key() < b->key(); });
    out += '{';
    bool first = true;
    for (const auto* kv : items) {
      if (!first) out += ',';
      first = false;
      out += boost::json::serialize(boost::json::value(kv->key()));
      out += ':';
      write_canonical(kv->value(), out);
    }
    out += '}';
  } else if (const auto* arr = v.if_array()) {
    out += '[';
    bool first = true;
    for (const auto& item : *arr) {
      if (!first) out += ',';
      first = false;
      write_canonical(item, out);
    }
    out += ']';
  } else {
    out += boost::json::serialize(v);
  }
}
}  // namespace

std::string canonical(const boost::json::value& v) {
  std::string out;
  write_canonical(v, out);
  return out;
}

}  // namespace fourkeys::json

// Request reading and outcome invariants shared by the fuzz targets (see
// fuzz_support.h).
#include "tests/fuzz/fuzz_support.h"

#include "common/crypto.h"
#include "parser/envelope.h"
#include "worker/decode.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <variant>

namespace fourkeys::fuzz {

namespace {

bool token_char(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool http_field(std::string_view name, std::string_view value) {
  if (name == ":path") return true;
  if (name.empty()) return false;
  for (const char c : name) {
    if (!token_char(static_cast<unsigned char>(c))) return false;
  }
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

}  // namespace

Request read_request(const std::uint8_t* data, std::size_t size, std::string_view default_path) {
  std::string_view text = as_text(data, size);
  Request request;
  request.path = std::string(default_path);
  const std::size_t blank = text.find("\n\n");
  std::string_view head;
  if (text.rfind("\n", 0) == 0) {
    text.remove_prefix(1);  // an empty header block
  } else if (blank != std::string_view::npos) {
    head = text.substr(0, blank);
    text.remove_prefix(blank + 2);
  }
  while (!head.empty()) {
    const std::size_t end = head.find('\n');
    std::string_view line = head.substr(0, end);
    head = end == std::string_view::npos ? std::string_view{} : head.substr(end + 1);
    const std::size_t colon = line.find(':', 1);  // from 1: `:path` starts with one
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    // Only what an HTTP parser (Beast) hands the receiver: a token for the
    // name, no control characters but HTAB in the value, which comes without
    // the blanks around it. Anything else never reaches a normalizer.
    if (!http_field(name, value)) continue;
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (name == ":path") {
      request.path = std::string(value);
    } else {
      request.headers.add(std::string(name), std::string(value));
    }
  }
  request.body = std::string(text);
  return request;
}

void fail(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "fuzz invariant broken: %.*s\n", static_cast<int>(what.size()), what.data());
  if (!detail.empty()) {
    // Bounded: the detail may quote a large envelope.
    const int shown = static_cast<int>(detail.size() < 4000 ? detail.size() : 4000);
    std::fprintf(stderr, "%.*s\n", shown, detail.data());
  }
  std::abort();
}

namespace {

// Published envelopes are written here when set (see check_outcome).
const char* envelope_dir() {
  static const char* dir = std::getenv("FOURKEYS_FUZZ_ENVELOPE_DIR");
  return dir;
}

void keep_envelope(const std::string& text) {
  const std::string path = std::string(envelope_dir()) + "/" + sha1_hex(text);
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace

void check_outcome(const parser::Outcome& outcome, std::string_view source) {
  if (outcome.disposition != parser::Disposition::publish) {
    check(!outcome.reason.empty(), "an outcome other than publish gives no reason");
    return;
  }
  const parser::Envelope& env = outcome.envelope;
  check(env.source == source, "published envelope from another source", env.source);
  check(env.id.rfind(std::string(source) + ":", 0) == 0, "envelope id without the source prefix", env.id);

  // The envelope as the receiver puts it on Kafka: `raw` written from the
  // text the normalizer kept, or else from the parsed tree.
  const std::string raw_text = env.raw_text.empty() ? boost::json::serialize(env.raw) : env.raw_text;
  const std::string text = parser::serialize_envelope(env, raw_text);

  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(text, ec);
  check(!ec, "serialize_envelope wrote text that is not JSON", text);

  // The hand-written serializer and to_json must say the same, apart from
  // `raw` (to_json writes the tree, which may be left null when the text is kept).
  boost::json::value expected = parser::to_json(env);
  check(parsed.is_object() && expected.is_object(), "an envelope that is not a JSON object", text);
  parsed.as_object().erase("raw");
  expected.as_object().erase("raw");
  check(parsed == expected, "serialize_envelope and to_json disagree",
        boost::json::serialize(parsed) + "\nto_json:\n" + boost::json::serialize(expected));

  // The worker must take it. The one refusal allowed is a string holding
  // U+0000, which the decoder turns away on purpose (Postgres cannot store
  // it) and a sender can always put in its JSON.
  const worker::DecodeResult decoded = worker::decode_envelope(text);
  if (const auto* error = std::get_if<worker::DecodeError>(&decoded)) {
    check(error->reason.find("U+0000") != std::string::npos, "the worker refuses a published envelope",
          error->reason + "\n" + text);
  }

  if (envelope_dir() != nullptr) keep_envelope(text);
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequal(text.substr(0, prefix.size()), prefix);
}

std::string replace_all(std::string text, std::string_view placeholder, std::string_view value) {
  std::size_t at = 0;
  while ((at = text.find(placeholder, at)) != std::string::npos) {
    text.replace(at, placeholder.size(), value);
    at += value.size();
  }
  return text;
}

const parser::NormalizeOptions& fixed_options() {
  static const parser::NormalizeOptions options = [] {
    parser::NormalizeOptions made;
    made.received_at_millis = 1700000000000;
    made.deploy_workflows = parser::parse_deploy_workflows("Deploy production=production,Octocoders-linter=staging,CI");
    return made;
  }();
  return options;
}

}  // namespace fourkeys::fuzz

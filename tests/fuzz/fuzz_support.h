// Shared by the fuzz targets in this folder: how an input becomes a request
// (headers and body), the invariants every normalizer's outcome must keep,
// and a failure that libFuzzer and the replay program both report as a crash.
#pragma once

#include "parser/delivery.h"
#include "parser/source.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// The entry point each target defines; libFuzzer calls it, and so does
// replay_main.cc in the normal build.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace fourkeys::fuzz {

// An input read as a small HTTP request: lines `Name: value` up to the first
// empty line are header fields (a `:path` field sets the path), the rest is
// the body. Without an empty line the whole input is the body. Fields an
// HTTP parser would refuse (control characters) are left out. This lets one
// input choose the headers a normalizer branches on (event name, content
// type, CloudEvents attributes) while most bytes go to the body, and keeps
// regression inputs readable.
struct Request {
  parser::Headers headers;
  std::string path;
  std::string body;
};
Request read_request(const std::uint8_t* data, std::size_t size, std::string_view default_path);

// The input as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Reports a broken invariant and aborts, so that libFuzzer keeps the input
// and the replay test fails.
[[noreturn]] void fail(std::string_view what, std::string_view detail = {});
inline void check(bool condition, std::string_view what, std::string_view detail = {}) {
  if (!condition) fail(what, detail);
}

// What every normalize outcome must satisfy:
//  - a published envelope is from `source`, serializes (serialize_envelope,
//    as the receiver writes it to Kafka) to JSON that agrees with to_json and
//    that the worker's decoder accepts: what the receiver answers 202 for
//    must be an envelope the worker can store;
//  - any other outcome says why (the reason goes into the answer).
// With FOURKEYS_FUZZ_ENVELOPE_DIR set, each published envelope's text is
// also written there (scripts/fuzz seeds the decoder's corpus this way).
void check_outcome(const parser::Outcome& outcome, std::string_view source);

// ASCII case-insensitive equality and prefix test, for oracles.
bool iequal(std::string_view a, std::string_view b);
bool istarts_with(std::string_view text, std::string_view prefix);

// Replaces every `placeholder` in `text` with `value`.
std::string replace_all(std::string text, std::string_view placeholder, std::string_view value);

// The normalizers' options for every target: a fixed clock (the same input
// gives the same envelope) and the fixtures' deploy workflow names, so that
// GitHub's workflow_run / check_run deployments are reached.
const parser::NormalizeOptions& fixed_options();

}  // namespace fourkeys::fuzz

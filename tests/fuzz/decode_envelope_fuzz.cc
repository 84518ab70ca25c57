// Fuzz target: the worker's envelope decoder (worker/decode.h) on any Kafka
// message value. It must never throw, and never get as far as its own
// last-resort catch ("cannot decode: ..."), which is there only for
// allocation failures; a decoded event must have the fields later stages rely
// on, with only its kind's family filled. The seeds are the envelopes the
// normalizer targets publish for the shared fixtures (scripts/fuzz). Every
// input that is JSON is also judged by the schema's rules written out
// (worker/envelope_shape.h) and by valijson: the two must agree.
#include "common/json.h"
#include "tests/fuzz/fuzz_support.h"
#include "worker/decode.h"
#include "worker/envelope_shape.h"

#include <variant>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fourkeys;
  const std::string_view text = fuzz::as_text(data, size);
  const worker::DecodeResult result = worker::decode_envelope(text);
  // (Text holding U+0000 never reaches the rules: decode refuses it first.
  // valijson reads strings only up to a NUL, so the two may differ there.)
  json::ParseError parse_error;
  const bool has_nul = text.find("\\u0000") != std::string_view::npos;
  if (const auto tree = has_nul ? std::nullopt : json::parse(text, parse_error, json::Nesting::envelope)) {
    const bool by_rules = worker::has_envelope_shape(*tree);
    const std::string by_schema = worker::envelope_schema_errors(text);
    fuzz::check(by_rules == by_schema.empty(), "the written-out rules and valijson disagree", text);
  }
  if (const auto* error = std::get_if<worker::DecodeError>(&result)) {
    fuzz::check(!error->reason.empty(), "a decode error without a reason");
    fuzz::check(error->reason.rfind("cannot decode:", 0) != 0, "the decoder threw", error->reason);
    return 0;
  }
  const auto& e = std::get<worker::DecodedEvent>(result);
  fuzz::check(!e.id.empty() && !e.source.empty() && !e.service.empty() && !e.signature.empty(),
              "a decoded event without id, source, service or signature", text);
  fuzz::check(e.kind == "change" || e.kind == "deployment" || e.kind == "incident" || e.kind == "other",
              "a decoded event of an unknown kind", e.kind);
  fuzz::check(e.deployment.has_value() == (e.kind == "deployment"), "deployment row and kind disagree", text);
  fuzz::check(e.incident.has_value() == (e.kind == "incident"), "incident row and kind disagree", text);
  fuzz::check(e.kind == "change" || (!e.push && e.changes.empty()), "change rows on another kind", text);
  return 0;
}

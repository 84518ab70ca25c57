// Fuzz target: normalize_cdevents (parser/cdevents) on any request. The seeds cover binary mode
// (ce-* headers), structured mode and bare CDEvents.
// The outcome must keep the invariants of fuzz::check_outcome; normalize must
// not throw (an escaping exception is a crash here).
#include "parser/cdevents/cdevents_source.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fourkeys;
  const fuzz::Request request = fuzz::read_request(data, size, "/webhooks/cdevents");
  const parser::Delivery delivery{request.path, request.headers, request.body};
  fuzz::check_outcome(parser::normalize_cdevents(delivery, fuzz::fixed_options()), "cdevents");
  return 0;
}

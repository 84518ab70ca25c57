// Fuzz target: normalize_pagerduty (parser/pagerduty) on any request. The seeds are v2 and v3
// bodies, some with X-Webhook-Id.
// The outcome must keep the invariants of fuzz::check_outcome; normalize must
// not throw (an escaping exception is a crash here).
#include "parser/pagerduty/pagerduty_source.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fourkeys;
  const fuzz::Request request = fuzz::read_request(data, size, "/webhooks/pagerduty");
  const parser::Delivery delivery{request.path, request.headers, request.body};
  fuzz::check_outcome(parser::normalize_pagerduty(delivery, fuzz::fixed_options()), "pagerduty");
  return 0;
}

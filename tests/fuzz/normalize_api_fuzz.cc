// Fuzz target: normalize_api (parser/api) on any request. A `:path` line chooses the route
// (/events/deployment, /events/incident, /deployments).
// The outcome must keep the invariants of fuzz::check_outcome; normalize must
// not throw (an escaping exception is a crash here).
#include "parser/api/api_source.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fourkeys;
  const fuzz::Request request = fuzz::read_request(data, size, "/events/deployment");
  const parser::Delivery delivery{request.path, request.headers, request.body};
  fuzz::check_outcome(parser::normalize_api(delivery, fuzz::fixed_options()), "api");
  return 0;
}

// Fuzz target: normalize_github (parser/github) on any request. The seeds set X-GitHub-Event and,
// for form deliveries, Content-Type.
// The outcome must keep the invariants of fuzz::check_outcome; normalize must
// not throw (an escaping exception is a crash here).
#include "parser/github/github_source.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fourkeys;
  const fuzz::Request request = fuzz::read_request(data, size, "/webhooks/github");
  const parser::Delivery delivery{request.path, request.headers, request.body};
  fuzz::check_outcome(parser::normalize_github(delivery, fuzz::fixed_options()), "github");
  return 0;
}

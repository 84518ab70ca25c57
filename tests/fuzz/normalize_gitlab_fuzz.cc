// Fuzz target: normalize_gitlab (parser/gitlab) on any request. The seeds set X-Gitlab-Event.
// The outcome must keep the invariants of fuzz::check_outcome; normalize must
// not throw (an escaping exception is a crash here).
#include "parser/gitlab/gitlab_source.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fourkeys;
  const fuzz::Request request = fuzz::read_request(data, size, "/webhooks/gitlab");
  const parser::Delivery delivery{request.path, request.headers, request.body};
  fuzz::check_outcome(parser::normalize_gitlab(delivery, fuzz::fixed_options()), "gitlab");
  return 0;
}

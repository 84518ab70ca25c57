// Fuzz target: normalize_github (parser/github) on any request. The seeds set X-GitHub-Event and,
// for form deliveries, Content-Type.
// The outcome must keep the invariants of fuzz::check_outcome; normalize must
// not throw (an escaping exception is a crash here).
#include "parser/github/github_source.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

const fourkeys::parser::NormalizeOptions& options() {
  static const fourkeys::parser::NormalizeOptions o = [] {
    fourkeys::parser::NormalizeOptions made;
    made.received_at_millis = 1700000000000;  // fixed: the same input gives the same envelope
    // Names from the fixtures, so that workflow_run / check_run deployments are reached.
    made.deploy_workflows = fourkeys::parser::parse_deploy_workflows(
        "Deploy production=production,Octocoders-linter=staging,CI");
    return made;
  }();
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fourkeys;
  const fuzz::Request request = fuzz::read_request(data, size, "/webhooks/github");
  const parser::Delivery delivery{request.path, request.headers, request.body};
  fuzz::check_outcome(parser::normalize_github(delivery, options()), "github");
  return 0;
}

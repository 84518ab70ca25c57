#include "parser/api/api_test_support.h"

#include <algorithm>
#include <catch2/catch.hpp>

#include "tests/support/schema_check.h"

namespace fourkeys::parser::api_test {

Outcome post(const std::string& path, const std::string& body, const std::string& content_type) {
  Headers headers;
  if (!content_type.empty()) headers.add("Content-Type", content_type);
  headers.add("Authorization", "Bearer t0ken");
  NormalizeOptions options;
  options.received_at_millis = 1700000000000;
  return normalize_api(Delivery{path, headers, body}, options);
}

Envelope post_published(const std::string& path, const std::string& body,
                        const std::string& content_type) {
  Outcome out = post(path, body, content_type);
  INFO(out.reason);
  REQUIRE(out.disposition == Disposition::publish);
  CHECK(out.source_event == out.envelope.source_event);
  CHECK(testing::schema_errors(to_json(out.envelope)).empty());
  return std::move(out.envelope);
}

bool has_default(const Envelope& env, const std::string& name) {
  return std::find(env.defaults.begin(), env.defaults.end(), name) != env.defaults.end();
}

}  // namespace fourkeys::parser::api_test

// Fuzz target: `Authorization: Bearer <token>` (parser/bearer_auth.h, used by
// the API and CDEvents routes). The input is the header value (`$TOKEN`
// becomes the second configured token, so accepting paths are reached); an
// empty input means no header. Oracle: accepted exactly when the value is
// `Bearer ` (scheme in any case) and then, spaces trimmed, a configured token.
#include "parser/bearer_auth.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace fourkeys;

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const SecretSet tokens{{"old-token", "t0ken-2024"}, "fuzz"};

  const std::string value = fuzz::replace_all(std::string(fuzz::as_text(data, size)), "$TOKEN", tokens.values[1]);
  parser::Headers headers;
  if (!value.empty()) headers.add("Authorization", value);

  bool expected = false;
  if (fuzz::istarts_with(value, "Bearer ")) {
    const std::string_view token = trim_spaces(std::string_view(value).substr(7));
    for (const auto& t : tokens.values) expected |= token == t;
  }
  const parser::AuthResult result = parser::check_bearer(headers, tokens, "FOURKEYS_API_TOKEN");
  fuzz::check(result.ok() == expected, "bearer decision differs from the oracle", value);
  fuzz::check(result.ok() || !result.message.empty(), "a refusal without a message");
  for (const auto& t : tokens.values) {
    fuzz::check(result.message.find(t) == std::string::npos, "a message shows a token");
  }
  return 0;
}

#include "parser/bearer_auth.h"

#include "common/crypto.h"

namespace fourkeys::parser {

AuthResult check_bearer(const Headers& headers, const SecretSet& tokens, std::string_view setting) {
  if (tokens.empty()) {
    return {AuthStatus::not_configured,
            "this source is not configured: set " + std::string(setting) + " (or " +
                std::string(setting) + "_FILE)"};
  }
  std::string_view auth = headers.get("Authorization");
  if (auth.empty()) return {AuthStatus::missing, "missing Authorization: Bearer <token> header"};
  if (auth.size() < 7 || !iequals(auth.substr(0, 7), "Bearer ")) {
    return {AuthStatus::missing, "the Authorization header is not a Bearer token"};
  }
  std::string_view token = auth.substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  bool match = false;
  // Check every configured token so the time taken does not say which matched.
  for (const auto& t : tokens.values) match |= constant_time_equal(token, t);
  if (!match) return {AuthStatus::mismatch, "the bearer token does not match"};
  return {};
}

}  // namespace fourkeys::parser

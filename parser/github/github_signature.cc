#include "parser/github/github_signature.h"

#include "common/crypto.h"

#include <string>

namespace fourkeys::parser {
namespace {

constexpr std::string_view kSecretSetting = "FOURKEYS_GITHUB_SECRET";
constexpr std::string_view kAllowSha1Setting = "FOURKEYS_GITHUB_ALLOW_SHA1";

// Strips `<algorithm>=` (GitHub writes it lowercase; any case is read).
// Empty when the value has another form.
std::string_view signature_hex(std::string_view header_value, std::string_view algorithm) {
  const std::size_t prefix = algorithm.size() + 1;
  if (header_value.size() <= prefix || !iequals(header_value.substr(0, algorithm.size()), algorithm) ||
      header_value[algorithm.size()] != '=') {
    return {};
  }
  std::string_view hex = header_value.substr(prefix);
  while (!hex.empty() && (hex.back() == ' ' || hex.back() == '\t')) hex.remove_suffix(1);
  return hex;
}

bool matches_any(std::string_view hex, std::string_view body, const std::vector<HmacKey>& keys) {
  bool match = false;
  // No early exit: every secret costs the same whether or not one matched.
  for (const auto& key : keys) match |= constant_time_equal_hex(hex, key.hex(body));
  return match;
}

std::vector<HmacKey> prepared(HmacKey::Digest digest, const SecretSet& secrets) {
  std::vector<HmacKey> keys;
  keys.reserve(secrets.values.size());
  for (const auto& secret : secrets.values) keys.emplace_back(digest, secret);
  return keys;
}

}  // namespace

GithubKeys::GithubKeys(const SecretSet& secrets)
    : sha256(prepared(HmacKey::Digest::sha256, secrets)), sha1(prepared(HmacKey::Digest::sha1, secrets)) {}

AuthResult check_github_signature(const Headers& headers, std::string_view body, const GithubKeys& keys,
                                  bool allow_sha1) {
  if (keys.sha256.empty()) {
    return {AuthStatus::not_configured,
            "the github source is not configured: set " + std::string(kSecretSetting) + " (or " +
                std::string(kSecretSetting) + "_FILE)"};
  }

  if (headers.has("X-Hub-Signature-256")) {
    const std::string_view hex = signature_hex(headers.get("X-Hub-Signature-256"), "sha256");
    if (hex.empty()) return {AuthStatus::mismatch, "X-Hub-Signature-256 is not of the form sha256=<hex>"};
    if (!matches_any(hex, body, keys.sha256)) {
      return {AuthStatus::mismatch,
              "X-Hub-Signature-256 does not match the body for any configured secret"};
    }
    return {};
  }

  if (!headers.has("X-Hub-Signature")) {
    return {AuthStatus::missing, "missing X-Hub-Signature-256 header"};
  }
  if (!allow_sha1) {
    return {AuthStatus::missing,
            "missing X-Hub-Signature-256 header; the legacy X-Hub-Signature (SHA-1) is accepted "
            "only when " + std::string(kAllowSha1Setting) + " is on"};
  }
  const std::string_view hex = signature_hex(headers.get("X-Hub-Signature"), "sha1");
  if (hex.empty()) return {AuthStatus::mismatch, "X-Hub-Signature is not of the form sha1=<hex>"};
  if (!matches_any(hex, body, keys.sha1)) {
    return {AuthStatus::mismatch, "X-Hub-Signature does not match the body for any configured secret"};
  }
  return {};
}

}  // namespace fourkeys::parser

#include "parser/pagerduty/pagerduty_signature.h"

#include "common/crypto.h"

namespace fourkeys::parser {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<std::string> pagerduty_v1_signatures(std::string_view header) {
  std::vector<std::string> out;
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view entry = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    if (entry.size() > 3 && iequals(entry.substr(0, 3), "v1=")) {
      out.emplace_back(trim(entry.substr(3)));
    }
  }
  return out;
}

AuthResult check_pagerduty_signature(std::string_view header, std::string_view body,
                                     const SecretSet& secrets) {
  if (secrets.empty()) {
    return {AuthStatus::not_configured,
            "this source is not configured: set FOURKEYS_PAGERDUTY_SECRET (or "
            "FOURKEYS_PAGERDUTY_SECRET_FILE)"};
  }
  if (header.empty()) return {AuthStatus::missing, "missing X-PagerDuty-Signature header"};
  const auto signatures = pagerduty_v1_signatures(header);
  if (signatures.empty()) {
    return {AuthStatus::missing, "X-PagerDuty-Signature carries no v1=<hex> entry"};
  }
  bool match = false;
  // Every pair is compared so that the time taken does not tell which
  // secret or which entry matched.
  for (const auto& secret : secrets.values) {
    const std::string expected = hmac_sha256_hex(secret, body);
    for (const auto& signature : signatures) match |= constant_time_equal_hex(signature, expected);
  }
  if (!match) return {AuthStatus::mismatch, "X-PagerDuty-Signature does not match the body"};
  return {};
}

}  // namespace fourkeys::parser

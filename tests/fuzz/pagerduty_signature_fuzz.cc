// Fuzz target: the PagerDuty signature header (`X-PagerDuty-Signature:
// v1=<hex>[,v1=<hex>...]`). The input's first line is the header value, the
// rest the body; `$A` and `$B` in the value become the right digests of the
// body under the two configured secrets (rotation). pagerduty_v1_signatures
// is compared with a plain reading of the documented format (split on commas,
// blanks trimmed, `v1=` entries in any case kept), and the check must accept
// exactly when one entry is one secret's HMAC of the body.
#include "common/crypto.h"
#include "parser/pagerduty/pagerduty_signature.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace fourkeys;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string> expected_entries(std::string_view header) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= header.size() && !header.empty()) {
    const std::size_t comma = header.find(',', start);
    const std::size_t end = comma == std::string_view::npos ? header.size() : comma;
    const std::string_view entry = trim(header.substr(start, end - start));
    if (entry.size() > 3 && fuzz::istarts_with(entry, "v1=")) out.emplace_back(trim(entry.substr(3)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const SecretSet secrets{{"old-subscription-secret", "new-subscription-secret"}, "fuzz"};

  const std::string_view text = fuzz::as_text(data, size);
  const std::size_t newline = text.find('\n');
  const std::string_view body = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
  const std::string digest_a = hmac_sha256_hex(secrets.values[0], body);
  const std::string digest_b = hmac_sha256_hex(secrets.values[1], body);
  std::string header(text.substr(0, newline));
  header = fuzz::replace_all(fuzz::replace_all(std::move(header), "$A", digest_a), "$B", digest_b);

  const std::vector<std::string> entries = parser::pagerduty_v1_signatures(header);
  fuzz::check(entries == expected_entries(header), "v1 entries differ from the documented format", header);

  bool any = false;
  for (const auto& entry : entries) any |= fuzz::iequal(entry, digest_a) || fuzz::iequal(entry, digest_b);
  const parser::AuthResult result = parser::check_pagerduty_signature(header, body, secrets);
  fuzz::check(result.ok() == any, "X-PagerDuty-Signature decision differs from the oracle", result.message);
  fuzz::check(result.ok() || !result.message.empty(), "a refusal without a message");
  for (const auto& secret : secrets.values) {
    fuzz::check(result.message.find(secret) == std::string::npos, "a message shows a secret");
  }
  return 0;
}

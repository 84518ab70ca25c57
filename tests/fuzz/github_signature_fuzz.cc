// Fuzz target: the GitHub signature headers (X-Hub-Signature-256 and the
// legacy X-Hub-Signature), checked through the github source's authenticate
// with two configured secrets (rotation). The input is a request (see
// fuzz::read_request); `$SHA256` and `$SHA1` in a header value become the
// right digest of the body under the second secret, so accepting paths are
// reached too. Oracle: a delivery is accepted exactly when the deciding header
// is `<algorithm>=<hex>` (algorithm in any case, trailing blanks ignored) with
// the hex (in any case) of one secret's HMAC of the body.
#include "common/crypto.h"
#include "parser/github/github_source.h"
#include "tests/fuzz/fuzz_support.h"

#include <memory>

namespace {

using namespace fourkeys;

const std::string kSecrets[] = {"old-secret", "It's a Secret to Everybody"};

std::unique_ptr<parser::Source> make_source(bool allow_sha1) {
  parser::SourceSettings settings;
  settings.github_secrets.values.assign(std::begin(kSecrets), std::end(kSecrets));
  settings.github_allow_sha1 = allow_sha1;
  return parser::make_github_source(settings);
}

// The oracle: does `value` carry one secret's digest of `body`?
bool carries_digest(std::string_view value, std::string_view algorithm, std::string_view body) {
  const std::string prefix = std::string(algorithm) + "=";
  if (!fuzz::istarts_with(value, prefix)) return false;
  std::string_view hex = value.substr(prefix.size());
  while (!hex.empty() && (hex.back() == ' ' || hex.back() == '\t')) hex.remove_suffix(1);
  for (const auto& secret : kSecrets) {
    const std::string digest =
        algorithm == "sha256" ? hmac_sha256_hex(secret, body) : hmac_sha1_hex(secret, body);
    if (fuzz::iequal(hex, digest)) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto strict = make_source(false);
  static const auto with_sha1 = make_source(true);

  fuzz::Request request = fuzz::read_request(data, size, "/webhooks/github");
  parser::Headers headers;
  for (const auto& [name, value] : request.headers.all()) {
    std::string v = fuzz::replace_all(value, "$SHA256", hmac_sha256_hex(kSecrets[1], request.body));
    headers.add(name, fuzz::replace_all(std::move(v), "$SHA1", hmac_sha1_hex(kSecrets[1], request.body)));
  }
  const parser::Delivery delivery{request.path, headers, request.body};

  const bool has256 = headers.has("X-Hub-Signature-256");
  const bool good256 = has256 && carries_digest(headers.get("X-Hub-Signature-256"), "sha256", request.body);
  const bool good1 = headers.has("X-Hub-Signature") &&
                     carries_digest(headers.get("X-Hub-Signature"), "sha1", request.body);

  const parser::AuthResult a = strict->authenticate(delivery);
  fuzz::check(a.ok() == good256, "X-Hub-Signature-256 decision differs from the oracle", a.message);
  const parser::AuthResult b = with_sha1->authenticate(delivery);
  fuzz::check(b.ok() == (has256 ? good256 : good1), "decision with FOURKEYS_GITHUB_ALLOW_SHA1 differs",
              b.message);
  for (const auto* result : {&a, &b}) {
    fuzz::check(result->ok() || !result->message.empty(), "a refusal without a message");
    for (const auto& secret : kSecrets) {
      fuzz::check(result->message.find(secret) == std::string::npos, "a message shows a secret");
    }
  }
  return 0;
}

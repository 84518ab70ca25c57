// GitHub webhook signatures: `X-Hub-Signature-256: sha256=<hex>` is
// HMAC-SHA256(secret, raw body); the legacy `X-Hub-Signature: sha1=<hex>`
// (HMAC-SHA1) is what Four Keys' own generator sends.
#pragma once

#include "common/crypto.h"
#include "common/settings.h"
#include "parser/delivery.h"
#include "parser/source.h"

#include <string_view>
#include <vector>

namespace fourkeys::parser {

// The configured secrets, prepared once for both signature kinds (the
// source keeps one; see HmacKey).
struct GithubKeys {
  explicit GithubKeys(const SecretSet& secrets);
  std::vector<HmacKey> sha256;
  std::vector<HmacKey> sha1;
};

// Checks the delivery's signature against every secret in `keys` (several
// are allowed while a secret is rotated); each comparison is constant time and
// all secrets are always tried, so the time taken does not say which matched.
//
// X-Hub-Signature-256 decides whenever it is present. X-Hub-Signature (SHA-1)
// is read only when X-Hub-Signature-256 is absent and `allow_sha1` is true.
// `body` must be the bytes exactly as sent (for form deliveries: the form).
// Messages name headers and settings, never a secret or a signature value.
AuthResult check_github_signature(const Headers& headers, std::string_view body, const GithubKeys& keys,
                                  bool allow_sha1);

}  // namespace fourkeys::parser

// PagerDuty v3 webhook signatures: `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]`,
// hex = HMAC-SHA256(subscription secret, raw body). PagerDuty sends one entry
// per active signing secret while a secret is rotated.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/settings.h"
#include "parser/source.h"

namespace fourkeys::parser {

// The hex digests of the `v1=` entries of a signature header, in order.
// Entries are separated by commas, with or without spaces; entries of other
// versions are skipped, so a future `v2=` does not break verification.
std::vector<std::string> pagerduty_v1_signatures(std::string_view header);

// Accepts when any v1 entry matches the HMAC of `body` under any of
// `secrets` (constant-time, every pair compared). Never puts secret or
// signature values in the message.
AuthResult check_pagerduty_signature(std::string_view header, std::string_view body,
                                     const SecretSet& secrets);

}  // namespace fourkeys::parser

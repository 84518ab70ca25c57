// Digests and comparisons used to authenticate deliveries and to derive
// stable event ids. Backed by OpenSSL.
#pragma once

#include <string>
#include <string_view>

namespace fourkeys {

// Lowercase hex of HMAC-SHA256 / HMAC-SHA1 over `message` with `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);
std::string hmac_sha1_hex(std::string_view key, std::string_view message);

// Lowercase hex digests.
std::string sha256_hex(std::string_view data);
std::string sha1_hex(std::string_view data);

// Compares in time that depends only on the lengths, never on where the
// inputs first differ. Use for every secret, token and signature.
bool constant_time_equal(std::string_view a, std::string_view b);

// ASCII case-insensitive constant-time compare, for hex signatures a sender
// may write in either case.
bool constant_time_equal_hex(std::string_view a, std::string_view b);

}  // namespace fourkeys

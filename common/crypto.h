// Digests and comparisons used to authenticate deliveries and to derive
// stable event ids. Backed by OpenSSL.
#pragma once

#include <string>
#include <string_view>

// OpenSSL's EVP_MAC_CTX, kept out of this header.
struct evp_mac_ctx_st;

namespace fourkeys {

// Lowercase hex of HMAC-SHA256 / HMAC-SHA1 over `message` with `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view message);
std::string hmac_sha1_hex(std::string_view key, std::string_view message);

// HMAC with one key, prepared once. A one-shot HMAC() call in OpenSSL 3
// looks the algorithm up and derives the key's pads on every call, which
// costs a good part of hashing a 7 KB body again; a receiver checks every
// delivery against the same few secrets. Thread-safe: each hex() works on
// its own copy of the prepared state.
class HmacKey {
 public:
  enum class Digest { sha256, sha1 };
  // Copies what it needs of `key`. Throws std::runtime_error when OpenSSL
  // cannot set up the MAC.
  HmacKey(Digest digest, std::string_view key);
  ~HmacKey();
  HmacKey(HmacKey&& other) noexcept;
  HmacKey& operator=(HmacKey&& other) noexcept;
  HmacKey(const HmacKey&) = delete;
  HmacKey& operator=(const HmacKey&) = delete;

  // The same as hmac_sha256_hex / hmac_sha1_hex with this key.
  std::string hex(std::string_view message) const;

 private:
  evp_mac_ctx_st* keyed_;  // never updated itself: copied per call
};

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

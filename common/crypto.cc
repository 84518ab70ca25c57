#include "common/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <memory>
#include <stdexcept>
#include <utility>

namespace fourkeys {
namespace {

std::string to_hex(const unsigned char* data, unsigned int len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(static_cast<std::size_t>(len) * 2, '\0');
  for (unsigned int i = 0; i < len; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0x0f];
  }
  return out;
}

std::string hmac_hex(const EVP_MD* md, std::string_view key, std::string_view message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // OpenSSL refuses null pointers even for empty input; an empty view may have one.
  static const unsigned char kEmpty[1] = {0};
  const void* key_data = key.empty() ? kEmpty : static_cast<const void*>(key.data());
  const unsigned char* msg_data =
      message.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(message.data());
  if (!HMAC(md, key_data, static_cast<int>(key.size()), msg_data, message.size(), out, &len)) {
    throw std::runtime_error("HMAC computation failed");
  }
  return to_hex(out, len);
}

std::string digest_hex(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return to_hex(out, len);
}

// Lowercases A-Z only, without a data-dependent branch.
unsigned char fold_case(char c) {
  const auto u = static_cast<unsigned char>(c);
  return static_cast<unsigned char>(u | ((static_cast<unsigned char>(u - 'A') < 26) << 5));
}

}  // namespace

HmacKey::HmacKey(Digest digest, std::string_view key) : keyed_(nullptr) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!mac) throw std::runtime_error("OpenSSL has no HMAC");
  keyed_ = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context keeps its own reference
  if (!keyed_) throw std::runtime_error("HMAC context allocation failed");
  std::string digest_name = digest == Digest::sha256 ? "SHA256" : "SHA1";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name.data(), 0),
                               OSSL_PARAM_construct_end()};
  // OpenSSL refuses a null key pointer even for an empty key.
  static const unsigned char kEmpty[1] = {0};
  const unsigned char* key_data = key.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (!EVP_MAC_init(keyed_, key_data, key.size(), params)) {
    EVP_MAC_CTX_free(keyed_);
    throw std::runtime_error("HMAC key setup failed");
  }
}

HmacKey::~HmacKey() { EVP_MAC_CTX_free(keyed_); }

HmacKey::HmacKey(HmacKey&& other) noexcept : keyed_(std::exchange(other.keyed_, nullptr)) {}

HmacKey& HmacKey::operator=(HmacKey&& other) noexcept {
  if (this != &other) {
    EVP_MAC_CTX_free(keyed_);
    keyed_ = std::exchange(other.keyed_, nullptr);
  }
  return *this;
}

std::string HmacKey::hex(std::string_view message) const {
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_dup(keyed_), EVP_MAC_CTX_free);
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  if (!ctx ||
      (!message.empty() &&
       !EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(message.data()), message.size())) ||
      !EVP_MAC_final(ctx.get(), out, &len, sizeof out)) {
    throw std::runtime_error("HMAC computation failed");
  }
  return to_hex(out, static_cast<unsigned int>(len));
}

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  return hmac_hex(EVP_sha256(), key, message);
}
std::string hmac_sha1_hex(std::string_view key, std::string_view message) {
  return hmac_hex(EVP_sha1(), key, message);
}
std::string sha256_hex(std::string_view data) { return digest_hex(EVP_sha256(), data); }
std::string sha1_hex(std::string_view data) { return digest_hex(EVP_sha1(), data); }

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool constant_time_equal_hex(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(fold_case(a[i]) ^ fold_case(b[i]));
  }
  return diff == 0;
}

}  // namespace fourkeys

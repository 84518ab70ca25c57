#include <catch2/catch.hpp>

#include "common/crypto.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

using fourkeys::constant_time_equal;
using fourkeys::constant_time_equal_hex;
using fourkeys::hmac_sha1_hex;
using fourkeys::hmac_sha256_hex;
using fourkeys::sha1_hex;
using fourkeys::sha256_hex;

namespace {

std::string bytes(std::size_t n, unsigned char c) { return std::string(n, static_cast<char>(c)); }

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// RFC 4231 test case 4 / RFC 2202 test case 4: the key 0x01 0x02 ... 0x19.
std::string counting_key() {
  std::string key;
  for (int i = 1; i <= 25; ++i) key += static_cast<char>(i);
  return key;
}

}  // namespace

TEST_CASE("HMAC matches GitHub's documented example", "[crypto]") {
  // docs.github.com "Validating webhook deliveries".
  CHECK(hmac_sha256_hex("It's a Secret to Everybody", "Hello, World!") ==
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  CHECK(hmac_sha1_hex("It's a Secret to Everybody", "Hello, World!") ==
        "01dc10d0c83e72ed246219cdd91669667fe2ca59");
  // One byte more in the payload gives another digest.
  CHECK(hmac_sha256_hex("It's a Secret to Everybody", "Hello, World!\n") !=
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

TEST_CASE("HMAC-SHA256 passes the RFC 4231 test cases", "[crypto]") {
  CHECK(hmac_sha256_hex(bytes(20, 0x0b), "Hi There") ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(hmac_sha256_hex(bytes(20, 0xaa), bytes(50, 0xdd)) ==
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  CHECK(hmac_sha256_hex(counting_key(), bytes(50, 0xcd)) ==
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  // Test case 5 publishes only the first 128 bits.
  CHECK(hmac_sha256_hex(bytes(20, 0x0c), "Test With Truncation").substr(0, 32) ==
        "a3b6167473100ee06e0c796c2955552b");
  CHECK(hmac_sha256_hex(bytes(131, 0xaa), "Test Using Larger Than Block-Size Key - Hash Key First") ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  CHECK(hmac_sha256_hex(bytes(131, 0xaa),
                        "This is a test using a larger than block-size key and a larger than "
                        "block-size data. The key needs to be hashed before being used by the "
                        "HMAC algorithm.") ==
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST_CASE("HMAC-SHA1 passes the RFC 2202 test cases", "[crypto]") {
  CHECK(hmac_sha1_hex(bytes(20, 0x0b), "Hi There") == "b617318655057264e28bc0b6fb378c8ef146be00");
  CHECK(hmac_sha1_hex("Jefe", "what do ya want for nothing?") ==
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  CHECK(hmac_sha1_hex(bytes(20, 0xaa), bytes(50, 0xdd)) == "125d7342b9ac11cd91a39af48aa17b4f63f175d3");
  CHECK(hmac_sha1_hex(counting_key(), bytes(50, 0xcd)) == "4c9007f4026250c6bc8414f9bf50c86c2d7235da");
  CHECK(hmac_sha1_hex(bytes(20, 0x0c), "Test With Truncation") ==
        "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04");
  CHECK(hmac_sha1_hex(bytes(80, 0xaa), "Test Using Larger Than Block-Size Key - Hash Key First") ==
        "aa4ae5e15272d00e95705637ce8a3b55ed402112");
  CHECK(hmac_sha1_hex(bytes(80, 0xaa),
                      "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data") ==
        "e8e99d0f45237d786d6bbaa7965c7808bbff1a91");
}

TEST_CASE("HMAC uses every byte of the key, embedded NULs included", "[crypto]") {
  const std::string_view key_with_nul("a\0b", 3);
  CHECK(hmac_sha256_hex(key_with_nul, "x") ==
        "758acf85d010dbd67262388f811fe5ac923b76ed1301265a66fce397586291b4");
  CHECK(hmac_sha256_hex("a", "x") == "399b97cd540c0883ac6d1fc22d4e72f6300007cf5954e5a1b306a9e4e02f9029");
}

TEST_CASE("HMAC with an empty key or message", "[crypto]") {
  CHECK(hmac_sha256_hex("", "") == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  CHECK(hmac_sha1_hex("", "") == "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d");
  // One side a default-constructed view (null data pointer), the other not.
  CHECK(hmac_sha256_hex(std::string_view{}, "x") == hmac_sha256_hex("", "x"));
  CHECK(hmac_sha256_hex("k", std::string_view{}) == hmac_sha256_hex("k", ""));
  CHECK(sha256_hex(std::string_view{}) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// Guards against this: with OpenSSL 3.0 (libssl3 3.0.19), HMAC() fails when both the key
// and the message are null pointers with length 0 (two default-constructed
// string_views), and hmac_hex ignores HMAC()'s NULL return, so the result is
// "" instead of a digest. An empty expected signature is dangerous: it equals
// an empty presented one (PagerDuty's parser keeps "v1=" as ""). The code therefore: pass
// `key.empty() ? "" : key.data()` (same for the message) and treat a NULL
// return from HMAC() as a fatal error instead of returning "".
TEST_CASE("HMAC of empty views with null data is still the digest", "[crypto]") {
  CHECK(hmac_sha256_hex(std::string_view{}, std::string_view{}) ==
        "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  CHECK(hmac_sha1_hex(std::string_view{}, std::string_view{}) ==
        "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d");
}

TEST_CASE("sha256_hex and sha1_hex give the FIPS 180 digests", "[crypto]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha1_hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  const char* two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(sha256_hex(two_blocks) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha1_hex(two_blocks) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  CHECK(sha256_hex(std::string(1'000'000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("digests cover bytes after a NUL", "[crypto]") {
  CHECK(sha1_hex(std::string_view("\0", 1)) == "5ba93c9db0cff93f52b521d7420e43f6eda2784f");
  CHECK(sha256_hex(std::string_view("a\0b", 3)) ==
        "59b271ae1bbcb1d31d41929817f4b16fb439eb4f31520b5ad1d5ce98920a7138");
  CHECK(sha256_hex(std::string_view("a\0b", 3)) != sha256_hex("a"));
}

TEST_CASE("hex output is lowercase and full length", "[crypto]") {
  const std::string digests[] = {hmac_sha256_hex("k", "m"), hmac_sha1_hex("k", "m"), sha256_hex("m"),
                                 sha1_hex("m")};
  CHECK(digests[0].size() == 64);
  CHECK(digests[1].size() == 40);
  CHECK(digests[2].size() == 64);
  CHECK(digests[3].size() == 40);
  for (const auto& d : digests) {
    CAPTURE(d);
    CHECK(d.find_first_not_of("0123456789abcdef") == std::string::npos);
  }
}

TEST_CASE("constant_time_equal compares bytes exactly", "[crypto]") {
  CHECK(constant_time_equal("secret-token", "secret-token"));
  CHECK(constant_time_equal("", ""));
  CHECK_FALSE(constant_time_equal("secret-token", "secret-tokeN"));  // last byte
  CHECK_FALSE(constant_time_equal("secret-token", "Secret-token"));  // first byte
  CHECK_FALSE(constant_time_equal("abc", "ABC"));                    // case matters
  // Different lengths, including a prefix and the empty string.
  CHECK_FALSE(constant_time_equal("secret-token", "secret-toke"));
  CHECK_FALSE(constant_time_equal("secret-toke", "secret-token"));
  CHECK_FALSE(constant_time_equal("", "x"));
  CHECK_FALSE(constant_time_equal("x", ""));
  // Bytes after a NUL count.
  CHECK(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  CHECK_FALSE(constant_time_equal(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
  CHECK_FALSE(constant_time_equal(std::string_view("a\0b", 3), "a"));
}

TEST_CASE("constant_time_equal_hex ignores the case of hex digits", "[crypto]") {
  const std::string sig = hmac_sha256_hex("It's a Secret to Everybody", "Hello, World!");
  CHECK(constant_time_equal_hex(sig, sig));
  CHECK(constant_time_equal_hex(upper(sig), sig));
  CHECK(constant_time_equal_hex(sig, upper(sig)));
  CHECK(constant_time_equal_hex("ABCDEF0123456789", "abcdef0123456789"));
  CHECK(constant_time_equal_hex("aBcDeF", "AbCdEf"));
  CHECK(constant_time_equal_hex("", ""));

  std::string last_differs = sig;
  last_differs.back() = last_differs.back() == '0' ? '1' : '0';
  CHECK_FALSE(constant_time_equal_hex(last_differs, sig));
  std::string first_differs = sig;
  first_differs.front() = first_differs.front() == 'f' ? 'e' : 'f';
  CHECK_FALSE(constant_time_equal_hex(first_differs, sig));
  CHECK_FALSE(constant_time_equal_hex("abcdef", "abcdee"));
  CHECK_FALSE(constant_time_equal_hex("0a", "0b"));
  // Different lengths.
  CHECK_FALSE(constant_time_equal_hex(sig, sig.substr(0, 63)));
  CHECK_FALSE(constant_time_equal_hex(sig.substr(0, 63), sig));
  CHECK_FALSE(constant_time_equal_hex(sig + "0", sig));
  CHECK_FALSE(constant_time_equal_hex("", "a"));
}

// Guards against this: the comparison folds case with `c | 0x20` for every byte, not
// only for letters, so pairs that differ only in bit 0x20 compare equal:
// '0'..'9' equal the control bytes 0x10..0x19, '@' equals '`', '[' equals
// '{', ' ' equals NUL. The header promises an ASCII case-insensitive compare.
// The code therefore: fold only 'A'..'Z' (branch-free: c | ((unsigned char)(c - 'A') < 26) << 5).
TEST_CASE("constant_time_equal_hex folds only the case of letters", "[crypto]") {
  CHECK_FALSE(constant_time_equal_hex("0", "\x10"));
  CHECK_FALSE(constant_time_equal_hex("9", "\x19"));
  CHECK_FALSE(constant_time_equal_hex("@", "`"));
  CHECK_FALSE(constant_time_equal_hex("[", "{"));
  CHECK_FALSE(constant_time_equal_hex(std::string_view(" ", 1), std::string_view("\0", 1)));
}

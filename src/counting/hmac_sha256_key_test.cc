#include "counting/hmac_sha256_key.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

namespace tally {
namespace {

std::string Hex(std::span<const unsigned char> data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : data) (out += kHex[c >> 4]) += kHex[c & 0xf];
  return out;
}

std::string SignHex(std::string_view key, std::string_view message) {
  const std::string_view pieces[] = {message};
  return Hex(HmacSha256Key(key).Sign(pieces));
}

std::string OpenSslHmacHex(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  return Hex({mac, mac_len});
}

// RFC 4231, section 4: the HMAC-SHA-256 test cases (5, a truncated MAC, is
// not applicable).
TEST(HmacSha256KeyTest, Rfc4231Vectors) {
  std::string key4;
  for (char c = 1; c <= 25; ++c) key4 += c;
  EXPECT_EQ(SignHex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(SignHex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(SignHex(std::string(20, '\xaa'), std::string(50, '\xdd')),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  EXPECT_EQ(SignHex(key4, std::string(50, '\xcd')),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  // Keys longer than a block are hashed first.
  EXPECT_EQ(
      SignHex(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(SignHex(std::string(131, '\xaa'),
                    "This is a test using a larger than block-size key and a larger than "
                    "block-size data. The key needs to be hashed before being used by the HMAC "
                    "algorithm."),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

// Every key and message length around SHA-256's 64-byte block (where
// padding and key hashing change) agrees with OpenSSL's HMAC().
TEST(HmacSha256KeyTest, AgreesWithOpenSslAcrossLengths) {
  std::mt19937 random(4231);
  auto bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(random());
    return s;
  };
  for (size_t key_size : {0, 1, 31, 32, 55, 56, 63, 64, 65, 127, 128, 129, 200}) {
    std::string key = bytes(key_size);
    for (size_t message_size : {0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000}) {
      std::string message = bytes(message_size);
      EXPECT_EQ(SignHex(key, message), OpenSslHmacHex(key, message))
          << "key " << key_size << " bytes, message " << message_size << " bytes";
    }
  }
}

// The pieces are MAC'ed as their concatenation, however it is split.
TEST(HmacSha256KeyTest, PiecesAreConcatenated) {
  HmacSha256Key key("salt");
  std::string whole = "demo\n127.0.0.1\nMozilla/5.0";
  const std::string_view split[] = {"demo", "\n", "", "127.0.0.1", "\n", "Mozilla/5.0"};
  EXPECT_EQ(Hex(key.Sign(split)), OpenSslHmacHex("salt", whole));
  EXPECT_EQ(Hex(key.Sign({})), OpenSslHmacHex("salt", ""));
}

// One key signs from many threads at once (Sign leaves the key unchanged).
TEST(HmacSha256KeyTest, SignIsSafeAcrossThreads) {
  const HmacSha256Key key("shared salt");
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string message = "thread " + std::to_string(t) + " message " + std::to_string(i);
        const std::string_view pieces[] = {message};
        if (Hex(key.Sign(pieces)) != OpenSslHmacHex("shared salt", message)) ++mismatches[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace tally

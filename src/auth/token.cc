#include "auth/token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>

namespace tally {
namespace {

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::array<unsigned char, 32> Sha256(std::string_view data) {
  std::array<unsigned char, 32> digest{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_sha256(), nullptr);
  return digest;
}

}  // namespace

Result<std::string> NewToken(std::string_view prefix) {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return Status::Internal("no randomness available for a token");
  }
  std::string token(prefix);
  // 32 bytes = 256 bits; 6 bits per character.
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      token.push_back(kBase64Url[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) token.push_back(kBase64Url[(acc << (6 - bits)) & 0x3f]);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return token;
}

std::string HashToken(std::string_view token) {
  static constexpr char kHex[] = "0123456789abcdef";
  auto digest = Sha256(token);
  std::string hex(64, '0');
  for (size_t i = 0; i < digest.size(); ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return hex;
}

bool TokenMatches(std::string_view token, std::string_view stored_hash) {
  if (stored_hash.size() != 64) return false;
  // Hashing first makes the comparison length-independent of the token; the
  // final compare of two equal-length hex strings is constant-time.
  std::string candidate = HashToken(token);
  return CRYPTO_memcmp(candidate.data(), stored_hash.data(), 64) == 0;
}

}  // namespace tally

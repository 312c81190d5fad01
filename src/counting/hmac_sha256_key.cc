// SHA256_Init/Update/Final are deprecated in OpenSSL 3.0 in favour of EVP,
// but EVP cannot copy a digest state without a heap allocation (see the
// header); they stay in every 3.x release.
#define OPENSSL_API_COMPAT 10101

#include "counting/hmac_sha256_key.h"

#include <openssl/crypto.h>

namespace tally {
namespace {
constexpr size_t kBlockSize = SHA256_CBLOCK;  // 64 bytes
}  // namespace

HmacSha256Key::HmacSha256Key(std::string_view key) {
  unsigned char block[kBlockSize] = {};
  if (key.size() > kBlockSize) {
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), block);
  } else {
    for (size_t i = 0; i < key.size(); ++i) block[i] = static_cast<unsigned char>(key[i]);
  }
  unsigned char pad[kBlockSize];
  for (size_t i = 0; i < kBlockSize; ++i) pad[i] = block[i] ^ 0x36;
  SHA256_Init(&inner_);
  SHA256_Update(&inner_, pad, kBlockSize);
  for (size_t i = 0; i < kBlockSize; ++i) pad[i] = block[i] ^ 0x5c;
  SHA256_Init(&outer_);
  SHA256_Update(&outer_, pad, kBlockSize);
  OPENSSL_cleanse(block, sizeof block);
  OPENSSL_cleanse(pad, sizeof pad);
}

std::array<unsigned char, HmacSha256Key::kMacSize> HmacSha256Key::Sign(
    std::span<const std::string_view> pieces) const {
  std::array<unsigned char, kMacSize> inner_hash;
  SHA256_CTX ctx = inner_;
  for (std::string_view piece : pieces) SHA256_Update(&ctx, piece.data(), piece.size());
  SHA256_Final(inner_hash.data(), &ctx);
  std::array<unsigned char, kMacSize> mac;
  ctx = outer_;
  SHA256_Update(&ctx, inner_hash.data(), inner_hash.size());
  SHA256_Final(mac.data(), &ctx);
  return mac;
}

}  // namespace tally

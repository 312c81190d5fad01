// HmacSha256Key: HMAC-SHA256 (RFC 2104) under one fixed key, with the key's
// two padded blocks hashed once, up front.
//
// Why not OpenSSL's HMAC API: in OpenSSL 3.0 every reuse of a keyed HMAC
// context duplicates its inner digest state on the heap (two allocations a
// MAC), and the one-shot HMAC() fetches the algorithm and builds its
// contexts each time (13). Here a MAC copies two plain SHA256_CTX structs
// and runs OpenSSL's SHA-256 (the same assembly, SHA-NI included): no
// allocation and about half the time. The tests hold it to RFC 4231's
// vectors and to OpenSSL's HMAC() for keys and messages of every length
// around the block size.
//
// Thread safety: a key is immutable after construction; Sign may be called
// from any number of threads at once.
#pragma once

#include <openssl/sha.h>

#include <array>
#include <span>
#include <string_view>

namespace tally {

class HmacSha256Key {
 public:
  static constexpr size_t kMacSize = 32;

  // Any length of key, as HMAC allows (longer than a block: hashed first).
  explicit HmacSha256Key(std::string_view key);

  // The MAC of the concatenation of `pieces`, which need not be contiguous.
  std::array<unsigned char, kMacSize> Sign(std::span<const std::string_view> pieces) const;

 private:
  SHA256_CTX inner_;  // after hashing key ^ ipad
  SHA256_CTX outer_;  // after hashing key ^ opad
};

}  // namespace tally

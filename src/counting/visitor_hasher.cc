#include "counting/visitor_hasher.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <mutex>

#include "common/clock.h"
#include "common/local_day.h"

namespace tally {
namespace {

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xf];
  }
  return out;
}

void HexInto(const unsigned char* data, size_t n, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 0xf];
  }
}

// One HMAC-SHA256 context per thread, keyed with the salt it last used.
// OpenSSL 3's one-shot HMAC() fetches the algorithm and creates and frees
// its contexts on every call: 13 heap allocations and ~2.4 us a hash, the
// largest piece of the hit path's CPU time off the writer thread. Re-running
// a keyed context costs 2 allocations (OpenSSL duplicates its inner digest
// state) and ~0.3 us.
class ThreadMac {
 public:
  ThreadMac() {
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // never freed
    if (mac == nullptr) return;
    ctx_ = EVP_MAC_CTX_new(mac);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (ctx_ != nullptr && EVP_MAC_CTX_set_params(ctx_, params) != 1) {
      EVP_MAC_CTX_free(ctx_);
      ctx_ = nullptr;
    }
  }
  ~ThreadMac() { EVP_MAC_CTX_free(ctx_); }
  ThreadMac(const ThreadMac&) = delete;
  ThreadMac& operator=(const ThreadMac&) = delete;

  // HMAC-SHA256(salt, parts joined by '\n') into `mac` (32 bytes). False if
  // OpenSSL failed; the caller then falls back to the one-shot HMAC().
  bool Compute(std::string_view salt, std::span<const std::string_view> parts, unsigned char* mac) {
    if (ctx_ == nullptr) return false;
    // Re-keying costs two extra SHA-256 blocks and 3 allocations; skip it
    // while the salt stays the same (it changes once a day).
    bool same_key = keyed_ && salt == key_;
    const auto* key = reinterpret_cast<const unsigned char*>(salt.data());
    if (EVP_MAC_init(ctx_, same_key ? nullptr : key, same_key ? 0 : salt.size(), nullptr) != 1) {
      keyed_ = false;
      return false;
    }
    if (!same_key) {
      key_.assign(salt);  // keeps its capacity: no allocation after the first day
      keyed_ = true;
    }
    for (size_t i = 0; i < parts.size(); ++i) {
      static constexpr unsigned char kSeparator = '\n';
      if (i > 0 && EVP_MAC_update(ctx_, &kSeparator, 1) != 1) return false;
      if (EVP_MAC_update(ctx_, reinterpret_cast<const unsigned char*>(parts[i].data()),
                         parts[i].size()) != 1) {
        return false;
      }
    }
    size_t mac_len = 0;
    return EVP_MAC_final(ctx_, mac, &mac_len, 32) == 1 && mac_len == 32;
  }

 private:
  EVP_MAC_CTX* ctx_ = nullptr;
  std::string key_;
  bool keyed_ = false;
};

}  // namespace

Status VisitorHasher::Refresh(int64_t now) {
  std::string today = UtcDay(now);
  // UTC-12 is still on yesterday and UTC+14 already on tomorrow.
  std::string days[] = {AddDays(today, -1), today, AddDays(today, 1)};
  std::map<std::string, std::string, std::less<>> fresh;
  for (const std::string& day : days) {
    unsigned char random[32];
    if (RAND_bytes(random, sizeof random) != 1) return Status::Internal("no randomness for a salt");
    auto salt = store_.DailySalt(day, Hex(random, sizeof random));
    if (!salt.ok()) return salt.status();
    fresh.emplace(day, std::move(salt).value());
  }
  {
    std::unique_lock lock(mu_);
    salts_.swap(fresh);  // older days' salts leave memory here
  }
  return store_.ForgetVisitorsBefore(days[0]);
}

std::string VisitorHasher::Hash(std::string_view day, std::string_view site,
                                std::string_view client_ip, std::string_view user_agent) const {
  std::string out(kHashSize, '0');
  if (!Hash(day, site, client_ip, user_agent, std::span<char, kHashSize>(out.data(), kHashSize))) {
    return "";
  }
  return out;
}

bool VisitorHasher::Hash(std::string_view day, std::string_view site, std::string_view client_ip,
                         std::string_view user_agent, std::span<char, kHashSize> out) const {
  thread_local ThreadMac thread_mac;
  // Separators that cannot occur inside the parts keep ("a","bc") and
  // ("ab","c") apart.
  const std::string_view parts[] = {site, client_ip, user_agent};
  unsigned char mac[EVP_MAX_MD_SIZE];
  // Hashed under the shared lock, so the salt is used in place rather than
  // copied; Refresh only takes the lock exclusively to swap the map.
  std::shared_lock lock(mu_);
  auto it = salts_.find(day);
  if (it == salts_.end()) return false;
  const std::string& salt = it->second;
  if (!thread_mac.Compute(salt, parts, mac)) {
    std::string message;
    message.append(site).push_back('\n');
    message.append(client_ip).push_back('\n');
    message.append(user_agent);
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), salt.data(), static_cast<int>(salt.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  }
  // 128 bits are plenty to tell a day's visitors apart.
  HexInto(mac, kHashSize / 2, out.data());
  return true;
}

}  // namespace tally

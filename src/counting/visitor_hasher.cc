#include "counting/visitor_hasher.h"

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

}  // namespace

Status VisitorHasher::Refresh(int64_t now) {
  std::string today = UtcDay(now);
  // UTC-12 is still on yesterday and UTC+14 already on tomorrow.
  std::string days[] = {AddDays(today, -1), today, AddDays(today, 1)};
  std::map<std::string, HmacSha256Key, std::less<>> fresh;
  for (const std::string& day : days) {
    unsigned char random[32];
    if (RAND_bytes(random, sizeof random) != 1) return Status::Internal("no randomness for a salt");
    auto salt = store_.DailySalt(day, Hex(random, sizeof random));
    if (!salt.ok()) return salt.status();
    fresh.emplace(day, HmacSha256Key(*salt));
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
  // Separators that cannot occur inside the parts keep ("a","bc") and
  // ("ab","c") apart.
  const std::string_view pieces[] = {site, "\n", client_ip, "\n", user_agent};
  std::array<unsigned char, HmacSha256Key::kMacSize> mac;
  {
    std::shared_lock lock(mu_);  // Refresh takes it exclusively only to swap the map
    auto it = salts_.find(day);
    if (it == salts_.end()) return false;
    mac = it->second.Sign(pieces);
  }
  // 128 bits are plenty to tell a day's visitors apart.
  HexInto(mac.data(), kHashSize / 2, out.data());
  return true;
}

}  // namespace tally

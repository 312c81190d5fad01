#include "counting/visitor_hasher.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
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
  std::string salt;
  {
    std::shared_lock lock(mu_);
    auto it = salts_.find(day);
    if (it == salts_.end()) return "";
    salt = it->second;
  }
  // Separators that cannot occur inside the parts keep ("a","bc") and
  // ("ab","c") apart.
  std::string message;
  message.reserve(site.size() + client_ip.size() + user_agent.size() + 2);
  message.append(site).push_back('\n');
  message.append(client_ip).push_back('\n');
  message.append(user_agent);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), salt.data(), static_cast<int>(salt.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  return Hex(mac, 16);
}

}  // namespace tally

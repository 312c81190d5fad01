// VisitorHasher: who counts as the same visitor, without cookies and without
// storing an IP address or User-Agent (the GoatCounter/Plausible method).
//
// A visitor is HMAC-SHA256(salt of the day, site | client IP | User-Agent),
// cut to 128 bits. The salt is random, one per calendar day, shared through
// the store by every process, and destroyed when no time zone is on that day
// any more; after that a hash can no longer be tied to anyone.
//
// Thread safety: Hash may be called from any thread; Refresh from one
// housekeeping thread (it blocks on the store).
#pragma once

#include <cstdint>
#include <map>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "counting/hmac_sha256_key.h"
#include "store/store.h"

namespace tally {

class VisitorHasher {
 public:
  // `store` must outlive the hasher.
  explicit VisitorHasher(Store& store) : store_(store) {}

  // Makes sure the salts of every day some time zone is on at `now` (UTC
  // yesterday, today and tomorrow) are loaded, creating them in the store if
  // needed, and destroys older salts and seen-markers in the store and here.
  // Call at start and then every few minutes.
  Status Refresh(int64_t now_unix_seconds);

  // The visitor hash (32 hex characters) for `day`, or an empty string if
  // that day's salt is not loaded (then the hit counts, but not as a visitor).
  std::string Hash(std::string_view day, std::string_view site, std::string_view client_ip,
                   std::string_view user_agent) const;

  static constexpr size_t kHashSize = 32;
  // The same hash written into `out`, without a heap allocation for the
  // result (the hit path's variant). Returns false, leaving `out` alone, if
  // that day's salt is not loaded.
  bool Hash(std::string_view day, std::string_view site, std::string_view client_ip,
            std::string_view user_agent, std::span<char, kHashSize> out) const;

 private:
  Store& store_;
  mutable std::shared_mutex mu_;
  // Day -> the HMAC key of its salt (the salt itself is not kept). Guarded by mu_.
  std::map<std::string, HmacSha256Key, std::less<>> salts_;
};

}  // namespace tally

// RateLimiter: a token bucket per (site, client), so one client cannot
// inflate a counter. A bucket holds up to `per_minute` hits and refills at
// per_minute/60 hits a second.
//
// Memory is bounded: idle buckets are swept, and a full shard starts over
// (forgetting limits is safer than refusing everybody).
//
// Thread safety: Take may be called from any thread; it locks one of several
// shards for a few instructions, never across I/O.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tally {

struct RateDecision {
  bool allowed = true;
  int64_t limit = 0;                // bucket size (hits per minute)
  int64_t remaining = 0;            // whole hits left now
  int64_t reset_seconds = 0;        // until the bucket is full again
  int64_t retry_after_seconds = 0;  // when refused: until one hit is allowed
};

class RateLimiter {
 public:
  // `default_per_minute` applies to sites that set none; 0 turns limiting off
  // for them.
  explicit RateLimiter(int64_t default_per_minute) : default_per_minute_(default_per_minute) {}

  // Takes one hit from the bucket of (site, client) at time `now_ms`
  // (steady milliseconds). `per_minute` 0 means the default.
  RateDecision Take(std::string_view site, std::string_view client, int64_t per_minute,
                    int64_t now_ms);

  int64_t default_per_minute() const { return default_per_minute_; }

 private:
  struct Bucket {
    double tokens = 0;
    int64_t updated_ms = 0;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;
    int64_t last_sweep_ms = 0;
  };
  static constexpr size_t kShards = 16;
  static constexpr size_t kMaxBucketsPerShard = 65536;

  const int64_t default_per_minute_;
  std::array<Shard, kShards> shards_;
};

}  // namespace tally

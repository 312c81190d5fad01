#include "api/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace tally {

RateDecision RateLimiter::Take(std::string_view site, std::string_view client, int64_t per_minute,
                               int64_t now_ms) {
  if (per_minute <= 0) per_minute = default_per_minute_;
  RateDecision decision;
  if (per_minute <= 0) return decision;  // limiting off
  decision.limit = per_minute;
  const double capacity = static_cast<double>(per_minute);
  const double per_ms = capacity / 60000.0;

  std::string id;
  id.reserve(site.size() + client.size() + 1);
  id.append(site).push_back('\n');
  id.append(client);
  Shard& shard = shards_[std::hash<std::string>()(id) % kShards];

  std::lock_guard lock(shard.mu);
  // A bucket idle for a minute is full again: forgetting it changes nothing.
  if (now_ms - shard.last_sweep_ms > 60000) {
    std::erase_if(shard.buckets,
                  [&](const auto& kv) { return now_ms - kv.second.updated_ms > 60000; });
    shard.last_sweep_ms = now_ms;
  }
  if (shard.buckets.size() >= kMaxBucketsPerShard) shard.buckets.clear();
  auto [it, inserted] = shard.buckets.try_emplace(std::move(id), Bucket{capacity, now_ms});
  Bucket& b = it->second;
  if (!inserted) {
    b.tokens = std::min(capacity, b.tokens + static_cast<double>(now_ms - b.updated_ms) * per_ms);
    b.updated_ms = now_ms;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
  } else {
    decision.allowed = false;
    decision.retry_after_seconds =
        std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1.0 - b.tokens) / per_ms / 1000.0)));
  }
  decision.remaining = static_cast<int64_t>(b.tokens);
  decision.reset_seconds = static_cast<int64_t>(std::ceil((capacity - b.tokens) / per_ms / 1000.0));
  return decision;
}

}  // namespace tally

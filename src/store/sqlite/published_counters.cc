#include "store/sqlite/published_counters.h"

namespace tally {

PublishedCounters::PublishedCounters(size_t capacity, std::chrono::nanoseconds fresh_for)
    : fresh_for_(fresh_for), counters_(capacity) {}

void PublishedCounters::Publish(std::span<const HitDelta> deltas,
                                std::span<const CounterTotals> totals, TimePoint now) {
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < deltas.size() && i < totals.size(); ++i) {
    counters_.Put(deltas[i].site, deltas[i].key, deltas[i].day, totals[i]);
  }
  fresh_until_ = now + fresh_for_;
}

std::optional<CounterTotals> PublishedCounters::Find(std::string_view site, std::string_view key,
                                                     std::string_view day, TimePoint now) const {
  std::lock_guard lock(mu_);
  if (now > fresh_until_) return std::nullopt;
  const CounterTotals* held = counters_.Find(site, key, day);
  if (held == nullptr) return std::nullopt;
  return *held;
}

bool PublishedCounters::FreshAt(TimePoint now) const {
  std::lock_guard lock(mu_);
  return now <= fresh_until_;
}

void PublishedCounters::Refresh(TimePoint now) {
  std::lock_guard lock(mu_);
  fresh_until_ = now + fresh_for_;
}

void PublishedCounters::Clear() {
  std::lock_guard lock(mu_);
  counters_.Clear();
}

}  // namespace tally

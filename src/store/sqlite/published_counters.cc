#include "store/sqlite/published_counters.h"

namespace tally {

PublishedCounters::PublishedCounters(size_t capacity, std::chrono::nanoseconds fresh_for)
    : fresh_for_(fresh_for), counters_(capacity) {}

void PublishedCounters::Publish(std::span<const HitDelta> deltas,
                                std::span<const CounterTotals> totals, TimePoint now) {
  std::lock_guard lock(mu_);
  if (now - last_find_ > fresh_for_) {
    ClearLocked();
    return;
  }
  ++generation_;
  for (size_t i = 0; i < deltas.size() && i < totals.size(); ++i) {
    counters_.Put(deltas[i].site, deltas[i].key, deltas[i].day, totals[i]);
  }
  fresh_until_ = now + fresh_for_;
}

std::optional<CounterTotals> PublishedCounters::Find(std::string_view site, std::string_view key,
                                                     std::string_view day, TimePoint now) {
  std::lock_guard lock(mu_);
  last_find_ = now;
  if (now > fresh_until_) return std::nullopt;
  const CounterTotals* held = counters_.Find(site, key, day);
  if (held == nullptr) return std::nullopt;
  return *held;
}

uint64_t PublishedCounters::Generation() const {
  std::lock_guard lock(mu_);
  return generation_;
}

void PublishedCounters::PutRead(std::string_view site, std::string_view key, std::string_view day,
                                const CounterTotals& totals, uint64_t generation) {
  std::lock_guard lock(mu_);
  if (generation == generation_) counters_.Put(site, key, day, totals);
}

bool PublishedCounters::FreshAt(TimePoint now) const {
  std::lock_guard lock(mu_);
  return now <= fresh_until_;
}

void PublishedCounters::Refresh(TimePoint now) {
  std::lock_guard lock(mu_);
  fresh_until_ = now + fresh_for_;
}

void PublishedCounters::Clear() noexcept {
  std::lock_guard lock(mu_);
  ClearLocked();
}

void PublishedCounters::ClearLocked() noexcept {
  ++generation_;
  // Clearing a map reserved for `capacity` touches all its buckets: only
  // when there is something to forget.
  if (counters_.size() != 0) counters_.Clear();
}

}  // namespace tally

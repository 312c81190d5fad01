// PublishedCounters: the committed numbers of the counters the writer wrote
// last, for reads that must not wait. A page that shows a counter without
// counting (GET .../counters, a badge) reads a hot counter from here, on the
// network thread, instead of a SQLite query on a blocking thread and two
// thread hand-overs: measured, such reads were slower than counted hits.
//
// What it answers is what a reader connection could have read at some moment
// since the last Publish: only committed numbers go in (Publish after the
// COMMIT), and whoever changes counters otherwise, under the writer's lock,
// Clear()s first. Another process's writes are seen by the writer's next
// transaction (PRAGMA data_version), which Clear()s; so that a quiet writer
// cannot keep answering with numbers another process has since changed, Find
// answers only for `fresh_for` after the last Publish or Refresh (a check
// that no other process wrote), then reads go to SQLite again.
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>

#include "store/sqlite/counter_totals_cache.h"
#include "store/store.h"

namespace tally {

class PublishedCounters {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // Holds at most `capacity` counters (then starts over).
  PublishedCounters(size_t capacity, std::chrono::nanoseconds fresh_for);

  PublishedCounters(const PublishedCounters&) = delete;
  PublishedCounters& operator=(const PublishedCounters&) = delete;

  // Remembers that deltas[i]'s counter has totals[i], with deltas[i].day as
  // today, as of `now`. Call only after the write that left them committed.
  void Publish(std::span<const HitDelta> deltas, std::span<const CounterTotals> totals,
               TimePoint now);

  // The counter's numbers with `day` as today, if held and `now` is within
  // fresh_for of the last Publish; nullopt otherwise. Does not allocate.
  std::optional<CounterTotals> Find(std::string_view site, std::string_view key,
                                    std::string_view day, TimePoint now) const;

  // Whether Find answers at `now`.
  bool FreshAt(TimePoint now) const;

  // Find answers until fresh_for after `now`: the caller has made sure
  // that nothing held has changed since the last Publish.
  void Refresh(TimePoint now);

  // Forgets every counter.
  void Clear();

 private:
  const std::chrono::nanoseconds fresh_for_;
  mutable std::mutex mu_;
  // Find keeps its lookup key in the cache's scratch space: guarded too.
  mutable CounterTotalsCache counters_;  // guarded by mu_
  TimePoint fresh_until_{};              // guarded by mu_
};

}  // namespace tally

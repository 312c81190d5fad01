// PublishedCounters: committed numbers of counters, held for reads that must
// not wait. A page that shows a counter without counting (GET .../counters, a
// badge) reads it from here, on the network thread, instead of by a SQLite
// query on a blocking thread and two thread hand-overs: measured, such reads
// were slower than counted hits (docs/benchmarks.md, round 8).
//
// Two sources fill it: the writer publishes each batch's totals after its
// COMMIT (Publish), and a read from SQLite puts back what it read (PutRead),
// unless a commit or a Clear came between its start and the put (the
// generation it took before reading has changed). Whoever changes counters
// otherwise Clear()s after the change, under the writer's lock. So what Find
// answers is what a reader connection could have read at some moment since.
// Another process's writes are seen by the writer's next transaction (PRAGMA
// data_version), which Clear()s; so that a quiet writer cannot keep answering
// with numbers another process has since changed, Find answers only for
// `fresh_for` after the last Publish or Refresh (a check that no other
// process wrote).
//
// While nobody calls Find, Publish only counts the commit (and forgets what
// it held): hits alone cost the writer one lock per commit here.
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
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

  // A commit at `now` left deltas[i]'s counter at totals[i], with
  // deltas[i].day as today. Call after every commit of hits, before the
  // writer's lock is released. Remembers them if Find was called within
  // fresh_for; otherwise forgets everything (what it held may be stale now).
  void Publish(std::span<const HitDelta> deltas, std::span<const CounterTotals> totals,
               TimePoint now);

  // The counter's numbers with `day` as today, if held and `now` is within
  // fresh_for of the last Publish or Refresh; nullopt otherwise. Allocates
  // only to grow its lookup buffer for a longer key than any before.
  std::optional<CounterTotals> Find(std::string_view site, std::string_view key,
                                    std::string_view day, TimePoint now);

  // Take before reading a counter from SQLite, and pass to PutRead.
  uint64_t Generation() const;
  // Remembers numbers read from SQLite, if nothing was published or cleared
  // since `generation` was taken (else they may be older than what is held,
  // or than a change that cleared).
  void PutRead(std::string_view site, std::string_view key, std::string_view day,
               const CounterTotals& totals, uint64_t generation);

  // Whether Find answers at `now`.
  bool FreshAt(TimePoint now) const;

  // Find answers until fresh_for after `now`: the caller has made sure
  // that nothing held has changed since the last Publish.
  void Refresh(TimePoint now);

  // Forgets every counter. noexcept: only a broken mutex could throw, and
  // then nothing held can be trusted.
  void Clear() noexcept;

 private:
  // Under mu_.
  void ClearLocked() noexcept;

  const std::chrono::nanoseconds fresh_for_;
  mutable std::mutex mu_;
  CounterTotalsCache counters_;  // guarded by mu_
  uint64_t generation_ = 0;      // guarded by mu_; +1 per Publish and Clear
  TimePoint fresh_until_{};      // guarded by mu_
  TimePoint last_find_{};        // guarded by mu_
};

}  // namespace tally

// CounterTotalsCache: counters' totals as the group-commit writer last wrote
// them, so that after adding a batch's deltas it need not read each counter
// back from SQLite (the read was ~20% of a Zipf commit's time).
//
// It may only hold totals equal to the database's once the writer's
// transaction commits. So: a transaction that fails must Clear() it (its
// sums were never written), and whoever changes counters another way
// (SetCounter, DeleteCounter, ImportRows, DeleteSite, another process's
// commit) must Clear() it. A counter missing from it is read from SQLite,
// so a miss costs time, never a wrong number.
//
// Thread safety: none. SqliteStore uses it under its writer mutex.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/sqlite/composite_key.h"
#include "store/store.h"

namespace tally {

class CounterTotalsCache {
 public:
  // Holds at most `capacity` counters; adding one more first forgets all.
  explicit CounterTotalsCache(size_t capacity);

  CounterTotalsCache(const CounterTotalsCache&) = delete;
  CounterTotalsCache& operator=(const CounterTotalsCache&) = delete;

  // The counter's totals, with `day` as today, if they are known: nullptr if
  // the counter is not held or is held with another day as today. The
  // caller may add to them in place. Does not allocate.
  CounterTotals* Find(std::string_view site, std::string_view key, std::string_view day);

  // Remembers the counter's totals with `day` as today, replacing any.
  void Put(std::string_view site, std::string_view key, std::string_view day,
           const CounterTotals& totals);

  // Forgets every counter.
  void Clear() noexcept { entries_.clear(); }

  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string day;  // what today_* refer to
    CounterTotals totals;
  };
  const size_t capacity_;
  std::unordered_map<std::string, Entry, TransparentStringHash, std::equal_to<>> entries_;
  std::string scratch_;  // the key being looked up (composite_key.h)
};

}  // namespace tally

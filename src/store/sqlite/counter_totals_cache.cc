#include "store/sqlite/counter_totals_cache.h"

namespace tally {

CounterTotalsCache::CounterTotalsCache(size_t capacity) : capacity_(capacity) {
  entries_.reserve(capacity);
}

CounterTotals* CounterTotalsCache::Find(std::string_view site, std::string_view key,
                                        std::string_view day) {
  auto it = entries_.find(EncodeCompositeKey(scratch_, {site, key}));
  if (it == entries_.end() || it->second.day != day) return nullptr;
  return &it->second.totals;
}

void CounterTotalsCache::Put(std::string_view site, std::string_view key, std::string_view day,
                             const CounterTotals& totals) {
  if (capacity_ == 0) return;
  std::string_view encoded = EncodeCompositeKey(scratch_, {site, key});
  auto it = entries_.find(encoded);
  if (it == entries_.end()) {
    // Forgetting everything is crude but bounded and cheap: a forgotten
    // counter is read from SQLite again.
    if (entries_.size() >= capacity_) entries_.clear();
    it = entries_.emplace(encoded, Entry{}).first;
  }
  it->second.day.assign(day);
  it->second.totals = totals;
}

}  // namespace tally

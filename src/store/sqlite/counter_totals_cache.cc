#include "store/sqlite/counter_totals_cache.h"

#include <cstdint>

namespace tally {

CounterTotalsCache::CounterTotalsCache(size_t capacity) : capacity_(capacity) {
  entries_.reserve(capacity);
}

std::string_view CounterTotalsCache::Encode(std::string_view site, std::string_view key) {
  scratch_.clear();
  for (std::string_view field : {site, key}) {
    const auto size = static_cast<uint32_t>(field.size());  // keys are <= 256 bytes
    scratch_.append(reinterpret_cast<const char*>(&size), sizeof size);
    scratch_.append(field);
  }
  return scratch_;
}

CounterTotals* CounterTotalsCache::Find(std::string_view site, std::string_view key,
                                        std::string_view day) {
  auto it = entries_.find(Encode(site, key));
  if (it == entries_.end() || it->second.day != day) return nullptr;
  return &it->second.totals;
}

void CounterTotalsCache::Put(std::string_view site, std::string_view key, std::string_view day,
                             const CounterTotals& totals) {
  if (capacity_ == 0) return;
  std::string_view encoded = Encode(site, key);
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

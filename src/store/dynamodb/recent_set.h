// RecentSet: a bounded set of strings that forgets the oldest first, for
// remembering which visitor seen-markers are known to exist (so a visitor's
// second hit of the day costs no DynamoDB write).
//
// Thread safety: every method may be called from any thread, concurrently.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <unordered_set>

namespace tally {

class RecentSet {
 public:
  explicit RecentSet(size_t capacity) : capacity_(capacity) {}

  // True if `value` was inserted and not yet forgotten.
  bool Contains(const std::string& value) const {
    std::lock_guard<std::mutex> lock(mu_);
    return set_.contains(value);
  }

  // Remembers `value`, forgetting the oldest entry if over capacity.
  void Insert(const std::string& value) {
    if (capacity_ == 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (!set_.insert(value).second) return;
    order_.push_back(value);
    while (order_.size() > capacity_) {
      set_.erase(order_.front());
      order_.pop_front();
    }
  }

 private:
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_set<std::string> set_;  // guarded by mu_
  std::deque<std::string> order_;        // guarded by mu_
};

}  // namespace tally

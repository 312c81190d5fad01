#include "store/sqlite/visitor_mark_cache.h"

namespace tally {

VisitorMarkCache::VisitorMarkCache(size_t capacity) : capacity_(capacity) {
  marks_.reserve(capacity);
}

bool VisitorMarkCache::Contains(std::string_view site, std::string_view day, std::string_view hash,
                                std::string_view key) {
  return marks_.find(EncodeCompositeKey(scratch_, {site, day, hash, key})) != marks_.end();
}

void VisitorMarkCache::Insert(std::string_view site, std::string_view day, std::string_view hash,
                              std::string_view key) {
  if (capacity_ == 0) return;
  std::string_view encoded = EncodeCompositeKey(scratch_, {site, day, hash, key});
  if (marks_.find(encoded) != marks_.end()) return;
  // Forgetting everything is crude but bounded and cheap: a forgotten marker
  // is looked up in SQLite again.
  if (marks_.size() >= capacity_) marks_.clear();
  marks_.emplace(encoded);
}

}  // namespace tally

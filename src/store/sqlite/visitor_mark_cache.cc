#include "store/sqlite/visitor_mark_cache.h"

#include <cstdint>

namespace tally {

VisitorMarkCache::VisitorMarkCache(size_t capacity) : capacity_(capacity) {
  marks_.reserve(capacity);
}

std::string_view VisitorMarkCache::Encode(std::string_view site, std::string_view day,
                                          std::string_view hash, std::string_view key) {
  scratch_.clear();
  for (std::string_view field : {site, day, hash, key}) {
    // Fields are short (keys <= 256 bytes); 32 bits of length is plenty.
    const auto size = static_cast<uint32_t>(field.size());
    scratch_.append(reinterpret_cast<const char*>(&size), sizeof size);
    scratch_.append(field);
  }
  return scratch_;
}

bool VisitorMarkCache::Contains(std::string_view site, std::string_view day, std::string_view hash,
                                std::string_view key) {
  return marks_.find(Encode(site, day, hash, key)) != marks_.end();
}

void VisitorMarkCache::Insert(std::string_view site, std::string_view day, std::string_view hash,
                              std::string_view key) {
  if (capacity_ == 0) return;
  std::string_view encoded = Encode(site, day, hash, key);
  if (marks_.find(encoded) != marks_.end()) return;
  // Forgetting everything is crude but bounded and cheap: a forgotten marker
  // is looked up in SQLite again.
  if (marks_.size() >= capacity_) marks_.clear();
  marks_.emplace(encoded);
}

}  // namespace tally

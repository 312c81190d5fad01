// VisitorMarkCache: visitor seen-markers that this process knows are in the
// database, so that the group-commit writer need not ask SQLite again about
// a visitor who comes back to the same counter on the same day.
//
// It may only hold markers whose transaction committed. A marker missing
// from it is looked up in SQLite as before, so a miss costs time, never a
// wrong count; a marker it holds that the database lost would stop a new
// visitor from being counted, which is why whoever deletes markers
// (ForgetVisitorsBefore, DeleteSite, another process's commit) must Clear()
// it.
//
// Thread safety: none. SqliteStore uses it under its writer mutex.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "store/sqlite/composite_key.h"

namespace tally {

class VisitorMarkCache {
 public:
  // Holds at most `capacity` markers; inserting one more first forgets all.
  explicit VisitorMarkCache(size_t capacity);

  VisitorMarkCache(const VisitorMarkCache&) = delete;
  VisitorMarkCache& operator=(const VisitorMarkCache&) = delete;

  // True if the marker (site, day, hash, key) was Insert()ed since the last
  // Clear(). Does not allocate once the scratch buffer has grown.
  bool Contains(std::string_view site, std::string_view day, std::string_view hash,
                std::string_view key);

  // Remembers a marker that is committed to the database.
  void Insert(std::string_view site, std::string_view day, std::string_view hash,
              std::string_view key);

  // Forgets every marker.
  void Clear() { marks_.clear(); }

  size_t size() const { return marks_.size(); }

 private:
  const size_t capacity_;
  std::unordered_set<std::string, TransparentStringHash, std::equal_to<>> marks_;
  std::string scratch_;  // the key being looked up (composite_key.h)
};

}  // namespace tally

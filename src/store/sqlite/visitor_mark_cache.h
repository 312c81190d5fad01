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
  // A transparent hash, so that Contains looks up a string_view into
  // scratch_ without building a std::string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };

  // Writes the marker's fields, each prefixed with its length, into scratch_
  // (unambiguous whatever bytes the fields hold).
  std::string_view Encode(std::string_view site, std::string_view day, std::string_view hash,
                          std::string_view key);

  const size_t capacity_;
  std::unordered_set<std::string, Hash, std::equal_to<>> marks_;
  std::string scratch_;
};

}  // namespace tally

// SiteRegistry: the in-memory view of all sites, read on every hit.
//
// The store is the truth; the registry is loaded from it at start, updated
// by this process's admin calls, and reloaded periodically (ReplaceAll) so
// that changes made by other processes (the CLI, other instances) show up.
//
// Thread safety: all methods may be called from any thread. Find takes a
// shared lock only.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/store.h"

namespace tally {

class SiteRegistry {
 public:
  // The site named `name`, or nullptr. The record is immutable; a later Put
  // replaces it without disturbing holders of the old one.
  std::shared_ptr<const SiteRecord> Find(std::string_view name) const;

  void Put(SiteRecord site);
  void Erase(std::string_view name);
  void ReplaceAll(std::vector<SiteRecord> sites);
  size_t size() const;

 private:
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const SiteRecord>, NameHash, std::equal_to<>>
      sites_;  // guarded by mu_
};

}  // namespace tally

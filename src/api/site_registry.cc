#include "api/site_registry.h"

#include <mutex>

namespace tally {

std::shared_ptr<const SiteRecord> SiteRegistry::Find(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = sites_.find(name);
  return it == sites_.end() ? nullptr : it->second;
}

void SiteRegistry::Put(SiteRecord site) {
  auto record = std::make_shared<const SiteRecord>(std::move(site));
  std::unique_lock lock(mu_);
  sites_.insert_or_assign(record->name, std::move(record));
}

void SiteRegistry::Erase(std::string_view name) {
  std::unique_lock lock(mu_);
  auto it = sites_.find(name);
  if (it != sites_.end()) sites_.erase(it);
}

void SiteRegistry::ReplaceAll(std::vector<SiteRecord> sites) {
  decltype(sites_) fresh;
  for (auto& site : sites) {
    std::string name = site.name;
    fresh.emplace(std::move(name), std::make_shared<const SiteRecord>(std::move(site)));
  }
  std::unique_lock lock(mu_);
  sites_.swap(fresh);
}

size_t SiteRegistry::size() const {
  std::shared_lock lock(mu_);
  return sites_.size();
}

}  // namespace tally

// Creating and changing sites, shared by the admin endpoints and the CLI, so
// both apply the same rules and make tokens the same way.
//
// Functions that take a Store block; call them off the network threads.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "store/store.h"

namespace tally {

// The settings a caller may set; unset fields keep their value (update) or
// take the default (create).
struct SiteSettings {
  std::optional<std::string> name;
  std::optional<std::vector<std::string>> origins;
  std::optional<bool> require_public_key;
  std::optional<std::string> timezone;
  std::optional<int32_t> rate_limit_per_minute;  // 0 = the server's default
  std::optional<bool> rate_limit_ignore;
};

// Validates each present field. InvalidArgument names the first bad one.
Status ValidateSiteSettings(const SiteSettings& settings);

// Reads settings from a JSON object such as
// {"site":"example.com","origins":["https://example.com"],"require_public_key":true}.
// Unknown fields and wrong types are InvalidArgument (typos must not pass
// silently). `allow_name` is false for updates, which cannot rename.
Result<SiteSettings> SiteSettingsFromJson(const nlohmann::json& body, bool allow_name);

// A new site and its secrets, which exist only in this value: the store keeps
// their hashes.
struct CreatedSite {
  SiteRecord record;
  std::string admin_token;
  std::string public_key;
};

// Creates a site with fresh tokens. AlreadyExists if the name is taken.
Result<CreatedSite> CreateSite(Store& store, const Clock& clock, const SiteSettings& settings);

// Applies `settings` to the stored site and returns the new record.
Result<SiteRecord> UpdateSite(Store& store, std::string_view name, const SiteSettings& settings);

enum class TokenKind { kAdmin, kPublic };

// Replaces the site's admin token or public key; the old one stops working
// at once. Returns the new secret and stores only its hash in `*record`.
Result<std::string> RotateToken(Store& store, std::string_view name, TokenKind kind,
                                SiteRecord* record);

// The public view of a site (no hashes).
nlohmann::json SiteToJson(const SiteRecord& site);

}  // namespace tally

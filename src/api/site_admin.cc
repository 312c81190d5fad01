#include "api/site_admin.h"

#include "api/cors_policy.h"
#include "api/validation.h"
#include "auth/token.h"
#include "common/local_day.h"

namespace tally {
namespace {

constexpr size_t kMaxOrigins = 64;
constexpr size_t kMaxOriginBytes = 255;

}  // namespace

Status ValidateSiteSettings(const SiteSettings& s) {
  if (s.name && !IsValidSiteName(*s.name)) {
    return Status::InvalidArgument("a site name is [a-z0-9][a-z0-9.-]{0,62}");
  }
  if (s.origins) {
    if (s.origins->size() > kMaxOrigins) {
      return Status::InvalidArgument("a site has at most 64 origins");
    }
    for (const std::string& origin : *s.origins) {
      if (origin.size() > kMaxOriginBytes) return Status::InvalidArgument("origin too long");
      for (char c : origin) {
        if (c <= 0x20 || c >= 0x7f) {
          return Status::InvalidArgument("an origin is printable ASCII (use punycode for IDNs)");
        }
      }
      Status valid = ValidateOriginPattern(origin);
      if (!valid.ok()) return valid;
    }
  }
  if (s.timezone && !IsKnownTimeZone(*s.timezone)) {
    return Status::InvalidArgument("unknown time zone '" + *s.timezone +
                                   "' (use an IANA name such as Europe/Berlin)");
  }
  if (s.rate_limit_per_minute && (*s.rate_limit_per_minute < 0 || *s.rate_limit_per_minute > 1000000)) {
    return Status::InvalidArgument("rate_limit_per_minute must be 0 (default) to 1000000");
  }
  return Status::Ok();
}

Result<SiteSettings> SiteSettingsFromJson(const nlohmann::json& body, bool allow_name) {
  if (!body.is_object()) return Status::InvalidArgument("the body must be a JSON object");
  SiteSettings s;
  for (const auto& [field, value] : body.items()) {
    if (field == "site" && allow_name) {
      if (!value.is_string()) return Status::InvalidArgument("'site' must be a string");
      s.name = value.get<std::string>();
    } else if (field == "origins") {
      if (!value.is_array()) return Status::InvalidArgument("'origins' must be an array");
      std::vector<std::string> origins;
      for (const auto& o : value) {
        if (!o.is_string()) return Status::InvalidArgument("each origin must be a string");
        origins.push_back(o.get<std::string>());
      }
      s.origins = std::move(origins);
    } else if (field == "require_public_key") {
      if (!value.is_boolean()) {
        return Status::InvalidArgument("'require_public_key' must be true or false");
      }
      s.require_public_key = value.get<bool>();
    } else if (field == "rate_limit_per_minute") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 1000000) {
        return Status::InvalidArgument("'rate_limit_per_minute' must be a whole number 0..1000000");
      }
      s.rate_limit_per_minute = value.get<int32_t>();
    } else if (field == "rate_limit_ignore") {
      if (!value.is_boolean()) {
        return Status::InvalidArgument("'rate_limit_ignore' must be true or false");
      }
      s.rate_limit_ignore = value.get<bool>();
    } else if (field == "timezone") {
      if (!value.is_string()) return Status::InvalidArgument("'timezone' must be a string");
      s.timezone = value.get<std::string>();
    } else {
      return Status::InvalidArgument("unknown field '" + field + "'");
    }
  }
  Status valid = ValidateSiteSettings(s);
  if (!valid.ok()) return valid;
  return s;
}

Result<CreatedSite> CreateSite(Store& store, const Clock& clock, const SiteSettings& settings) {
  if (!settings.name) return Status::InvalidArgument("'site' is required");
  Status valid = ValidateSiteSettings(settings);
  if (!valid.ok()) return valid;
  auto admin = NewToken("tly_");
  auto pub = NewToken("pk_");
  if (!admin.ok()) return admin.status();
  if (!pub.ok()) return pub.status();
  CreatedSite created;
  created.record.name = *settings.name;
  created.record.origins = settings.origins.value_or(std::vector<std::string>{});
  created.record.require_public_key = settings.require_public_key.value_or(false);
  created.record.timezone = settings.timezone.value_or("UTC");
  created.record.rate_limit_per_minute = settings.rate_limit_per_minute.value_or(0);
  created.record.rate_limit_ignore = settings.rate_limit_ignore.value_or(false);
  created.record.created_at = clock.NowUnixSeconds();
  created.record.admin_token_hash = HashToken(*admin);
  created.record.public_key_hash = HashToken(*pub);
  Status stored = store.CreateSite(created.record);
  if (!stored.ok()) return stored;
  created.admin_token = std::move(admin).value();
  created.public_key = std::move(pub).value();
  return created;
}

Result<SiteRecord> UpdateSite(Store& store, std::string_view name, const SiteSettings& settings) {
  Status valid = ValidateSiteSettings(settings);
  if (!valid.ok()) return valid;
  auto site = store.GetSite(name);
  if (!site.ok()) return site.status();
  if (settings.origins) site->origins = *settings.origins;
  if (settings.require_public_key) site->require_public_key = *settings.require_public_key;
  if (settings.timezone) site->timezone = *settings.timezone;
  if (settings.rate_limit_per_minute) site->rate_limit_per_minute = *settings.rate_limit_per_minute;
  if (settings.rate_limit_ignore) site->rate_limit_ignore = *settings.rate_limit_ignore;
  Status stored = store.UpdateSite(*site);
  if (!stored.ok()) return stored;
  return site;
}

Result<std::string> RotateToken(Store& store, std::string_view name, TokenKind kind,
                                SiteRecord* record) {
  auto site = store.GetSite(name);
  if (!site.ok()) return site.status();
  auto token = NewToken(kind == TokenKind::kAdmin ? "tly_" : "pk_");
  if (!token.ok()) return token.status();
  (kind == TokenKind::kAdmin ? site->admin_token_hash : site->public_key_hash) = HashToken(*token);
  Status stored = store.UpdateSite(*site);
  if (!stored.ok()) return stored;
  *record = std::move(site).value();
  return token;
}

nlohmann::json SiteToJson(const SiteRecord& site) {
  return {{"site", site.name},
          {"origins", site.origins},
          {"require_public_key", site.require_public_key},
          {"timezone", site.timezone},
          {"rate_limit_per_minute", site.rate_limit_per_minute},
          {"rate_limit_ignore", site.rate_limit_ignore},
          {"created_at", site.created_at}};
}

}  // namespace tally

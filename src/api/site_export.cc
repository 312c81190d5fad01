#include "api/site_export.h"

#include <nlohmann/json.hpp>

#include "api/validation.h"
#include "common/local_day.h"

namespace tally {
namespace {

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<int64_t> Count(const nlohmann::json& obj, const char* field, bool required) {
  if (!obj.contains(field)) {
    if (required) return Status::InvalidArgument(std::string("'") + field + "' is required");
    return int64_t{0};
  }
  const nlohmann::json& v = obj[field];
  if (!v.is_number_unsigned() || v.get<uint64_t>() > (uint64_t{1} << 53)) {
    return Status::InvalidArgument(std::string("'") + field + "' must be a whole number >= 0");
  }
  return static_cast<int64_t>(v.get<uint64_t>());
}

}  // namespace

Status ExportSiteNdjson(Store& store, const SiteRecord& site,
                        const std::function<void(std::string_view)>& write) {
  nlohmann::json head = SiteToJson(site);
  head["type"] = "site";
  write(Dump(head));
  std::string chunk;
  Status status = store.ExportSite(site.name, [&](const ExportRow& row) {
    nlohmann::json line = {{"type", row.day.empty() ? "counter" : "day"}, {"key", row.key}};
    if (!row.day.empty()) line["day"] = row.day;
    line["hits"] = row.hits;
    line["visitors"] = row.visitors;
    chunk += Dump(line);
    if (chunk.size() > size_t{64} * 1024) {
      write(chunk);
      chunk.clear();
    }
    return true;
  });
  if (!chunk.empty()) write(chunk);
  return status;
}

Result<ImportLine> ParseImportLine(std::string_view text) {
  ImportLine out;
  if (text.find_first_not_of(" \t\r") == std::string_view::npos) return out;
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("not a JSON object");
  std::string type =
      j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>() : "counter";
  if (type == "site") {
    nlohmann::json settings = j;
    for (const char* ignored : {"type", "created_at"}) settings.erase(ignored);
    auto parsed = SiteSettingsFromJson(settings, /*allow_name=*/true);
    if (!parsed.ok()) return parsed.status();
    out.site = std::move(parsed).value();
    return out;
  }
  if (type != "counter" && type != "day") {
    return Status::InvalidArgument("unknown line type '" + type + "'");
  }
  ExportRow row;
  if (!j.contains("key") || !j["key"].is_string()) {
    return Status::InvalidArgument("'key' must be a string");
  }
  row.key = j["key"].get<std::string>();
  if (Status valid = ValidateKey(row.key); !valid.ok()) return valid;
  if (type == "day") {
    if (!j.contains("day") || !j["day"].is_string() || !IsValidDay(j["day"].get<std::string>())) {
      return Status::InvalidArgument("'day' must be a date YYYY-MM-DD");
    }
    row.day = j["day"].get<std::string>();
  }
  auto hits = Count(j, "hits", /*required=*/true);
  if (!hits.ok()) return hits.status();
  auto visitors = Count(j, "visitors", /*required=*/false);
  if (!visitors.ok()) return visitors.status();
  row.hits = *hits;
  row.visitors = *visitors;
  out.row = std::move(row);
  return out;
}

}  // namespace tally

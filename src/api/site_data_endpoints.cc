#include "api/site_data_endpoints.h"

#include <nlohmann/json.hpp>

#include "api/site_endpoints.h"
#include "api/site_export.h"
#include "api/validation.h"
#include "common/local_day.h"

namespace tally {
namespace {

constexpr int kDefaultDays = 30;
constexpr int kMaxDays = 732;  // two years, leap day included

}  // namespace

void SiteDataEndpoints::Series(const Request& request, std::string_view site,
                               const QueryParams& query, ResponseSink& sink) {
  Response response;
  std::optional<std::string> key;
  if (const std::string* k = query.Find("key")) {
    if (Status valid = ValidateKey(*k); !valid.ok()) {
      SetError(response, 400, "invalid_key", valid.message());
      return Finish(ctx_, sink, Route::kSeries, std::move(response));
    }
    key = *k;
  }
  std::string from = query.Find("from") ? *query.Find("from") : "";
  std::string to = query.Find("to") ? *query.Find("to") : "";
  for (const std::string* day : {&from, &to}) {
    if (!day->empty() && !IsValidDay(*day)) {
      SetError(response, 400, "invalid_query", "from and to are dates YYYY-MM-DD");
      return Finish(ctx_, sink, Route::kSeries, std::move(response));
    }
  }
  RunBlocking(ctx_, sink, Route::kSeries,
              [this, &request, name = std::string(site), key, from, to]() mutable {
                Response response;
                auto site = AdmitSiteAdmin(ctx_, request, name, response);
                if (!site.ok()) return response;
                if (to.empty()) to = LocalDay(site->timezone, ctx_.clock.NowUnixSeconds());
                if (from.empty()) from = AddDays(to, -(kDefaultDays - 1));
                if (from > to) {
                  SetError(response, 400, "invalid_query", "from is after to");
                  return response;
                }
                if (AddDays(from, kMaxDays - 1) < to) {
                  SetError(response, 400, "invalid_query", "a series spans at most 732 days");
                  return response;
                }
                std::optional<std::string_view> key_view;
                if (key) key_view = *key;
                auto rows = ctx_.store.ReadSeries(name, key_view, from, to);
                if (!rows.ok()) {
                  SetErrorFromStatus(response, rows.status());
                  return response;
                }
                // Dense: every day of the range, zeros where nothing was counted.
                nlohmann::json days = nlohmann::json::array();
                int64_t hits = 0, visitors = 0;
                size_t next = 0;
                for (std::string day = from; day <= to; day = AddDays(day, 1)) {
                  int64_t h = 0, v = 0;
                  if (next < rows->size() && (*rows)[next].day == day) {
                    h = (*rows)[next].hits;
                    v = (*rows)[next].visitors;
                    ++next;
                  }
                  hits += h;
                  visitors += v;
                  days.push_back({{"day", day}, {"hits", h}, {"visitors", v}});
                }
                nlohmann::json out = {{"site", name},
                                      {"key", key ? nlohmann::json(*key) : nlohmann::json()},
                                      {"from", from},
                                      {"to", to},
                                      {"timezone", site->timezone},
                                      {"days", std::move(days)},
                                      {"total", {{"hits", hits}, {"visitors", visitors}}}};
                response.body = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
                response.SetHeader("Cache-Control", "no-store");
                return response;
              });
}

void SiteDataEndpoints::Export(const Request& request, std::string_view site, ResponseSink& sink) {
  RunBlocking(ctx_, sink, Route::kExport, [this, &request, name = std::string(site)] {
    Response response;
    auto site = AdmitSiteAdmin(ctx_, request, name, response);
    if (!site.ok()) return response;
    std::string body;
    Status status =
        ExportSiteNdjson(ctx_.store, *site, [&](std::string_view chunk) { body += chunk; });
    if (!status.ok()) {
      SetErrorFromStatus(response, status);
      return response;
    }
    response.content_type = "application/x-ndjson; charset=utf-8";
    response.body = std::move(body);
    response.SetHeader("Content-Disposition", "attachment; filename=\"" + name + ".ndjson\"");
    response.SetHeader("Cache-Control", "no-store");
    return response;
  });
}

}  // namespace tally

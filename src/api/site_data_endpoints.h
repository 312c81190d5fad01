// Admin endpoints that read a site's history: the daily series and the
// NDJSON export. Root or the site's admin token. Work runs on the blocking
// executor.
#pragma once

#include <string_view>

#include "api/api_context.h"
#include "api/query.h"

namespace tally {

class SiteDataEndpoints {
 public:
  explicit SiteDataEndpoints(ApiContext& ctx) : ctx_(ctx) {}

  // GET /v1/sites/{site}/series[?key=K][&from=YYYY-MM-DD][&to=YYYY-MM-DD]:
  // one entry per day from `from` to `to` (default: the last 30 days in the
  // site's time zone), days without hits included as zeros; without `key`,
  // the site's counters summed.
  void Series(const Request& request, std::string_view site, const QueryParams& query,
              ResponseSink& sink);

  // GET /v1/sites/{site}/export: the site as NDJSON (api/site_export.h).
  void Export(const Request& request, std::string_view site, ResponseSink& sink);

 private:
  ApiContext& ctx_;
};

}  // namespace tally

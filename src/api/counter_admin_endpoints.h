// Admin endpoints for a site's counters: list (paginated), set, delete.
// Root or the site's admin token. Work runs on the blocking executor.
#pragma once

#include <string_view>

#include "api/api_context.h"
#include "api/query.h"

namespace tally {

class CounterAdminEndpoints {
 public:
  explicit CounterAdminEndpoints(ApiContext& ctx) : ctx_(ctx) {}

  // GET /v1/sites/{site}/counters[?limit=N&cursor=C]
  void List(const Request& request, std::string_view site, const QueryParams& query,
            ResponseSink& sink);
  // PUT /v1/sites/{site}/counters?key=K  {"hits": N}
  void Set(const Request& request, std::string_view site, const QueryParams& query,
           ResponseSink& sink);
  // DELETE /v1/sites/{site}/counters?key=K
  void Delete(const Request& request, std::string_view site, const QueryParams& query,
              ResponseSink& sink);

 private:
  ApiContext& ctx_;
};

}  // namespace tally

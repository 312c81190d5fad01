// Admin endpoints for sites and their tokens. Root-only: create, list,
// delete. Root or the site's admin token: read, change, rotate tokens.
//
// Called on network threads; the work runs on the blocking executor.
#pragma once

#include <string_view>

#include "api/api_context.h"
#include "api/query.h"

namespace tally {

class SiteEndpoints {
 public:
  explicit SiteEndpoints(ApiContext& ctx) : ctx_(ctx) {}

  void Create(const Request& request, ResponseSink& sink);  // POST /v1/sites
  void List(const Request& request, ResponseSink& sink);    // GET /v1/sites
  void Get(const Request& request, std::string_view site, ResponseSink& sink);
  void Update(const Request& request, std::string_view site, ResponseSink& sink);  // PATCH
  void Delete(const Request& request, std::string_view site, ResponseSink& sink);  // root
  // POST /v1/sites/{site}/tokens:rotate[?kind=admin|public]
  void RotateToken(const Request& request, std::string_view site, const QueryParams& query,
                   ResponseSink& sink);

 private:
  ApiContext& ctx_;
};

// For site-scoped admin work on the blocking executor: loads the site from
// the store, checks the bearer token against root and the site's admin token
// and adds CORS headers for an allowed origin. Returns the site, or fills
// `response` with the error and returns an error status.
Result<SiteRecord> AdmitSiteAdmin(ApiContext& ctx, const Request& request, std::string_view site,
                                  Response& response);

}  // namespace tally

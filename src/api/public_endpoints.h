// The endpoints browsers call: count a hit, read a counter, and their CORS
// preflights. Each checks the site's allowed origins and, if the site asks
// for one, its public key (x-api-key), before touching anything.
//
// Called on network threads; never blocks (hits go to the CountingService,
// reads to the blocking executor).
#pragma once

#include <string_view>

#include "api/api_context.h"
#include "api/query.h"

namespace tally {

class PublicEndpoints {
 public:
  explicit PublicEndpoints(ApiContext& ctx) : ctx_(ctx) {}

  // POST /v1/sites/{site}/hits?key=K
  void Hit(const Request& request, std::string_view site, const QueryParams& query,
           ResponseSink& sink);
  // GET /v1/sites/{site}/counters?key=K
  void Read(const Request& request, std::string_view site, const QueryParams& query,
            ResponseSink& sink);
  // OPTIONS on a public or admin path of `site`; `methods` are those the path accepts.
  void Preflight(const Request& request, std::string_view site, std::string_view methods,
                 ResponseSink& sink);

 private:
  // Looks the site up and checks origin and public key. On failure fills
  // `response` with the error and returns nullptr. On success adds the CORS
  // headers for the request's origin to `response`.
  std::shared_ptr<const SiteRecord> Admit(const Request& request, std::string_view site,
                                          Response& response);

  ApiContext& ctx_;
};

// The key a public request names: the `key` parameter, "/" when absent.
// Fills `response` with 400 and returns nullptr if it is not a valid key.
const std::string* KeyParam(const QueryParams& query, Response& response);

}  // namespace tally

// Api: the transport-neutral front of Tally. Routes each Request to its
// endpoint and guarantees one Response per request, JSON errors included.
//
// Handle() may be called from any number of threads at once; it never
// blocks: store work runs on the blocking executor, hits on the counting
// service's writer.
#pragma once

#include "api/api_context.h"
#include "api/compat_endpoints.h"
#include "api/badge_endpoint.h"
#include "api/counter_admin_endpoints.h"
#include "api/ops_endpoints.h"
#include "api/public_endpoints.h"
#include "api/request_handler.h"
#include "api/site_data_endpoints.h"
#include "api/site_endpoints.h"

namespace tally {

class Api : public RequestHandler {
 public:
  // `ctx`'s references must outlive the Api.
  explicit Api(ApiContext ctx);

  void Handle(const Request& request, ResponseSink& sink) override;

 private:
  void HandleSites(const Request& request, std::string_view rest, ResponseSink& sink);

  ApiContext ctx_;
  PublicEndpoints public_;
  SiteEndpoints sites_;
  CounterAdminEndpoints counters_;
  OpsEndpoints ops_;
  BadgeEndpoint badge_;
  SiteDataEndpoints data_;
  CompatEndpoints compat_;
};

}  // namespace tally

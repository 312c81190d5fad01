// The seam between a transport (HTTP server, Lambda adapter) and the api.
#pragma once

#include "api/request.h"
#include "api/response.h"

namespace tally {

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;

  // Handles `request` and eventually calls sink.Send exactly once, possibly
  // before returning, possibly later on another thread. `request` and `sink`
  // must stay valid until Send has been called. Never throws.
  virtual void Handle(const Request& request, ResponseSink& sink) = 0;
};

}  // namespace tally

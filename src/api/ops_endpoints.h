// Operational endpoints (/healthz, /readyz, /metrics) and the embedded static
// files (/counter.js, /demo/, ...).
#pragma once

#include "api/api_context.h"

namespace tally {

class OpsEndpoints {
 public:
  explicit OpsEndpoints(ApiContext& ctx) : ctx_(ctx) {}

  void Healthz(ResponseSink& sink);  // alive: answers without touching the store
  void Readyz(ResponseSink& sink);   // ready: the store answers
  void Metrics(ResponseSink& sink);  // Prometheus text format
  // GET/HEAD of an embedded file; false if there is none at `path` (the
  // caller answers 404 then).
  bool Static(std::string_view path, ResponseSink& sink);

 private:
  ApiContext& ctx_;
};

}  // namespace tally

// What every endpoint of the api works with. Built once by whoever hosts the
// api (tally serve, the Lambda); all references outlive the Api.
#pragma once

#include <exception>
#include <string>

#include <spdlog/spdlog.h>

#include "api/error_response.h"
#include "api/metrics.h"
#include "api/request.h"
#include "api/response.h"
#include "api/site_registry.h"
#include "common/blocking_executor.h"
#include "common/clock.h"
#include "counting/counting_service.h"
#include "store/store.h"

namespace tally {

class BotFilter;
class RateLimiter;
class StreamHub;
class VisitorHasher;

struct ApiOptions {
  // Hex SHA-256 of the root token; empty means no root token is configured
  // and root-only endpoints answer 401.
  std::string root_token_hash;
  // Believe the last address of X-Forwarded-For (set by our own proxy or
  // load balancer) as the client's. Off: the peer address is the client.
  bool trust_proxy = false;
  // Optional parts of counting; null turns each off. They must outlive the Api.
  VisitorHasher* visitors = nullptr;    // distinct visitors
  const BotFilter* bots = nullptr;      // bots and crawlers are not counted
  RateLimiter* rate_limiter = nullptr;  // per-client token buckets
  StreamHub* streams = nullptr;         // live counts (GET .../stream)
};

struct ApiContext {
  Store& store;
  CountingService& counting;
  SiteRegistry& sites;
  BlockingExecutor& blocking;  // runs everything that touches the store, except hits
  Metrics& metrics;
  const Clock& clock;
  ApiOptions options;
};

// Counts the answer in the metrics and hands it to the sink. Every endpoint
// answers through this, exactly once per request.
inline void Finish(ApiContext& ctx, ResponseSink& sink, Route route, Response response) {
  ctx.metrics.CountRequest(route, response.status);
  sink.Send(std::move(response));
}

// Returns what `work`, a `Response()` callable, returns, or a 500 if it
// throws: exceptions do not leave an endpoint.
template <typename Work>
Response CallGuarded(Work& work) {
  Response response;
  try {
    response = work();
  } catch (const std::exception& e) {
    spdlog::error("handler failed: {}", e.what());
    SetError(response, 500, "internal", "internal error");
  }
  return response;
}

// Runs `work`, a `Response()` callable that may block, on the blocking
// executor and answers with what it returns (500 if it throws), or answers
// 503 at once if the executor is saturated.
template <typename Work>
void RunBlocking(ApiContext& ctx, ResponseSink& sink, Route route, Work work) {
  bool posted = ctx.blocking.Post([&ctx, &sink, route, work = std::move(work)]() mutable {
    Finish(ctx, sink, route, CallGuarded(work));
  });
  if (!posted) {
    Response response;
    SetError(response, 503, "overloaded", "the server is busy; try again shortly");
    Finish(ctx, sink, route, std::move(response));
  }
}

}  // namespace tally

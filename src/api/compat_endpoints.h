// Routes of other counter services, so that pages written for them keep
// working when moved to Tally by changing only the host:
//
// - the seed architecture's API: GET|POST /visits/{id} (with x-api-key when
//   the site requires it) -> {"visits":N}, counted on site `default`;
// - CountAPI (shut down in 2023): /hit, /get, /create, /set, /update, /info
//   -> {"value":N} and CountAPI's other fields, JSONP with ?callback=, the
//   X-Path header, and open CORS. CountAPI names ([A-Za-z0-9_.-]{3,64},
//   case-sensitive) do not fit site names, so every namespace lives in the
//   site `countapi` under the key "{namespace}/{key}": lossless, and the
//   site's settings (rate limit, time zone) apply to all of them.
//   Like Abacus, /create hands out an admin key, shown once, without which
//   /set and /update are refused (CountAPI's enable_reset let anybody reset).
//
// Called on network threads; blocking work goes to the blocking executor.
#pragma once

#include <mutex>
#include <string>
#include <string_view>

#include "api/api_context.h"
#include "api/public_endpoints.h"
#include "api/query.h"

namespace tally {

inline constexpr std::string_view kSeedSite = "default";
inline constexpr std::string_view kCountApiSite = "countapi";

class CompatEndpoints {
 public:
  CompatEndpoints(ApiContext& ctx, PublicEndpoints& public_endpoints)
      : ctx_(ctx), public_(public_endpoints) {}

  // Answers `request` and returns true if its path is one of the routes
  // above; returns false (answering nothing) otherwise.
  bool Handle(const Request& request, ResponseSink& sink);

 private:
  void Visits(const Request& request, std::string_view id, ResponseSink& sink);
  void CountApi(const Request& request, std::string_view verb, std::string_view rest,
                ResponseSink& sink);
  void Create(const Request& request, const QueryParams& query, ResponseSink& sink);
  void Change(const Request& request, std::string_view verb, const std::string& ns,
              const std::string& key, const QueryParams& query, ResponseSink& sink);
  void Info(const Request& request, const std::string& ns, const std::string& key,
            const QueryParams& query, ResponseSink& sink);

  // The admin key of a CountAPI counter: an HMAC of its name under a secret
  // the store keeps, so no per-counter secret needs storing. Blocks.
  Result<std::string> AdminKey(std::string_view ns, std::string_view key);

  ApiContext& ctx_;
  PublicEndpoints& public_;
  std::mutex secret_mu_;
  std::string secret_;  // guarded by secret_mu_; loaded on first use
};

}  // namespace tally

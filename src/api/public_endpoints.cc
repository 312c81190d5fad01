#include "api/public_endpoints.h"

#include "api/cors_policy.h"
#include "api/counter_json.h"
#include "api/validation.h"
#include "auth/token.h"

namespace tally {
namespace {

const std::string kRootKey = "/";

// Answers one hit once the CountingService has written it (or failed to).
// Owns copies of what it needs, because the request may be gone by then...
// except the sink, which the transport keeps until Send.
class HitAnswer final : public HitCompletion {
 public:
  HitAnswer(ApiContext& ctx, ResponseSink& sink, Response response, std::string_view site,
            std::string_view key)
      : ctx_(ctx), sink_(sink), response_(std::move(response)), site_(site), key_(key) {}

  void OnHitDone(const Status& status, const CounterTotals& totals) override {
    if (status.ok()) {
      response_.body.clear();
      AppendCounterJson(response_.body, site_, key_, totals, /*counted=*/true);
    } else {
      SetErrorFromStatus(response_, status);
    }
    Finish(ctx_, sink_, Route::kHits, std::move(response_));
    delete this;
  }

 private:
  ApiContext& ctx_;
  ResponseSink& sink_;
  Response response_;  // carries the CORS headers decided up front
  std::string site_;
  std::string key_;
};

}  // namespace

const std::string* KeyParam(const QueryParams& query, Response& response) {
  const std::string* key = query.Find("key");
  if (key == nullptr) return &kRootKey;
  Status valid = ValidateKey(*key);
  if (!valid.ok()) {
    SetError(response, 400, "invalid_key", valid.message());
    return nullptr;
  }
  return key;
}

std::shared_ptr<const SiteRecord> PublicEndpoints::Admit(const Request& request,
                                                         std::string_view site_name,
                                                         Response& response) {
  if (!IsValidSiteName(site_name)) {
    SetError(response, 400, "invalid_site", "a site name is [a-z0-9][a-z0-9.-]{0,62}");
    return nullptr;
  }
  auto site = ctx_.sites.Find(site_name);
  if (site == nullptr) {
    SetError(response, 404, "site_not_found", "no site with that name");
    return nullptr;
  }
  std::string_view origin = request.Header("origin");
  // No Origin header: not a browser's cross-origin call, nothing to check.
  if (!origin.empty() && !OriginAllowed(site->origins, origin)) {
    SetError(response, 403, "origin_not_allowed", "this origin may not call this site");
    return nullptr;
  }
  AddCorsHeaders(response, origin);
  if (site->require_public_key) {
    std::string_view key = request.Header("x-api-key");
    if (key.empty()) {
      SetError(response, 403, "public_key_required", "this site requires an x-api-key header");
      return nullptr;
    }
    if (!TokenMatches(key, site->public_key_hash)) {
      SetError(response, 403, "invalid_public_key", "the x-api-key is not this site's key");
      return nullptr;
    }
  }
  return site;
}

void PublicEndpoints::Hit(const Request& request, std::string_view site_name,
                          const QueryParams& query, ResponseSink& sink) {
  Response response;
  response.SetHeader("Cache-Control", "no-store");
  auto site = Admit(request, site_name, response);
  const std::string* key = site ? KeyParam(query, response) : nullptr;
  if (key == nullptr) {
    Finish(ctx_, sink, Route::kHits, std::move(response));
    return;
  }
  std::string day = UtcDay(ctx_.clock.NowUnixSeconds());
  auto* answer = new HitAnswer(ctx_, sink, std::move(response), site->name, *key);
  Status submitted = ctx_.counting.Submit(site->name, *key, day, answer);
  if (!submitted.ok()) {
    // Not queued, so never written: answering the error through the
    // completion keeps one code path for CORS headers and metrics.
    answer->OnHitDone(submitted, CounterTotals{});
  }
}

void PublicEndpoints::Read(const Request& request, std::string_view site_name,
                           const QueryParams& query, ResponseSink& sink) {
  Response response;
  response.SetHeader("Cache-Control", "no-store");
  auto site = Admit(request, site_name, response);
  const std::string* key = site ? KeyParam(query, response) : nullptr;
  if (key == nullptr) {
    Finish(ctx_, sink, Route::kCounterRead, std::move(response));
    return;
  }
  RunBlocking(ctx_, sink, Route::kCounterRead,
              [this, site, key = *key, response = std::move(response)]() mutable {
                auto totals =
                    ctx_.store.ReadCounter(site->name, key, UtcDay(ctx_.clock.NowUnixSeconds()));
                if (!totals.ok()) {
                  SetErrorFromStatus(response, totals.status(), "counter_not_found");
                } else {
                  AppendCounterJson(response.body, site->name, key, *totals, std::nullopt);
                }
                return std::move(response);
              });
}

void PublicEndpoints::Preflight(const Request& request, std::string_view site_name,
                                std::string_view methods, ResponseSink& sink) {
  Response response;
  std::string_view origin = request.Header("origin");
  auto site = IsValidSiteName(site_name) ? ctx_.sites.Find(site_name) : nullptr;
  if (site == nullptr) {
    SetError(response, 404, "site_not_found", "no site with that name");
  } else if (origin.empty() || !OriginAllowed(site->origins, origin)) {
    SetError(response, 403, "origin_not_allowed", "this origin may not call this site");
  } else {
    SetPreflightAnswer(response, origin, methods);
  }
  Finish(ctx_, sink, Route::kPreflight, std::move(response));
}

}  // namespace tally

#include "api/public_endpoints.h"

#include <chrono>
#include <mutex>
#include <utility>
#include "api/cors_policy.h"

#include "api/bot_filter.h"
#include "api/client_ip.h"
#include "api/counter_json.h"
#include "api/rate_limiter.h"
#include "api/stream_hub.h"
#include "api/validation.h"
#include "auth/token.h"
#include "common/local_day.h"
#include "counting/visitor_hasher.h"

namespace tally {
namespace {

const std::string kRootKey = "/";

// Lets `presenter` (if any) rewrite a finished answer; returns the route to
// count it under.
Route Present(const CounterPresenter* presenter, Route json_route, Response& response,
              const CounterTotals* totals) {
  if (presenter == nullptr) return json_route;
  presenter->Present(response, totals);
  return presenter->route();
}

// Answers one hit once the CountingService has written it (or failed to).
// Owns copies of what it needs, because the request may be gone by then...
// except the sink, which the transport keeps until Send. Recycled through a
// HitAnswerPool rather than allocated per hit.
class HitAnswer final : public HitCompletion {
 public:
  HitAnswer(ApiContext& ctx, HitAnswerPool& pool) : ctx_(ctx), pool_(pool) {}

  // Readies a taken answer for one hit. Network thread.
  void Start(ResponseSink& sink, Response response, std::string_view site, std::string_view key,
             std::shared_ptr<const CounterPresenter> presenter) {
    sink_ = &sink;
    response_ = std::move(response);
    site_.assign(site);  // keeps the capacity of an earlier hit's strings
    key_.assign(key);
    presenter_ = std::move(presenter);
  }

  // Goes back to the pool, then answers the hit: the answer must not be
  // touched afterwards. Writer (or syncer) thread, or the network thread if
  // the hit was never queued.
  void OnHitDone(const Status& status, const CounterTotals& totals) override;

 private:
  friend class tally::HitAnswerPool;

  ApiContext& ctx_;
  HitAnswerPool& pool_;
  ResponseSink* sink_ = nullptr;
  Response response_;  // carries the CORS headers decided up front
  std::string site_;
  std::string key_;
  std::shared_ptr<const CounterPresenter> presenter_;  // null: the JSON answer
  HitAnswer* next_idle_ = nullptr;                     // HitAnswerPool's free list
};

}  // namespace

// The idle HitAnswers: taken on network threads, given back on the writer
// thread once answered. At most kMaxIdle are kept (the most hits ever in
// flight at once, up to that); any thread.
class HitAnswerPool {
 public:
  explicit HitAnswerPool(ApiContext& ctx) : ctx_(ctx) {}
  ~HitAnswerPool() {
    while (idle_ != nullptr) delete std::exchange(idle_, idle_->next_idle_);
  }
  HitAnswerPool(const HitAnswerPool&) = delete;
  HitAnswerPool& operator=(const HitAnswerPool&) = delete;

  HitAnswer* Take() {
    {
      std::lock_guard lock(mu_);
      if (idle_ != nullptr) {
        --idle_count_;
        return std::exchange(idle_, idle_->next_idle_);
      }
    }
    return new HitAnswer(ctx_, *this);
  }

  void Give(HitAnswer* answer) {
    {
      std::lock_guard lock(mu_);
      if (idle_count_ < kMaxIdle) {
        ++idle_count_;
        answer->next_idle_ = std::exchange(idle_, answer);
        return;
      }
    }
    delete answer;
  }

 private:
  static constexpr size_t kMaxIdle = 4096;

  ApiContext& ctx_;
  std::mutex mu_;
  HitAnswer* idle_ = nullptr;  // guarded by mu_
  size_t idle_count_ = 0;      // guarded by mu_
};

void HitAnswer::OnHitDone(const Status& status, const CounterTotals& totals) {
  if (status.ok()) {
    response_.body.clear();
    AppendCounterJson(response_.body, site_, key_, totals, /*counted=*/true);
  } else {
    SetErrorFromStatus(response_, status);
  }
  Route route = Present(presenter_.get(), Route::kHits, response_, status.ok() ? &totals : nullptr);
  // Back to the pool before answering: once the answer is sent, the caller
  // may tear the api (and the pool) down.
  ApiContext& ctx = ctx_;
  ResponseSink& sink = *sink_;
  Response response = std::move(response_);
  sink_ = nullptr;
  presenter_.reset();  // a presenter may hold more than the pool should
  pool_.Give(this);    // another thread may take it from here on
  Finish(ctx, sink, route, std::move(response));
}

PublicEndpoints::PublicEndpoints(ApiContext& ctx)
    : ctx_(ctx), answers_(std::make_unique<HitAnswerPool>(ctx)) {}

PublicEndpoints::~PublicEndpoints() = default;

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
                                                         Response& response, bool check_origin) {
  if (!IsValidSiteName(site_name)) {
    SetError(response, 400, "invalid_site", "a site name is [a-z0-9][a-z0-9.-]{0,62}");
    return nullptr;
  }
  auto site = ctx_.sites.Find(site_name);
  if (site == nullptr) {
    SetError(response, 404, "site_not_found", "no site with that name");
    return nullptr;
  }
  std::string_view origin = check_origin ? request.Header("origin") : std::string_view();
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
                          const QueryParams& query, ResponseSink& sink,
                          std::shared_ptr<const CounterPresenter> presenter) {
  const std::string* key = query.Find("key");
  HitKey(request, site_name, key ? *key : kRootKey, sink, std::move(presenter));
}

// Validates `key` after admitting the site, so that an error answer already
// carries the CORS headers for an allowed origin.
const std::string* PublicEndpoints::ValidKey(const std::string& key, Response& response) {
  Status valid = ValidateKey(key);
  if (!valid.ok()) {
    SetError(response, 400, "invalid_key", valid.message());
    return nullptr;
  }
  return &key;
}

void PublicEndpoints::HitKey(const Request& request, std::string_view site_name,
                             const std::string& key_param, ResponseSink& sink,
                             std::shared_ptr<const CounterPresenter> presenter) {
  // Built in the buffers of the connection's previous answer, if any.
  Response response = sink.TakeSpareResponse();
  // Cache-Control and the three CORS headers: one allocation at most, not three.
  response.headers.reserve(4);
  response.SetHeader("Cache-Control", "no-store");
  auto site = Admit(request, site_name, response,
                    /*check_origin=*/presenter == nullptr || presenter->checks_origin());
  const std::string* key = site ? ValidKey(key_param, response) : nullptr;
  if (key == nullptr) {
    Route route = Present(presenter.get(), Route::kHits, response, nullptr);
    Finish(ctx_, sink, route, std::move(response));
    return;
  }
  const ApiOptions& options = ctx_.options;
  std::string day = LocalDay(site->timezone, ctx_.clock.NowUnixSeconds());
  std::string_view user_agent = request.Header("user-agent");
  std::string_view client = ClientIp(request, options.trust_proxy);

  if ((options.bots != nullptr && options.bots->IsBot(user_agent)) ||
      BotFilter::IsPrefetch(request)) {
    return AnswerNotCounted(site, *key, day, std::move(response), sink, std::move(presenter));
  }
  // A loopback client is a local proxy or tool standing for many clients (or
  // a benchmark): limiting it would limit everybody behind it at once.
  if (options.rate_limiter != nullptr && !IsLoopback(client)) {
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
    RateDecision rate =
        options.rate_limiter->Take(site->name, client, site->rate_limit_per_minute, now_ms);
    if (rate.limit > 0) {
      response.SetHeader("RateLimit-Limit", std::to_string(rate.limit));
      response.SetHeader("RateLimit-Remaining", std::to_string(rate.remaining));
      response.SetHeader("RateLimit-Reset", std::to_string(rate.reset_seconds));
    }
    if (!rate.allowed) {
      if (site->rate_limit_ignore) {
        return AnswerNotCounted(site, *key, day, std::move(response), sink, std::move(presenter));
      }
      SetError(response, 429, "rate_limited", "too many hits from this client; slow down");
      response.SetHeader("Retry-After", std::to_string(rate.retry_after_seconds));
      Route route = Present(presenter.get(), Route::kHits, response, nullptr);
      Finish(ctx_, sink, route, std::move(response));
      return;
    }
  }
  // On the stack: Submit copies it into the queued hit.
  char visitor_hash[VisitorHasher::kHashSize];
  std::string_view visitor;
  if (options.visitors != nullptr &&
      options.visitors->Hash(day, site->name, client, user_agent, visitor_hash)) {
    visitor = std::string_view(visitor_hash, sizeof visitor_hash);
  }
  HitAnswer* answer = answers_->Take();
  answer->Start(sink, std::move(response), site->name, *key, std::move(presenter));
  Status submitted = ctx_.counting.Submit(site->name, *key, day, visitor, answer);
  if (!submitted.ok()) {
    // Not queued, so never written: answering the error through the
    // completion keeps one code path for CORS headers and metrics.
    answer->OnHitDone(submitted, CounterTotals{});
  }
}

template <typename Answer>
void PublicEndpoints::WithCounter(const SiteRecord& site, const std::string& key,
                                  const std::string& day, Route route, ResponseSink& sink,
                                  Answer answer) {
  // A page that shows a counter without counting reads it on every view:
  // from memory this skips two thread hand-overs and a SQLite query.
  if (std::optional<CounterTotals> held = ctx_.store.PeekCounter(site.name, key, day)) {
    auto answer_held = [&] { return answer(Result<CounterTotals>(*held)); };
    Finish(ctx_, sink, route, CallGuarded(answer_held));
    return;
  }
  RunBlocking(ctx_, sink, route,
              [this, site = site.name, key, day, answer = std::move(answer)]() mutable {
                return answer(ctx_.store.ReadCounter(site, key, day));
              });
}

void PublicEndpoints::AnswerNotCounted(const std::shared_ptr<const SiteRecord>& site,
                                       std::string_view key, const std::string& day,
                                       Response response, ResponseSink& sink,
                                       std::shared_ptr<const CounterPresenter> presenter) {
  ctx_.metrics.hits_not_counted.fetch_add(1, std::memory_order_relaxed);
  Route route = presenter ? presenter->route() : Route::kHits;
  const std::string key_copy(key);
  WithCounter(*site, key_copy, day, route, sink,
              [site, key = key_copy, response = std::move(response),
               presenter = std::move(presenter)](const Result<CounterTotals>& totals) mutable {
                if (!totals.ok() && totals.status().code() != StatusCode::kNotFound) {
                  SetErrorFromStatus(response, totals.status());
                  if (presenter) presenter->Present(response, nullptr);
                  return std::move(response);
                }
                CounterTotals current = totals.ok() ? *totals : CounterTotals{};
                response.body.clear();
                AppendCounterJson(response.body, site->name, key, current, /*counted=*/false);
                if (presenter) presenter->Present(response, &current);
                return std::move(response);
              });
}

void PublicEndpoints::Stream(const Request& request, std::string_view site_name,
                             const QueryParams& query, ResponseSink& sink) {
  Response response;
  const std::string* key_param = query.Find("key");
  auto site = Admit(request, site_name, response);
  const std::string* key = site ? ValidKey(key_param ? *key_param : kRootKey, response) : nullptr;
  if (key == nullptr) return Finish(ctx_, sink, Route::kStream, std::move(response));
  if (ctx_.options.streams == nullptr) {
    SetError(response, 404, "not_found", "live streams are not available here");
    return Finish(ctx_, sink, Route::kStream, std::move(response));
  }
  auto subscription =
      ctx_.options.streams->Open(site->name, *key, ClientIp(request, ctx_.options.trust_proxy));
  if (!subscription.ok()) {
    SetError(response, 429, "too_many_streams", subscription.status().message());
    response.SetHeader("Retry-After", "30");
    return Finish(ctx_, sink, Route::kStream, std::move(response));
  }
  RunBlocking(ctx_, sink, Route::kStream,
              [this, site, key = *key, response = std::move(response),
               events = std::move(subscription).value()]() mutable {
                auto totals = ctx_.store.ReadCounter(
                    site->name, key, LocalDay(site->timezone, ctx_.clock.NowUnixSeconds()));
                if (!totals.ok() && totals.status().code() != StatusCode::kNotFound) {
                  SetErrorFromStatus(response, totals.status());
                  return std::move(response);
                }
                response.content_type = "text/event-stream; charset=utf-8";
                response.SetHeader("Cache-Control", "no-cache, no-store");
                response.SetHeader("X-Accel-Buffering", "no");  // nginx: do not buffer
                response.body = "retry: 3000\n\n";
                response.body += StreamHub::FormatEvent(site->name, key,
                                                        totals.ok() ? *totals : CounterTotals{});
                response.events = std::move(events);
                return std::move(response);
              });
}

void PublicEndpoints::Read(const Request& request, std::string_view site_name,
                           const QueryParams& query, ResponseSink& sink,
                           std::shared_ptr<const CounterPresenter> presenter) {
  const std::string* key = query.Find("key");
  ReadKey(request, site_name, key ? *key : kRootKey, sink, std::move(presenter));
}

void PublicEndpoints::ReadKey(const Request& request, std::string_view site_name,
                              const std::string& key_param, ResponseSink& sink,
                              std::shared_ptr<const CounterPresenter> presenter) {
  Response response;
  response.SetHeader("Cache-Control", "no-store");
  auto site = Admit(request, site_name, response,
                    /*check_origin=*/presenter == nullptr || presenter->checks_origin());
  const std::string* key = site ? ValidKey(key_param, response) : nullptr;
  if (key == nullptr) {
    Route route = Present(presenter.get(), Route::kCounterRead, response, nullptr);
    Finish(ctx_, sink, route, std::move(response));
    return;
  }
  Route route = presenter ? presenter->route() : Route::kCounterRead;
  WithCounter(*site, *key, LocalDay(site->timezone, ctx_.clock.NowUnixSeconds()), route, sink,
              [site, key = *key, response = std::move(response),
               presenter = std::move(presenter)](const Result<CounterTotals>& totals) mutable {
                if (!totals.ok()) {
                  SetErrorFromStatus(response, totals.status(), "counter_not_found");
                } else {
                  AppendCounterJson(response.body, site->name, key, *totals, std::nullopt);
                }
                if (presenter) presenter->Present(response, totals.ok() ? &*totals : nullptr);
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

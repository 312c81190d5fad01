// The endpoints browsers call: count a hit, read a counter, and their CORS
// preflights. Each checks the site's allowed origins and, if the site asks
// for one, its public key (x-api-key), before touching anything.
//
// Called on network threads; never blocks (hits go to the CountingService,
// reads to the blocking executor unless the store holds the counter in memory).
#pragma once

#include <memory>
#include <string_view>

#include "api/api_context.h"
#include "api/query.h"

namespace tally {

// Presents the answer of a Hit or Read in another form than the JSON API's
// (the badge endpoint renders SVG, the compatible routes their own JSON).
// Unless checks_origin(), it is exempt from the origin check: badges are
// images that any page may embed. Called on any thread; must be immutable.
class CounterPresenter {
 public:
  virtual ~CounterPresenter() = default;
  // The route the answer is counted under in the metrics.
  virtual Route route() const = 0;
  // Rewrites the finished JSON answer `response` just before it is sent:
  // `totals` is the counter on success, nullptr when `response` is an error.
  virtual void Present(Response& response, const CounterTotals* totals) const = 0;
  // Whether the site's allowed origins still apply (true for the JSON
  // shapes of the compatible routes; false for images such as badges).
  virtual bool checks_origin() const { return false; }
};

class HitAnswerPool;

// Must outlive every hit it handed to the CountingService (as `ctx` must).
class PublicEndpoints {
 public:
  explicit PublicEndpoints(ApiContext& ctx);
  ~PublicEndpoints();
  PublicEndpoints(const PublicEndpoints&) = delete;
  PublicEndpoints& operator=(const PublicEndpoints&) = delete;

  // POST /v1/sites/{site}/hits?key=K. With a `presenter`, answered in its form.
  void Hit(const Request& request, std::string_view site, const QueryParams& query,
           ResponseSink& sink, std::shared_ptr<const CounterPresenter> presenter = nullptr);
  // GET /v1/sites/{site}/counters?key=K. With a `presenter`, answered in its form.
  void Read(const Request& request, std::string_view site, const QueryParams& query,
            ResponseSink& sink, std::shared_ptr<const CounterPresenter> presenter = nullptr);
  // GET /v1/sites/{site}/stream?key=K: Server-Sent Events with the
  // counter's numbers now and whenever they change.
  void Stream(const Request& request, std::string_view site, const QueryParams& query,
              ResponseSink& sink);
  // The same for a key given directly (the compatible routes take it from
  // the path).
  void HitKey(const Request& request, std::string_view site, const std::string& key,
              ResponseSink& sink, std::shared_ptr<const CounterPresenter> presenter = nullptr);
  void ReadKey(const Request& request, std::string_view site, const std::string& key,
               ResponseSink& sink, std::shared_ptr<const CounterPresenter> presenter = nullptr);
  // OPTIONS on a public or admin path of `site`; `methods` are those the path accepts.
  void Preflight(const Request& request, std::string_view site, std::string_view methods,
                 ResponseSink& sink);

 private:
  static const std::string* ValidKey(const std::string& key, Response& response);
  // Answers with `answer(Result<CounterTotals>)`, a copyable callable
  // returning the Response, given the counter's numbers with `day` as today:
  // at once if the store holds them in memory (Store::PeekCounter), else
  // after ReadCounter on the blocking executor.
  template <typename Answer>
  void WithCounter(const SiteRecord& site, const std::string& key, const std::string& day,
                   Route route, ResponseSink& sink, Answer answer);

  // Answers with the counter's current numbers and "counted":false (a bot,
  // a prefetch, or over the rate limit of a site that ignores rather than
  // refuses).
  void AnswerNotCounted(const std::shared_ptr<const SiteRecord>& site, std::string_view key,
                        const std::string& day, Response response, ResponseSink& sink,
                        std::shared_ptr<const CounterPresenter> presenter);

  // Looks the site up and checks origin (unless `check_origin` is false) and
  // public key. On failure fills `response` with the error and returns
  // nullptr. On success adds the CORS headers for the request's origin to
  // `response` (if the origin was checked).
  std::shared_ptr<const SiteRecord> Admit(const Request& request, std::string_view site,
                                          Response& response, bool check_origin = true);

  ApiContext& ctx_;
  std::unique_ptr<HitAnswerPool> answers_;  // the completions of hits in flight, recycled
};

// The key a public request names: the `key` parameter, "/" when absent.
// Fills `response` with 400 and returns nullptr if it is not a valid key.
const std::string* KeyParam(const QueryParams& query, Response& response);

}  // namespace tally

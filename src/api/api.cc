#include "api/api.h"

#include <utility>

#include "api/query.h"

namespace tally {
namespace {

constexpr std::string_view kSitesPrefix = "/v1/sites";

void Answer(ApiContext& ctx, ResponseSink& sink, Route route, int status, std::string_view code,
            std::string_view message) {
  Response response;
  SetError(response, status, code, message);
  Finish(ctx, sink, route, std::move(response));
}

void MethodNotAllowed(ApiContext& ctx, ResponseSink& sink, Route route, std::string_view allow) {
  Response response;
  SetError(response, 405, "method_not_allowed", "this path does not accept that method");
  response.SetHeader("Allow", allow);
  Finish(ctx, sink, route, std::move(response));
}

}  // namespace

Api::Api(ApiContext ctx)
    : ctx_(std::move(ctx)),
      public_(ctx_),
      sites_(ctx_),
      counters_(ctx_),
      ops_(ctx_),
      badge_(ctx_, public_),
      data_(ctx_),
      compat_(ctx_, public_) {}

void Api::Handle(const Request& request, ResponseSink& sink) {
  std::string_view path = request.path;
  const bool get = request.method == Method::kGet || request.method == Method::kHead;

  if (path.starts_with(kSitesPrefix) &&
      (path.size() == kSitesPrefix.size() || path[kSitesPrefix.size()] == '/')) {
    HandleSites(request, path.substr(kSitesPrefix.size()), sink);
    return;
  }
  if (path == "/healthz") {
    if (!get) return MethodNotAllowed(ctx_, sink, Route::kHealthz, "GET, HEAD");
    return ops_.Healthz(sink);
  }
  if (path == "/readyz") {
    if (!get) return MethodNotAllowed(ctx_, sink, Route::kReadyz, "GET, HEAD");
    return ops_.Readyz(sink);
  }
  if (path == "/metrics") {
    if (!get) return MethodNotAllowed(ctx_, sink, Route::kMetrics, "GET, HEAD");
    return ops_.Metrics(sink);
  }
  if (path == "/" || path == "/demo" || path == "/dashboard") {
    Response response;
    response.status = 302;
    response.SetHeader("Location", path == "/" ? "/demo/" : std::string(path) + "/");
    Finish(ctx_, sink, Route::kStatic, std::move(response));
    return;
  }
  if (get && ops_.Static(path, sink)) return;
  if (compat_.Handle(request, sink)) return;
  Answer(ctx_, sink, Route::kUnknown, 404, "not_found", "no such endpoint");
}

void Api::HandleSites(const Request& request, std::string_view rest, ResponseSink& sink) {
  const Method m = request.method;
  const bool get = m == Method::kGet || m == Method::kHead;
  auto query = QueryParams::Parse(request.query);

  // /v1/sites
  if (rest.empty() || rest == "/") {
    Route route = m == Method::kPost ? Route::kSiteCreate : Route::kSiteList;
    if (!query.ok())
      return Answer(ctx_, sink, route, 400, "invalid_query", query.status().message());
    if (m == Method::kPost) return sites_.Create(request, sink);
    if (get) return sites_.List(request, sink);
    return MethodNotAllowed(ctx_, sink, route, "GET, POST");
  }

  // /v1/sites/{site}[/{action}]
  rest.remove_prefix(1);
  size_t slash = rest.find('/');
  std::string_view raw_site = rest.substr(0, slash);
  std::string_view action = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  // Site names never need escaping; a %-escape in one is decoded and then
  // refused by the name check like any other bad name.
  auto site = PercentDecode(raw_site, /*plus_is_space=*/false);
  std::string_view site_name = site.ok() ? std::string_view(*site) : std::string_view("%");

  if (action.empty()) {
    Route route = m == Method::kPatch    ? Route::kSiteUpdate
                  : m == Method::kDelete ? Route::kSiteDelete
                                         : Route::kSiteGet;
    if (m == Method::kOptions)
      return public_.Preflight(request, site_name, "GET, PATCH, DELETE, OPTIONS", sink);
    if (get) return sites_.Get(request, site_name, sink);
    if (m == Method::kPatch) return sites_.Update(request, site_name, sink);
    if (m == Method::kDelete) return sites_.Delete(request, site_name, sink);
    return MethodNotAllowed(ctx_, sink, route, "GET, PATCH, DELETE, OPTIONS");
  }

  if (action == "hits") {
    if (m == Method::kOptions) return public_.Preflight(request, site_name, "POST, OPTIONS", sink);
    if (!query.ok())
      return Answer(ctx_, sink, Route::kHits, 400, "invalid_query", query.status().message());
    if (m == Method::kPost) return public_.Hit(request, site_name, *query, sink);
    return MethodNotAllowed(ctx_, sink, Route::kHits, "POST, OPTIONS");
  }

  if (action == "counters") {
    if (m == Method::kOptions) {
      return public_.Preflight(request, site_name, "GET, PUT, DELETE, OPTIONS", sink);
    }
    // With a key it is the public read; without, the admin list.
    Route route = m == Method::kPut                  ? Route::kCounterSet
                  : m == Method::kDelete             ? Route::kCounterDelete
                  : query.ok() && !query->Has("key") ? Route::kCounterList
                                                     : Route::kCounterRead;
    if (!query.ok())
      return Answer(ctx_, sink, route, 400, "invalid_query", query.status().message());
    if (get && query->Has("key")) return public_.Read(request, site_name, *query, sink);
    if (get) return counters_.List(request, site_name, *query, sink);
    if (m == Method::kPut) return counters_.Set(request, site_name, *query, sink);
    if (m == Method::kDelete) return counters_.Delete(request, site_name, *query, sink);
    return MethodNotAllowed(ctx_, sink, route, "GET, PUT, DELETE, OPTIONS");
  }

  if (action == "badge.svg") {
    if (!query.ok())
      return Answer(ctx_, sink, Route::kBadge, 400, "invalid_query", query.status().message());
    if (get) return badge_.Get(request, site_name, *query, sink);
    return MethodNotAllowed(ctx_, sink, Route::kBadge, "GET, HEAD");
  }

  if (action == "stream") {
    if (m == Method::kOptions) return public_.Preflight(request, site_name, "GET, OPTIONS", sink);
    if (!query.ok()) {
      return Answer(ctx_, sink, Route::kStream, 400, "invalid_query", query.status().message());
    }
    if (!get) return MethodNotAllowed(ctx_, sink, Route::kStream, "GET, OPTIONS");
    return public_.Stream(request, site_name, *query, sink);
  }

  if (action == "series" || action == "export") {
    Route route = action == "series" ? Route::kSeries : Route::kExport;
    if (m == Method::kOptions) return public_.Preflight(request, site_name, "GET, OPTIONS", sink);
    if (!query.ok()) {
      return Answer(ctx_, sink, route, 400, "invalid_query", query.status().message());
    }
    if (!get) return MethodNotAllowed(ctx_, sink, route, "GET, OPTIONS");
    if (route == Route::kSeries) return data_.Series(request, site_name, *query, sink);
    return data_.Export(request, site_name, sink);
  }

  if (action == "tokens:rotate") {
    if (m == Method::kOptions) return public_.Preflight(request, site_name, "POST, OPTIONS", sink);
    if (!query.ok())
      return Answer(ctx_, sink, Route::kTokenRotate, 400, "invalid_query",
                    query.status().message());
    if (m == Method::kPost) return sites_.RotateToken(request, site_name, *query, sink);
    return MethodNotAllowed(ctx_, sink, Route::kTokenRotate, "POST, OPTIONS");
  }

  Answer(ctx_, sink, Route::kUnknown, 404, "not_found", "no such endpoint");
}

}  // namespace tally

#include "api/ops_endpoints.h"

#include "api/static_assets.h"

namespace tally {

const StaticAsset* FindStaticAsset(std::string_view path) {
  for (const StaticAsset& asset : StaticAssets()) {
    if (asset.path == path) return &asset;
    if (path.ends_with('/') && asset.path.size() == path.size() + 10 &&
        asset.path.starts_with(path) && asset.path.ends_with("index.html")) {
      return &asset;
    }
  }
  return nullptr;
}

void OpsEndpoints::Healthz(ResponseSink& sink) {
  Response response;
  response.body = R"({"status":"ok"})";
  response.SetHeader("Cache-Control", "no-store");
  Finish(ctx_, sink, Route::kHealthz, std::move(response));
}

void OpsEndpoints::Readyz(ResponseSink& sink) {
  RunBlocking(ctx_, sink, Route::kReadyz, [this] {
    Response response;
    Status ping = ctx_.store.Ping();
    if (ping.ok()) {
      response.body = R"({"status":"ready"})";
    } else {
      SetErrorFromStatus(response, ping);
    }
    response.SetHeader("Cache-Control", "no-store");
    return response;
  });
}

void OpsEndpoints::Metrics(ResponseSink& sink) {
  Response response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = ctx_.metrics.Render();
  response.SetHeader("Cache-Control", "no-store");
  Finish(ctx_, sink, Route::kMetrics, std::move(response));
}

bool OpsEndpoints::Static(std::string_view path, ResponseSink& sink) {
  const StaticAsset* asset = FindStaticAsset(path);
  if (asset == nullptr) return false;
  Response response;
  response.content_type = asset->content_type;
  response.body.assign(asset->body);
  // Pages change with each release; let browsers revalidate them.
  response.SetHeader("Cache-Control", path.ends_with(".js") ? "public, max-age=300" : "no-cache");
  response.SetHeader("X-Content-Type-Options", "nosniff");
  Finish(ctx_, sink, Route::kStatic, std::move(response));
  return true;
}

}  // namespace tally

#include "lambda/lambda_app.h"

#include <cstdlib>
#include <future>
#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "api/compat_endpoints.h"
#include "api/site_admin.h"
#include "auth/token.h"
#include "aws/aws_config.h"
#include "lambda/api_gateway_event.h"
#include "lambda/ssm_parameter.h"

namespace tally::lambda {
namespace {

constexpr auto kSiteRefreshInterval = std::chrono::seconds(10);
constexpr auto kSaltRefreshInterval = std::chrono::seconds(60);

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// Hands the api's answer, given on whatever thread, to the invocation thread.
class PromiseSink : public ResponseSink {
 public:
  void Send(Response response) override { promise_.set_value(std::move(response)); }
  std::future<Response> future() { return promise_.get_future(); }

 private:
  std::promise<Response> promise_;
};

}  // namespace

Result<LambdaSettings> SettingsFromEnvironment() {
  LambdaSettings settings;
  if (std::string table = Env("TABLE_NAME"); !table.empty()) {
    settings.store_spec = "dynamodb:" + table;
  } else {
    settings.store_spec = Env("TALLY_STORE");
  }
  if (settings.store_spec.empty()) {
    return Status::InvalidArgument("no store: set TABLE_NAME (or TALLY_STORE)");
  }
  if (std::string limit = Env("TALLY_RATE_LIMIT_PER_MINUTE"); !limit.empty()) {
    try {
      size_t used = 0;
      settings.rate_limit_per_minute = std::stoi(limit, &used);
      if (used != limit.size() || settings.rate_limit_per_minute < 0) throw std::exception();
    } catch (const std::exception&) {
      return Status::InvalidArgument("TALLY_RATE_LIMIT_PER_MINUTE must be a number >= 0");
    }
  }
  if (std::string parameter = Env("TALLY_ADMIN_TOKEN_PARAMETER"); !parameter.empty()) {
    auto config = AwsConfig::FromEnvironment();
    if (!config.ok()) return config.status();
    auto token = GetParameter(*config, SsmEndpoint(*config), parameter);
    if (!token.ok()) return token.status();
    settings.root_token = std::move(token).value();
  } else {
    settings.root_token = Env("TALLY_ADMIN_TOKEN");
  }
  return settings;
}

Result<std::unique_ptr<LambdaApp>> LambdaApp::Create(const LambdaSettings& settings,
                                                     const StoreOpener& open) {
  auto store = open(settings.store_spec);
  if (!store.ok()) return store.status();
  std::unique_ptr<LambdaApp> app(new LambdaApp(std::move(store).value(), settings));
  // CountAPI-compatible counters live in the `countapi` site, open to every
  // origin; tally serve creates it on start, and so do we.
  if (!app->store_->GetSite(kCountApiSite).ok()) {
    SiteSettings countapi;
    countapi.name = std::string(kCountApiSite);
    countapi.origins = {"*"};
    auto created = CreateSite(*app->store_, app->clock_, countapi);
    if (!created.ok() && created.status().code() != StatusCode::kAlreadyExists) {
      spdlog::warn("could not create the site countapi: {}", created.status().ToString());
    }
  }
  auto sites = app->store_->ListSites();
  if (!sites.ok()) return sites.status();
  app->registry_.ReplaceAll(std::move(sites).value());
  app->sites_loaded_ = std::chrono::steady_clock::now();
  if (Status salts = app->visitors_.Refresh(app->clock_.NowUnixSeconds()); !salts.ok()) {
    return salts;
  }
  app->salts_loaded_ = app->sites_loaded_;
  return app;
}

LambdaApp::LambdaApp(std::unique_ptr<Store> store, const LambdaSettings& settings)
    : store_(std::move(store)),
      visitors_(*store_),
      rate_limiter_(settings.rate_limit_per_minute),
      counting_(*store_, CountingOptions{}, &metrics_) {
  ApiOptions options;
  if (!settings.root_token.empty()) options.root_token_hash = HashToken(settings.root_token);
  // API Gateway tells the client's address in the event (sourceIp); no
  // X-Forwarded-For is believed.
  options.trust_proxy = false;
  options.visitors = &visitors_;
  options.bots = &bots_;
  options.rate_limiter = &rate_limiter_;
  options.streams = nullptr;  // no Server-Sent Events through API Gateway
  api_ = std::make_unique<Api>(
      ApiContext{*store_, counting_, registry_, blocking_, metrics_, clock_, options});
}

LambdaApp::~LambdaApp() {
  api_.reset();
  counting_.Stop();
}

Result<std::string> LambdaApp::HandleEvent(std::string_view event) {
  nlohmann::json parsed = nlohmann::json::parse(event, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Status::InvalidArgument("the event is not JSON");
  auto decoded = DecodeEvent(parsed);
  if (!decoded.ok()) return decoded.status();
  PromiseSink sink;
  std::future<Response> answer = sink.future();
  api_->Handle(decoded->request, sink);
  // Store work runs inline; hits complete on the counting service's writer
  // thread once their write is durable. Either way the sink is called once.
  Response response = answer.get();
  return EncodeResponse(response, decoded->format)
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void LambdaApp::Upkeep() {
  auto now = std::chrono::steady_clock::now();
  if (now - sites_loaded_ >= kSiteRefreshInterval) {
    sites_loaded_ = now;
    auto sites = store_->ListSites();
    if (sites.ok()) {
      registry_.ReplaceAll(std::move(sites).value());
    } else {
      spdlog::warn("could not reload sites: {}", sites.status().ToString());
    }
  }
  if (now - salts_loaded_ >= kSaltRefreshInterval) {
    salts_loaded_ = now;
    Status refreshed = visitors_.Refresh(clock_.NowUnixSeconds());
    if (!refreshed.ok()) spdlog::warn("visitor salts: {}", refreshed.ToString());
  }
}

}  // namespace tally::lambda

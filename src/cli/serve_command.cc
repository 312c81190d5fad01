#include "cli/serve_command.h"

#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "api/api.h"
#include "api/bot_filter.h"
#include "api/rate_limiter.h"
#include "api/site_admin.h"
#include "api/stream_hub.h"
#include "auth/token.h"
#include "common/thread_name.h"
#include "counting/visitor_hasher.h"
#include "server/http_server.h"
#include "store/store_factory.h"

namespace tally {
namespace {

constexpr auto kSiteRefreshInterval = std::chrono::seconds(2);
constexpr auto kShutdownGrace = std::chrono::seconds(10);

Result<std::pair<std::string, uint16_t>> ParseListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::InvalidArgument("--listen must be HOST:PORT, e.g. 127.0.0.1:8080");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  try {
    size_t used = 0;
    port = std::stoi(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
  }
  if (port < 0 || port > 65535) return Status::InvalidArgument("--listen has a bad port");
  return std::make_pair(host, static_cast<uint16_t>(port));
}

// Creates the site `name` with `origins` unless it exists.
void EnsureSite(Store& store, const Clock& clock, const std::string& name,
                std::vector<std::string> origins) {
  if (store.GetSite(name).ok()) return;
  SiteSettings settings;
  settings.name = name;
  settings.origins = std::move(origins);
  auto created = CreateSite(store, clock, settings);
  if (created.ok()) {
    spdlog::info("created the site {} (get its admin token with `tally tokens rotate {}`)", name,
                 name);
  } else if (created.status().code() != StatusCode::kAlreadyExists) {
    spdlog::warn("could not create the site {}: {}", name, created.status().ToString());
  }
}

// Background upkeep: reloads all sites now and then, so that sites changed
// by the CLI or by other instances reach this one, and keeps the visitor
// salts of the current days loaded (destroying older ones).
class Housekeeper {
 public:
  Housekeeper(Store& store, SiteRegistry& registry, VisitorHasher& visitors, const Clock& clock)
      : store_(store), registry_(registry), visitors_(visitors), clock_(clock) {
    thread_ = std::thread([this] {
      NameThisThread("tally-upkeep");
      Run();
    });
  }
  ~Housekeeper() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  void Run() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, kSiteRefreshInterval, [&] { return stop_; })) {
      lock.unlock();
      auto sites = store_.ListSites();
      if (sites.ok()) {
        registry_.ReplaceAll(std::move(sites).value());
      } else {
        spdlog::warn("could not reload sites: {}", sites.status().ToString());
      }
      if (++rounds_ % kSaltRefreshRounds == 0) {
        Status refreshed = visitors_.Refresh(clock_.NowUnixSeconds());
        if (!refreshed.ok()) spdlog::warn("visitor salts: {}", refreshed.ToString());
      }
      lock.lock();
    }
  }
  // Salts change once a day; checking every minute is plenty.
  static constexpr int kSaltRefreshRounds = 30;
  Store& store_;
  SiteRegistry& registry_;
  VisitorHasher& visitors_;
  const Clock& clock_;
  int rounds_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int RunServe(const ServeSettings& settings) {
  auto listen = ParseListen(settings.listen);
  if (!listen.ok()) {
    spdlog::error("{}", listen.status().message());
    return 2;
  }
  Durability durability;
  if (settings.durability == "strict") {
    durability = Durability::kStrict;
  } else if (settings.durability == "relaxed") {
    durability = Durability::kRelaxed;
  } else {
    spdlog::error("--durability must be strict or relaxed");
    return 2;
  }

  // Signals go to the main thread only: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto store = OpenStore(settings.store, durability);
  if (!store.ok()) {
    spdlog::error("cannot open the store {}: {}", settings.store, store.status().ToString());
    return 1;
  }
  SystemClock clock;
  // `demo` lets the demo page (and any page on localhost) count at once on a
  // first run; `countapi` holds the CountAPI-compatible counters, open to
  // every origin as CountAPI was.
  if (settings.demo_site) {
    EnsureSite(**store, clock, "demo",
               {"http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"});
  }
  EnsureSite(**store, clock, std::string(kCountApiSite), {"*"});

  SiteRegistry registry;
  auto sites = (*store)->ListSites();
  if (!sites.ok()) {
    spdlog::error("cannot read sites: {}", sites.status().ToString());
    return 1;
  }
  registry.ReplaceAll(std::move(sites).value());

  VisitorHasher visitors(**store);
  if (Status salts = visitors.Refresh(clock.NowUnixSeconds()); !salts.ok()) {
    spdlog::error("cannot prepare visitor salts: {}", salts.ToString());
    return 1;
  }
  BotFilter bots;
  if (!settings.bot_patterns_file.empty()) {
    auto loaded = BotFilter::FromFile(settings.bot_patterns_file);
    if (!loaded.ok()) {
      spdlog::error("{}", loaded.status().message());
      return 2;
    }
    bots = std::move(loaded).value();
  }
  RateLimiter rate_limiter(settings.rate_limit_per_minute);

  Metrics metrics;
  CountingService counting(**store, CountingOptions{}, &metrics);
  // Declared before the server: sessions hold subscriptions until they close.
  StreamHub streams(StreamHubOptions{}, &metrics);
  counting.SetObserver(&streams);
  ThreadPoolExecutor blocking(4, 10000);
  ApiOptions api_options;
  if (!settings.root_token.empty()) api_options.root_token_hash = HashToken(settings.root_token);
  api_options.trust_proxy = settings.trust_proxy;
  api_options.visitors = &visitors;
  api_options.bots = &bots;
  api_options.rate_limiter = &rate_limiter;
  api_options.streams = &streams;
  Api api(ApiContext{**store, counting, registry, blocking, metrics, clock, api_options});

  ServerOptions server_options;
  server_options.host = listen->first;
  server_options.port = listen->second;
  server_options.threads = settings.threads;
  HttpServer server(server_options, api, &metrics);
  Status started = server.Start();
  if (!started.ok()) {
    spdlog::error("cannot listen on {}: {}", settings.listen, started.ToString());
    return 1;
  }
  Housekeeper housekeeper(**store, registry, visitors, clock);

  std::string host =
      listen->first.find(':') != std::string::npos ? "[" + listen->first + "]" : listen->first;
  std::string base = "http://" + host + ":" + std::to_string(server.port());
  spdlog::info("tally serving on {} with {} ({} durability)", base, settings.store,
               settings.durability);
  if (settings.demo_site) spdlog::info("demo page: {}/demo/", base);
  if (settings.root_token.empty()) {
    spdlog::info("no root token set (TALLY_ADMIN_TOKEN): root admin endpoints are disabled");
  }
  if (!settings.port_file.empty()) {
    std::ofstream(settings.port_file) << server.port() << "\n";
  }

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  spdlog::info("received {}, shutting down", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  server.Stop(std::chrono::duration_cast<std::chrono::milliseconds>(kShutdownGrace));
  counting.Stop();  // commits whatever is still queued
  blocking.Stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace tally

// Micro-benchmarks of the hit path, piece by piece, and the heap allocations
// per hit at steady state (whole server, in process).
//
//   BM_ParseHitRequest      RequestParser: bytes -> tally::Request
//   BM_HandleHit            Api::Handle of a POST hit up to CountingService::Submit
//                           (routing, query, admission, CORS, key validation, day,
//                           visitor HMAC, enqueue); the commit runs on the writer
//                           thread and is not timed
//   BM_Submit               CountingService::Submit alone (enqueue into a batch)
//   BM_AppendCounterJson    the answer's body
//   BM_IsBot                BotFilter::IsBot of a browser's User-Agent
//   BM_VisitorHash          VisitorHasher::Hash alone
//   BM_HitPathAllocations   HttpServer + Api + SQLite (relaxed, in a temp dir) in
//                           this process, driven over loopback by a client that
//                           allocates nothing; reports allocs_per_hit, counted
//                           over all threads by interposing malloc
//
// malloc/calloc/realloc are interposed (common/heap_allocation_counter.h), so
// operator new, SQLite and OpenSSL allocations are all counted.
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api/api.h"
#include "api/bot_filter.h"
#include "api/counter_json.h"
#include "api/metrics.h"
#include "api/rate_limiter.h"
#include "api/site_admin.h"
#include "api/site_registry.h"
#include "common/blocking_executor.h"
#include "common/clock.h"
#include "common/heap_allocation_counter.h"
#include "common/local_day.h"
#include "counting/counting_service.h"
#include "counting/visitor_hasher.h"
#include "server/http_server.h"
#include "server/request_parser.h"
#include "store/store_factory.h"

namespace tally {
namespace {

constexpr char kHitRequest[] =
    "POST /v1/sites/demo/hits?key=%2Fblog%2Fpost-1 HTTP/1.1\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "Origin: http://localhost:8080\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: */*\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

// One SQLite store (relaxed: the benchmarks are about CPU, not fsync), the
// counting service and the api, set up as `tally serve` does.
class Harness {
 public:
  Harness() {
    dir_ = std::filesystem::temp_directory_path() /
           ("tally_micro_" + std::to_string(::getpid()) + "_" + std::to_string(++count_));
    std::filesystem::create_directories(dir_);
    auto store = OpenStore("sqlite:" + (dir_ / "t.db").string(), Durability::kRelaxed);
    if (!store.ok()) std::abort();
    store_ = std::move(store).value();
    counting_ = std::make_unique<CountingService>(*store_, CountingOptions{}, &metrics_);
    visitors_ = std::make_unique<VisitorHasher>(*store_);
    if (!visitors_->Refresh(clock_.NowUnixSeconds()).ok()) std::abort();
    SiteSettings settings;
    settings.name = "demo";
    settings.origins = std::vector<std::string>{"http://localhost:*"};
    auto created = CreateSite(*store_, clock_, settings);
    if (!created.ok()) std::abort();
    registry_.Put(created->record);
    ApiOptions options;
    options.visitors = visitors_.get();
    options.bots = &bots_;
    options.rate_limiter = &rate_limiter_;
    api_ = std::make_unique<Api>(
        ApiContext{*store_, *counting_, registry_, executor_, metrics_, clock_, options});
  }
  ~Harness() {
    api_.reset();
    counting_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  Api& api() { return *api_; }
  CountingService& counting() { return *counting_; }
  VisitorHasher& visitors() { return *visitors_; }
  Store& store() { return *store_; }

 private:
  static inline int count_ = 0;
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  Metrics metrics_;
  SiteRegistry registry_;
  InlineExecutor executor_;
  SystemClock clock_;
  std::unique_ptr<CountingService> counting_;
  std::unique_ptr<VisitorHasher> visitors_;
  BotFilter bots_;
  RateLimiter rate_limiter_{60};
  std::unique_ptr<Api> api_;
};

// Counts answers (they come on the writer thread) and lets the benchmark
// wait for them, so the queue never fills up and turns hits into 503s.
class CountingSink final : public ResponseSink, public HitCompletion {
 public:
  void Send(Response response) override {
    if (response.status != 200) bad_.fetch_add(1, std::memory_order_relaxed);
    Done();
  }
  void OnHitDone(const Status& status, const CounterTotals&) override {
    if (!status.ok()) bad_.fetch_add(1, std::memory_order_relaxed);
    Done();
  }
  // Completions notify only every 256th time (cheap on the writer thread),
  // so wait in short slices rather than for a notification that may not come.
  void WaitFor(uint64_t n) {
    std::unique_lock lock(mu_);
    while (done_.load() < n) cv_.wait_for(lock, std::chrono::milliseconds(1));
  }
  uint64_t bad() const { return bad_.load(); }

 private:
  void Done() {
    if (done_.fetch_add(1, std::memory_order_acq_rel) % 256 == 255) {
      std::lock_guard lock(mu_);
      cv_.notify_all();
    }
  }
  std::atomic<uint64_t> done_{0};
  std::atomic<uint64_t> bad_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

// Heap allocations per iteration, all threads of the process (for the
// benchmarks with a writer thread this includes what it allocates meanwhile).
class AllocationCounter {
 public:
  explicit AllocationCounter(benchmark::State& state) : state_(state), start_(HeapAllocations()) {}
  ~AllocationCounter() {
    state_.counters["allocs"] = benchmark::Counter(static_cast<double>(HeapAllocations() - start_),
                                                   benchmark::Counter::kAvgIterations);
  }

 private:
  benchmark::State& state_;
  uint64_t start_;
};

void BM_ParseHitRequest(benchmark::State& state) {
  Request request;
  std::string_view bytes(kHitRequest);
  AllocationCounter allocations(state);
  for ([[maybe_unused]] auto _ : state) {
    request.Clear();
    http::RequestParser parser(request);
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec || !parser.is_done()) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(request);
  }
}
BENCHMARK(BM_ParseHitRequest);

Request HitRequest(const std::string& key = "%2Fblog%2Fpost-1") {
  Request request;
  request.method = Method::kPost;
  request.path = "/v1/sites/demo/hits";
  request.query = "key=" + key;
  request.headers = {{"host", "127.0.0.1:8080"},
                     {"origin", "http://localhost:8080"},
                     {"user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Firefox/120.0"},
                     {"content-length", "0"}};
  request.client_ip = "127.0.0.1";
  return request;
}

void BM_HandleHit(benchmark::State& state) {
  Harness harness;
  CountingSink sink;
  Request request = HitRequest();
  uint64_t sent = 0;
  uint64_t allocations = 0;
  for ([[maybe_unused]] auto _ : state) {
    uint64_t before = HeapAllocations();
    harness.api().Handle(request, sink);
    allocations += HeapAllocations() - before;
    if (++sent % 4096 == 0) {
      state.PauseTiming();
      sink.WaitFor(sent);
      state.ResumeTiming();
    }
  }
  sink.WaitFor(sent);
  if (sink.bad() > 0) state.SkipWithError("some hits failed");
  // Counted on this thread's path only, but the writer thread allocates
  // concurrently and may be counted too: an upper bound.
  state.counters["allocs_in_handle"] =
      benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_HandleHit);

void BM_Submit(benchmark::State& state) {
  Harness harness;
  CountingSink sink;
  uint64_t sent = 0;
  AllocationCounter allocations(state);
  for ([[maybe_unused]] auto _ : state) {
    Status s = harness.counting().Submit("demo", "/blog/post-1", "2026-11-25",
                                         "0123456789abcdef0123456789abcdef", &sink);
    if (!s.ok()) state.SkipWithError("submit failed");
    if (++sent % 4096 == 0) {
      state.PauseTiming();
      sink.WaitFor(sent);
      state.ResumeTiming();
    }
  }
  sink.WaitFor(sent);
}
BENCHMARK(BM_Submit);

void BM_AppendCounterJson(benchmark::State& state) {
  std::string out;
  CounterTotals totals{1234567, 34567, 8901, 456};
  AllocationCounter allocations(state);
  for ([[maybe_unused]] auto _ : state) {
    out.clear();
    AppendCounterJson(out, "demo", "/blog/post-1", totals, true);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_AppendCounterJson);

void BM_IsBot(benchmark::State& state) {
  BotFilter bots;
  // What every hit of the benchmark sends; a browser is the common case and
  // the worst one (no pattern matches, the whole User-Agent is scanned).
  const std::string_view firefox =
      "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
  if (bots.IsBot(firefox) || !bots.IsBot("Mozilla/5.0 (compatible; Googlebot/2.1)")) {
    state.SkipWithError("BotFilter answers wrongly");
    return;
  }
  AllocationCounter allocations(state);
  for ([[maybe_unused]] auto _ : state) benchmark::DoNotOptimize(bots.IsBot(firefox));
}
BENCHMARK(BM_IsBot);

void BM_VisitorHash(benchmark::State& state) {
  Harness harness;
  std::string day = LocalDay("UTC", SystemClock().NowUnixSeconds());
  // The hit path's hash must stay what OpenSSL's one-shot HMAC gives.
  auto salt = harness.store().DailySalt(day, "unused");
  std::string message = "demo\n127.0.0.1\nua";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), salt->data(), static_cast<int>(salt->size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string expected;
  for (int i = 0; i < 16; ++i) (expected += kHex[mac[i] >> 4]) += kHex[mac[i] & 0xf];
  if (harness.visitors().Hash(day, "demo", "127.0.0.1", "ua") != expected) {
    state.SkipWithError("visitor hash differs from HMAC-SHA256");
    return;
  }
  AllocationCounter allocations(state);
  for ([[maybe_unused]] auto _ : state) {
    auto hash = harness.visitors().Hash(day, "demo", "127.0.0.1",
                                        "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Firefox/120.0");
    benchmark::DoNotOptimize(hash);
  }
}
BENCHMARK(BM_VisitorHash);

// Keep-alive clients on blocking sockets, buffers allocated once. A round
// sends one hit on each connection, then reads the answers: the hits arrive
// together and share commits, as under load.
class ConnectionsClient {
 public:
  ConnectionsClient(uint16_t port, int connections) : request_(kHitRequest) {
    for (int i = 0; i < connections; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) std::abort();
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fds_.push_back(fd);
    }
    buffer_.resize(1 << 16);
  }
  ~ConnectionsClient() {
    for (int fd : fds_) ::close(fd);
  }

  // Returns how many of the round's hits were answered 200.
  int Round() {
    for (int fd : fds_) {
      if (::send(fd, request_.data(), request_.size(), 0) !=
          static_cast<ssize_t>(request_.size())) {
        std::abort();
      }
    }
    int ok = 0;
    for (int fd : fds_) ok += ReadAnswer(fd) ? 1 : 0;
    return ok;
  }

 private:
  bool ReadAnswer(int fd) {
    size_t have = 0;
    for (;;) {
      ssize_t n = ::recv(fd, buffer_.data() + have, buffer_.size() - have, 0);
      if (n <= 0) std::abort();
      have += static_cast<size_t>(n);
      std::string_view got(buffer_.data(), have);
      size_t end = got.find("\r\n\r\n");
      if (end == std::string_view::npos) continue;
      size_t cl = got.substr(0, end).find("Content-Length: ");
      size_t body =
          cl == std::string_view::npos ? 0 : std::strtoul(got.data() + cl + 16, nullptr, 10);
      if (have < end + 4 + body) continue;
      return got.starts_with("HTTP/1.1 200");
    }
  }

  std::string request_;
  std::vector<int> fds_;
  std::string buffer_;
};

void BM_HitPathAllocations(benchmark::State& state) {
  constexpr int kConnections = 32;
  Harness harness;
  Metrics metrics;
  ServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.threads = 1;
  HttpServer server(options, harness.api(), &metrics);
  if (!server.Start().ok()) std::abort();
  {
    ConnectionsClient client(server.port(), kConnections);
    // Warm up (32 000 hits, about half a second): caches, buffers, the counter
    // row, and the size classes SQLite first needs at its first checkpoints.
    for (int i = 0; i < 1000; ++i) client.Round();
    uint64_t hits = 0, ok = 0;
    uint64_t before = HeapAllocations();
    for ([[maybe_unused]] auto _ : state) {
      ok += static_cast<uint64_t>(client.Round());
      hits += kConnections;
    }
    uint64_t allocations = HeapAllocations() - before;
    if (ok != hits) state.SkipWithError("some hits were not answered 200");
    state.counters["allocs_per_hit"] = static_cast<double>(allocations) / static_cast<double>(hits);
    state.counters["hits_per_s"] =
        benchmark::Counter(static_cast<double>(hits), benchmark::Counter::kIsRate);
  }
  server.Stop(std::chrono::milliseconds(1000));
}
BENCHMARK(BM_HitPathAllocations)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace tally

BENCHMARK_MAIN();

// Hits/s on one hot counter and DynamoDB write requests per 1000 hits, with
// coalescing (the counting service: concurrent hits become one +n write)
// versus one write per hit (what the seed's Lambda does), against the
// DynamoDB endpoint of the AWS_* environment.
//
// Usage: dynamodb_hot_counter_bench TABLE [SECONDS] [CLIENT_THREADS]
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "counting/counting_service.h"
#include "store/dynamodb/dynamodb_store.h"

namespace {

using tally::CounterTotals;
using tally::Status;

// Completes hits by releasing the waiting client thread.
class Waiter : public tally::HitCompletion {
 public:
  void OnHitDone(const Status& status, const CounterTotals&) override {
    std::lock_guard<std::mutex> lock(mu_);
    ok_ = status.ok();
    done_ = true;
    cv_.notify_one();
  }
  bool Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    done_ = false;
    return ok_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false, ok_ = false;
};

struct Outcome {
  int64_t hits = 0, failed = 0, writes = 0;
  double seconds = 0;
};

template <typename OneHit>
Outcome Run(tally::DynamoDbStore& store, int threads, double seconds, OneHit one_hit) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> hits{0}, failed{0};
  const int64_t writes_before = store.client().stats().writes;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  clients.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&] {
      Waiter waiter;
      while (!stop) (one_hit(waiter) ? hits : failed)++;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (std::thread& c : clients) c.join();
  Outcome o;
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  o.hits = hits;
  o.failed = failed;
  o.writes = store.client().stats().writes - writes_before;
  return o;
}

void Print(const char* mode, int threads, const Outcome& o) {
  const double per_1000 =
      o.hits > 0 ? 1000.0 * static_cast<double>(o.writes) / static_cast<double>(o.hits) : 0;
  // On-demand: $1.25 per million write request units (us-east-1, 2024);
  // one unit per write of an item up to 1 KB.
  const double usd_per_million_hits = per_1000 * 1000 * 1.25 / 1e6;
  std::printf(
      "%-10s clients=%-4d hits=%-8lld failed=%-4lld hits/s=%-9.0f writes=%-7lld "
      "writes/1000 hits=%-8.2f $/1M hits (writes)=%.4f\n",
      mode, threads, static_cast<long long>(o.hits), static_cast<long long>(o.failed),
      static_cast<double>(o.hits) / o.seconds, static_cast<long long>(o.writes), per_1000,
      usd_per_million_hits);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s TABLE [SECONDS] [CLIENT_THREADS]\n", argv[0]);
    return 2;
  }
  const double seconds = argc > 2 ? std::atof(argv[2]) : 5;
  const int threads = argc > 3 ? std::atoi(argv[3]) : 64;
  auto config = tally::AwsConfig::FromEnvironment();
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
    return 2;
  }
  auto store = tally::DynamoDbStore::Open(argv[1], *config);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  const std::string day = "2024-01-01";

  // One write per hit: each hit its own ApplyHits of +1 (total and day item).
  Outcome per_hit = Run(**store, threads, seconds, [&](Waiter&) {
    tally::HitDelta d{"bench", "/per-hit", day, 1, {}};
    CounterTotals t;
    return (*store)->ApplyHits({&d, 1}, {&t, 1}).ok();
  });
  Print("per-hit", threads, per_hit);

  // Coalescing: hits go through the counting service.
  tally::CountingService counting(**store, tally::CountingOptions{}, nullptr);
  Outcome coalesced = Run(**store, threads, seconds, [&](Waiter& waiter) {
    if (!counting.Submit("bench", "/coalesced", day, "", &waiter).ok()) return false;
    return waiter.Wait();
  });
  Print("coalesced", threads, coalesced);
  counting.Stop();
  return 0;
}

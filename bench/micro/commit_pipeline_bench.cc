// Strict commits through the counting service on a real SQLite file, with
// and without overlapping each batch's Sync with the next batch, on a disk
// whose every fsync is made slower on purpose.
//
//   BM_StrictCommits/KEYS/EXTRA_US/MODE
//     KEYS      1 (one hot counter) or 10000 (Zipf, s = 1)
//     EXTRA_US  microseconds added to every fdatasync/fsync of this process
//               (this machine's disk syncs in ~0.2 ms when idle; a busy or
//               networked disk takes 1-5 ms)
//     MODE      0 inline: the writer syncs every batch itself
//               1 overlap: always hand batches to the syncer
//               2 adaptive: CountingOptions' defaults (what tally serve runs)
//
// 64 hits are outstanding at all times: each completion submits the next hit
// at once (64 clients with no think time and no network in between). Reports
// hits_per_s and hits_per_commit. Not a test: nothing here asserts speed.
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "api/metrics.h"
#include "counting/counting_service.h"
#include "store/sqlite/sqlite_store.h"

namespace {

std::atomic<int64_t> g_extra_sync_us{0};

template <typename Fn>
Fn* Next(const char* name) {
  return reinterpret_cast<Fn*>(dlsym(RTLD_NEXT, name));
}

void SlowDown() {
  int64_t us = g_extra_sync_us.load(std::memory_order_relaxed);
  if (us > 0) std::this_thread::sleep_for(std::chrono::microseconds(us));
}

}  // namespace

// Interposed for the whole process: SQLite's syncs and SqliteStore::Sync.
extern "C" int fdatasync(int fd) {
  static auto* real = Next<int(int)>("fdatasync");
  int rc = real(fd);
  SlowDown();
  return rc;
}
extern "C" int fsync(int fd) {
  static auto* real = Next<int(int)>("fsync");
  int rc = real(fd);
  SlowDown();
  return rc;
}

namespace tally {
namespace {

constexpr int kOutstanding = 64;

// Keeps kOutstanding hits in flight until told to stop, then drains.
class ClosedLoop {
 public:
  ClosedLoop(CountingService& service, int keys) : service_(service) {
    // Zipf(s = 1) over `keys` keys, as bench/lua/hits.lua draws them.
    double sum = 0;
    for (int i = 1; i <= keys; ++i) sum += 1.0 / i;
    double acc = 0;
    for (int i = 1; i <= keys; ++i) {
      acc += 1.0 / i / sum;
      cdf_.push_back(acc);
      names_.push_back("/page/" + std::to_string(i));
    }
  }

  void Run(std::chrono::milliseconds duration) {
    {
      std::lock_guard lock(mu_);
      in_flight_ = kOutstanding;
    }
    for (auto& c : clients_) {
      c.loop = this;
      Submit(c);
    }
    std::this_thread::sleep_for(duration);
    stopping_ = true;
    std::unique_lock lock(mu_);
    drained_.wait(lock, [&] { return in_flight_ == 0; });
  }

  uint64_t answered() const { return answered_.load(); }
  uint64_t failed() const { return failed_.load(); }

 private:
  struct Client : HitCompletion {
    ClosedLoop* loop = nullptr;
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    void OnHitDone(const Status& status, const CounterTotals&) override {
      (status.ok() ? loop->answered_ : loop->failed_).fetch_add(1);
      if (!loop->stopping_.load()) {
        loop->Submit(*this);
        return;
      }
      std::lock_guard lock(loop->mu_);
      if (--loop->in_flight_ == 0) loop->drained_.notify_all();
    }
  };

  void Submit(Client& c) {
    c.rng ^= c.rng << 13;
    c.rng ^= c.rng >> 7;
    c.rng ^= c.rng << 17;
    double u = static_cast<double>(c.rng >> 11) / 9007199254740992.0;
    size_t i = std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin();
    if (i >= names_.size()) i = names_.size() - 1;
    if (!service_.Submit("bench", names_[i], "2026-11-26", "", &c).ok()) std::abort();
  }

  CountingService& service_;
  std::vector<double> cdf_;
  std::vector<std::string> names_;
  std::array<Client, kOutstanding> clients_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> answered_{0};
  std::atomic<uint64_t> failed_{0};
  std::mutex mu_;
  std::condition_variable drained_;
  int in_flight_ = 0;  // guarded by mu_
};

void BM_StrictCommits(benchmark::State& state) {
  const int keys = static_cast<int>(state.range(0));
  const int mode = static_cast<int>(state.range(2));
  auto dir =
      std::filesystem::temp_directory_path() / ("tally-commit-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    auto store = SqliteStore::Open((dir / "t.db").string(), Durability::kStrict);
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      return;
    }
    CountingOptions options;
    if (mode == 0) options.overlap_min_sync = std::chrono::hours(1);
    if (mode == 1) options.overlap_min_sync = options.overlap_min_commit = {};
    Metrics metrics;
    CountingService service(**store, options, &metrics);
    {
      ClosedLoop warm(service, keys);  // creates the rows, fills the caches
      warm.Run(std::chrono::milliseconds(500));
    }
    g_extra_sync_us = state.range(1);
    uint64_t commits_before = metrics.batch_hits.count();
    ClosedLoop loop(service, keys);
    auto started = std::chrono::steady_clock::now();
    for ([[maybe_unused]] auto _ : state) loop.Run(std::chrono::milliseconds(3000));
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    g_extra_sync_us = 0;
    uint64_t commits = metrics.batch_hits.count() - commits_before;
    if (loop.failed() != 0) state.SkipWithError("some hits failed");
    state.counters["hits_per_s"] = static_cast<double>(loop.answered()) / seconds;
    state.counters["hits_per_commit"] =
        commits ? static_cast<double>(loop.answered()) / static_cast<double>(commits) : 0;
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_StrictCommits)
    ->ArgsProduct({{1, 10000}, {0, 1000, 3000}, {0, 1, 2}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace tally

BENCHMARK_MAIN();

#include "counting/counting_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <memory>
#include <set>

#include "api/metrics.h"

namespace tally {
namespace {

// An in-memory Store for driving the service through failures and delays
// that a real file cannot produce on demand. Only ApplyHits and Sync matter.
class ScriptedStore : public Store {
 public:
  Status ApplyHits(std::span<const HitDelta> deltas, std::span<CounterTotals> totals) override {
    if (sync_running.load()) ++overlaps;
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    std::lock_guard lock(mu);
    ++apply_calls;
    max_deltas = std::max(max_deltas, deltas.size());
    if (fail) return Status::Unavailable("scripted failure");
    for (const HitDelta& d : deltas) applied_hits += d.hits;
    std::set<std::pair<std::string, std::string>> seen;
    for (size_t i = 0; i < deltas.size(); ++i) {
      const HitDelta& d = deltas[i];
      EXPECT_TRUE(seen.emplace(std::string(d.site), std::string(d.key)).second)
          << "a counter appeared twice in one batch";
      auto& total = counters[{std::string(d.site), std::string(d.key)}];
      total += d.hits;
      auto& day = days[{std::string(d.site), std::string(d.key), std::string(d.day)}];
      day += d.hits;
      std::set<std::string_view> distinct(d.visitor_hashes.begin(), d.visitor_hashes.end());
      EXPECT_EQ(distinct.size(), d.visitor_hashes.size()) << "visitor hashes repeated in a delta";
      for (std::string_view v : d.visitor_hashes) {
        visitors_seen[std::string(d.key)].insert(std::string(v));
      }
      totals[i].hits = total;
      totals[i].today_hits = day;
    }
    return Status::Ok();
  }
  Durability durability() const override { return mode; }
  bool ApplyHitsNeedsSync() const override { return needs_sync; }
  // Makes every hit applied before the call "durable" (durable_hits), unless
  // sync_fail; while block_sync, waits for ReleaseSync() or AllowSyncs().
  Status Sync() override {
    ++sync_calls;
    sync_running = true;
    struct Done {
      std::atomic<bool>& flag;
      ~Done() { flag = false; }
    } done{sync_running};
    if (sync_delay.count() > 0) std::this_thread::sleep_for(sync_delay);
    int64_t covered;
    {
      std::lock_guard lock(mu);
      covered = applied_hits;
    }
    {
      std::unique_lock lock(gate_mu);
      ++syncs_started;
      gate_cv.notify_all();
      gate_cv.wait(lock, [&] { return !block_sync || syncs_started <= syncs_allowed; });
    }
    if (sync_fail) return Status::Unavailable("scripted sync failure");
    int64_t before = durable_hits.load();
    while (before < covered && !durable_hits.compare_exchange_weak(before, covered)) {
    }
    return Status::Ok();
  }
  void ReleaseSync() {
    std::lock_guard lock(gate_mu);
    block_sync = false;
    gate_cv.notify_all();
  }
  // While block_sync: lets the first n Syncs return.
  void AllowSyncs(int n) {
    std::lock_guard lock(gate_mu);
    syncs_allowed = n;
    gate_cv.notify_all();
  }
  void WaitForSyncsStarted(int n) {
    std::unique_lock lock(gate_mu);
    ASSERT_TRUE(
        gate_cv.wait_for(lock, std::chrono::seconds(10), [&] { return syncs_started >= n; }));
  }
  int ApplyCalls() {
    std::lock_guard lock(mu);
    return apply_calls;
  }
  // Polls for up to 10 s until ApplyHits has been called n times; returns
  // the count then (so a caller can check it is not more).
  int WaitForApplyCalls(int n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (ApplyCalls() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return ApplyCalls();
  }
  Result<CounterTotals> ReadCounter(std::string_view, std::string_view, std::string_view) override {
    return Status::Internal("unused");
  }
  Status SetCounter(std::string_view, std::string_view, int64_t) override { return {}; }
  Status DeleteCounter(std::string_view, std::string_view) override { return {}; }
  Result<std::vector<CounterRow>> ListCounters(std::string_view, std::string_view, int) override {
    return Status::Internal("unused");
  }
  Result<SiteRecord> GetSite(std::string_view) override { return Status::Internal("unused"); }
  Status CreateSite(const SiteRecord&) override { return {}; }
  Status UpdateSite(const SiteRecord&) override { return {}; }
  Status DeleteSite(std::string_view) override { return {}; }
  Result<std::vector<SiteRecord>> ListSites() override { return Status::Internal("unused"); }
  Status Ping() override { return {}; }
  Result<std::vector<DayRow>> ReadSeries(std::string_view, std::optional<std::string_view>,
                                         std::string_view, std::string_view) override {
    return Status::Internal("unused");
  }
  Result<std::string> DailySalt(std::string_view, std::string_view) override {
    return Status::Internal("unused");
  }
  Status ForgetVisitorsBefore(std::string_view) override { return {}; }
  Status ExportSite(std::string_view, const std::function<bool(const ExportRow&)>&) override {
    return {};
  }
  Status ImportRows(std::string_view, std::span<const ExportRow>) override { return {}; }

  std::mutex mu;
  std::map<std::pair<std::string, std::string>, int64_t> counters;
  std::map<std::tuple<std::string, std::string, std::string>, int64_t> days;
  Durability mode = Durability::kStrict;
  std::map<std::string, std::set<std::string>> visitors_seen;  // key -> hashes
  std::atomic<bool> fail{false};
  std::chrono::milliseconds delay{0};
  int apply_calls = 0;
  size_t max_deltas = 0;
  std::atomic<int> sync_calls{0};
  // Pipelining (ApplyHitsNeedsSync).
  bool needs_sync = false;
  std::chrono::microseconds sync_delay{0};
  std::atomic<bool> sync_running{false};
  std::atomic<int> overlaps{0};          // ApplyHits calls that began while a Sync ran
  int64_t applied_hits = 0;              // guarded by mu
  std::atomic<int64_t> durable_hits{0};  // all counters' hits covered by a Sync
  std::atomic<bool> sync_fail{false};
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool block_sync = false;  // guarded by gate_mu
  int syncs_started = 0;    // guarded by gate_mu
  int syncs_allowed = 0;    // guarded by gate_mu
};

// Collects the outcomes of many hits. With `durable` set (one counter per
// store), checks that every number acknowledged is covered by a Sync.
class Recorder : public HitCompletion {
 public:
  void OnHitDone(const Status& status, const CounterTotals& totals) override {
    if (durable != nullptr && status.ok()) {
      EXPECT_LE(totals.hits, durable->load()) << "acknowledged before a Sync covered it";
    }
    std::lock_guard lock(mu);
    if (status.ok()) {
      numbers.push_back(totals.hits);
      today.push_back(totals.today_hits);
    } else {
      failures.push_back(status);
    }
    ++done;
    cv.notify_all();
  }
  void WaitFor(int n) {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return done >= n; }));
  }
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  std::vector<int64_t> numbers;
  std::vector<int64_t> today;
  std::vector<Status> failures;
  const std::atomic<int64_t>* durable = nullptr;
};

TEST(CountingServiceTest, ConcurrentHitsGetDistinctGapFreeNumbers) {
  ScriptedStore store;
  store.delay = std::chrono::milliseconds(2);  // lets hits pile up into batches
  Metrics metrics;
  CountingService service(store, {}, &metrics);
  Recorder recorder;
  constexpr int kThreads = 8, kPerThread = 500;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        ASSERT_TRUE(service.Submit("site", "/", "2026-11-25", "", &recorder).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  recorder.WaitFor(kThreads * kPerThread);
  std::set<int64_t> distinct(recorder.numbers.begin(), recorder.numbers.end());
  ASSERT_EQ(distinct.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*distinct.begin(), 1);
  EXPECT_EQ(*distinct.rbegin(), kThreads * kPerThread);
  EXPECT_LT(store.apply_calls, kThreads * kPerThread) << "hits were not grouped into batches";
  EXPECT_EQ(metrics.hits_counted.load(), static_cast<uint64_t>(kThreads * kPerThread));
}

TEST(CountingServiceTest, CoalescesPerCounterAndKeepsCountersApart) {
  ScriptedStore store;
  store.delay = std::chrono::milliseconds(20);
  CountingService service(store, {}, nullptr);
  Recorder a, b;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(service.Submit("site", "/a", "2026-11-25", "", &a).ok());
    ASSERT_TRUE(service.Submit("site", "/b", "2026-11-25", "", &b).ok());
  }
  a.WaitFor(100);
  b.WaitFor(100);
  std::sort(a.numbers.begin(), a.numbers.end());
  std::sort(b.numbers.begin(), b.numbers.end());
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(a.numbers[i], i + 1);
    EXPECT_EQ(b.numbers[i], i + 1);
  }
  EXPECT_LE(store.max_deltas, 2u);
}

TEST(CountingServiceTest, PassesEachCountersDistinctVisitorsToTheStore) {
  ScriptedStore store;
  store.delay = std::chrono::milliseconds(20);
  CountingService service(store, {}, nullptr);
  Recorder r;
  for (int i = 0; i < 60; ++i) {
    std::string visitor = i % 3 == 0 ? "" : "v" + std::to_string(i % 4);
    ASSERT_TRUE(service.Submit("s", i % 2 ? "/a" : "/b", "2026-11-25", visitor, &r).ok());
  }
  r.WaitFor(60);
  std::lock_guard lock(store.mu);
  // /a gets odd i: visitors v1, v3 (and "" for multiples of 3, not a visitor).
  EXPECT_EQ(store.visitors_seen["/a"], (std::set<std::string>{"v1", "v3"}));
  EXPECT_EQ(store.visitors_seen["/b"], (std::set<std::string>{"v0", "v2"}));
}

TEST(CountingServiceTest, PassesVisitorHashesOfAnyLengthIntact) {
  ScriptedStore store;
  CountingService service(store, {}, nullptr);
  Recorder r;
  const std::string hex32(32, 'f');           // VisitorHasher's size: kept inline
  const std::string longer = hex32 + "0123";  // longer: kept apart
  ASSERT_TRUE(service.Submit("s", "/a", "d", hex32, &r).ok());
  ASSERT_TRUE(service.Submit("s", "/a", "d", longer, &r).ok());
  ASSERT_TRUE(service.Submit("s", "/a", "d", "", &r).ok());
  r.WaitFor(3);
  std::lock_guard lock(store.mu);
  EXPECT_EQ(store.visitors_seen["/a"], (std::set<std::string>{hex32, longer}));
}

TEST(CountingServiceTest, AmountsTakeARangeOfNumbers) {
  ScriptedStore store;
  store.delay = std::chrono::milliseconds(20);
  CountingService service(store, {}, nullptr);
  Recorder r;
  ASSERT_TRUE(service.Submit("s", "/", "d", "", &r).ok());
  ASSERT_TRUE(service.Submit("s", "/", "d", "", &r, 10).ok());
  ASSERT_TRUE(service.Submit("s", "/", "d", "", &r).ok());
  EXPECT_EQ(service.Submit("s", "/", "d", "", &r, 0).code(), StatusCode::kInvalidArgument);
  r.WaitFor(3);
  std::sort(r.numbers.begin(), r.numbers.end());
  EXPECT_EQ(r.numbers, (std::vector<int64_t>{1, 11, 12}));
}

TEST(CountingServiceTest, HitsOnTwoDaysOfOneCounterAreNumberedAcrossBatches) {
  ScriptedStore store;
  store.delay = std::chrono::milliseconds(20);
  CountingService service(store, {}, nullptr);
  Recorder r;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(service.Submit("s", "/", i < 25 ? "2026-11-24" : "2026-11-25", "", &r).ok());
  }
  r.WaitFor(50);
  std::set<int64_t> distinct(r.numbers.begin(), r.numbers.end());
  EXPECT_EQ(distinct.size(), 50u);
  EXPECT_EQ(*distinct.rbegin(), 50);
  std::lock_guard lock(store.mu);
  EXPECT_EQ((store.days[{"s", "/", "2026-11-24"}]), 25);
  EXPECT_EQ((store.days[{"s", "/", "2026-11-25"}]), 25);
}

TEST(CountingServiceTest, FailedCommitFailsEveryHitOfTheBatchAndRecovers) {
  ScriptedStore store;
  CountingService service(store, {}, nullptr);
  store.fail = true;
  Recorder failed;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(service.Submit("s", "/", "d", "", &failed).ok());
  failed.WaitFor(10);
  EXPECT_EQ(failed.failures.size(), 10u);
  EXPECT_TRUE(failed.numbers.empty());
  EXPECT_EQ(failed.failures[0].code(), StatusCode::kUnavailable);

  store.fail = false;
  Recorder ok;
  ASSERT_TRUE(service.Submit("s", "/", "d", "", &ok).ok());
  ok.WaitFor(1);
  ASSERT_EQ(ok.numbers.size(), 1u);
  EXPECT_EQ(ok.numbers[0], 1) << "a failed batch must not have counted";
}

TEST(CountingServiceTest, FullQueueRefusesInsteadOfGrowing) {
  ScriptedStore store;
  store.delay = std::chrono::milliseconds(300);
  CountingOptions options;
  options.max_queued_hits = 5;
  CountingService service(store, options, nullptr);
  Recorder r;
  int accepted = 0, refused = 0;
  for (int i = 0; i < 50; ++i) {
    Status s = service.Submit("s", "/", "d", "", &r);
    if (s.ok()) {
      ++accepted;
    } else {
      EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
  r.WaitFor(accepted);
  EXPECT_EQ(static_cast<int>(r.numbers.size()), accepted);
}

TEST(CountingServiceTest, StopCommitsWhatIsQueuedThenRefuses) {
  ScriptedStore store;
  store.delay = std::chrono::milliseconds(5);
  auto service = std::make_unique<CountingService>(store, CountingOptions{}, nullptr);
  Recorder r;
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(service->Submit("s", "/", "d", "", &r).ok());
  service->Stop();
  EXPECT_EQ(r.done, 200);
  EXPECT_EQ(service->Submit("s", "/", "d", "", &r).code(), StatusCode::kUnavailable);
}

// Polls for up to 10 s until `done()`; returns its last answer.
template <typename Predicate>
bool Eventually(Predicate done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

// A relaxed store and its service, which syncs about `interval` after a write.
class RelaxedServiceTest : public testing::Test {
 protected:
  RelaxedServiceTest() { store.mode = Durability::kRelaxed; }
  void Start(std::chrono::milliseconds interval) {
    CountingOptions options;
    options.sync_interval = interval;
    service = std::make_unique<CountingService>(store, options, nullptr);
  }
  void Hit() { ASSERT_TRUE(service->Submit("s", "/", "d", "", &r).ok()); }

  ScriptedStore store;
  Recorder r;
  std::unique_ptr<CountingService> service;  // declared last: stops first
};

TEST_F(RelaxedServiceTest, SyncsWithinTheIntervalWithoutFurtherHits) {
  Start(std::chrono::milliseconds(100));
  // The first commit after start may sync at once; the second, within the
  // interval, must be synced by the timer.
  Hit();
  r.WaitFor(1);
  int before = store.sync_calls.load();
  Hit();
  r.WaitFor(2);
  EXPECT_TRUE(Eventually([&] { return store.sync_calls.load() > before; }));
}

// A relaxed Sync runs off the writer: hits go on being written and answered
// while the disk is busy with it.
TEST_F(RelaxedServiceTest, AnswersHitsWhileASyncIsRunning) {
  store.block_sync = true;
  Start(std::chrono::milliseconds(1));
  Hit();
  r.WaitFor(1);
  store.WaitForSyncsStarted(1);  // and blocked there
  for (int i = 0; i < 100; ++i) Hit();
  r.WaitFor(101);
  EXPECT_EQ(store.durable_hits.load(), 0) << "a Sync returned while blocked";
  store.ReleaseSync();
  service->Stop();
  EXPECT_EQ(store.durable_hits.load(), 101) << "Stop left written hits unsynced";
}

// Commits within one interval share one Sync; Stop syncs what is left at
// once instead of waiting out the interval.
TEST_F(RelaxedServiceTest, SyncsABurstOnceAndStopDoesNotWaitForTheInterval) {
  auto started = std::chrono::steady_clock::now();
  Start(std::chrono::seconds(60));
  for (int i = 0; i < 50; ++i) {  // one commit each
    Hit();
    r.WaitFor(i + 1);
  }
  EXPECT_EQ(store.ApplyCalls(), 50);
  EXPECT_EQ(store.sync_calls.load(), 0) << "synced before the interval was over";
  service->Stop();
  EXPECT_EQ(store.sync_calls.load(), 1);
  EXPECT_EQ(store.durable_hits.load(), 50);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30))
      << "Stop waited for the sync interval";
}

// A failed Sync is tried again: the written hits must not stay unsynced.
TEST_F(RelaxedServiceTest, RetriesAFailedSync) {
  store.sync_fail = true;
  Start(std::chrono::milliseconds(1));
  Hit();
  r.WaitFor(1);
  store.WaitForSyncsStarted(2);  // failed once, tried again
  store.sync_fail = false;
  EXPECT_TRUE(Eventually([&] { return store.durable_hits.load() == 1; }));
}

TEST(CountingServiceTest, StrictNeverCallsSync) {
  ScriptedStore store;
  CountingService service(store, {}, nullptr);
  Recorder r;
  ASSERT_TRUE(service.Submit("s", "/", "d", "", &r).ok());
  r.WaitFor(1);
  service.Stop();
  EXPECT_EQ(store.sync_calls.load(), 0);
}

// --- Pipelined strict stores (ApplyHitsNeedsSync) --------------------------

// Always overlapping a Sync with the next batch, however short both are.
CountingOptions Overlapping() {
  CountingOptions options;
  options.overlap_min_sync = std::chrono::microseconds(0);
  options.overlap_min_commit = std::chrono::microseconds(0);
  return options;
}

// What holds whether the writer hands batches to the syncer or syncs them
// itself (with these scripted durations, the default options sync inline).
class PipelinedTest : public testing::TestWithParam<bool> {
 protected:
  CountingOptions Options() const { return GetParam() ? Overlapping() : CountingOptions{}; }
};
INSTANTIATE_TEST_SUITE_P(Modes, PipelinedTest, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) {
                           return info.param ? "Overlapping" : "Default";
                         });

TEST_P(PipelinedTest, AcknowledgesOnlyAfterASyncCoveringTheBatch) {
  ScriptedStore store;
  store.needs_sync = true;
  store.delay = std::chrono::milliseconds(1);
  auto service = std::make_unique<CountingService>(store, Options(), nullptr);
  Recorder r;
  r.durable = &store.durable_hits;
  constexpr int kThreads = 4, kPerThread = 300;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        ASSERT_TRUE(service->Submit("s", "/", "d", "", &r).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  service->Stop();  // answers everything applied, after a Sync
  ASSERT_EQ(r.done, kThreads * kPerThread);
  std::set<int64_t> distinct(r.numbers.begin(), r.numbers.end());
  ASSERT_EQ(distinct.size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(*distinct.rbegin(), kThreads * kPerThread);
  EXPECT_EQ(store.sync_calls.load(), store.ApplyCalls()) << "one Sync per applied batch";
}

TEST_P(PipelinedTest, AnswersBatchesInOrder) {
  ScriptedStore store;
  store.needs_sync = true;
  store.delay = std::chrono::milliseconds(1);
  Metrics metrics;
  CountingService service(store, Options(), &metrics);
  Recorder r;
  r.durable = &store.durable_hits;
  // From one thread, arrival order is submission order: the numbers must
  // come back 1, 2, 3, ... in the order the completions ran.
  constexpr int kHits = 500;
  for (int i = 0; i < kHits; ++i) {
    ASSERT_TRUE(service.Submit("s", "/", "d", "", &r).ok());
    if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // more batches
  }
  r.WaitFor(kHits);
  std::lock_guard lock(r.mu);
  ASSERT_EQ(r.numbers.size(), static_cast<size_t>(kHits));
  for (int i = 0; i < kHits; ++i) ASSERT_EQ(r.numbers[i], i + 1);
  EXPECT_GT(store.ApplyCalls(), 1);
  EXPECT_EQ(metrics.hits_counted.load(), static_cast<uint64_t>(kHits));
}

TEST_P(PipelinedTest, FailedSyncAnswersUnavailableAndGoesOn) {
  ScriptedStore store;
  store.needs_sync = true;
  Metrics metrics;
  CountingService service(store, Options(), &metrics);
  store.sync_fail = true;
  Recorder failed;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(service.Submit("s", "/", "d", "", &failed).ok());
  failed.WaitFor(5);
  ASSERT_EQ(failed.failures.size(), 5u);
  EXPECT_TRUE(failed.numbers.empty());
  for (const Status& s : failed.failures) EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(metrics.hits_failed.load(), 5u);

  store.sync_fail = false;
  Recorder ok;
  ok.durable = &store.durable_hits;
  ASSERT_TRUE(service.Submit("s", "/", "d", "", &ok).ok());
  ok.WaitFor(1);
  ASSERT_EQ(ok.numbers.size(), 1u);
  // The unsynced hits were applied: a 503 hit may have counted.
  EXPECT_EQ(ok.numbers[0], 6);
}

TEST_P(PipelinedTest, FailedCommitIsAnsweredInOrderWithoutASync) {
  ScriptedStore store;
  store.needs_sync = true;
  CountingService service(store, Options(), nullptr);
  store.fail = true;
  Recorder failed;
  ASSERT_TRUE(service.Submit("s", "/", "d", "", &failed).ok());
  failed.WaitFor(1);
  ASSERT_EQ(failed.failures.size(), 1u);
  EXPECT_EQ(failed.failures[0].code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.sync_calls.load(), 0) << "nothing was applied, nothing to sync";
  store.fail = false;
  Recorder ok;
  ASSERT_TRUE(service.Submit("s", "/", "d", "", &ok).ok());
  ok.WaitFor(1);
  EXPECT_EQ(ok.numbers, (std::vector<int64_t>{1}));
}

TEST(CountingServiceTest, PipelinedWriterAppliesOneBatchPerSyncWhileSyncIsSlow) {
  ScriptedStore store;
  store.needs_sync = true;
  store.block_sync = true;
  CountingOptions options = Overlapping();
  options.max_queued_hits = 4;
  CountingService service(store, options, nullptr);
  Recorder r;
  r.durable = &store.durable_hits;
  // Batch 1 is applied and its Sync starts (and blocks).
  ASSERT_TRUE(service.Submit("s", "/", "d", "", &r).ok());
  store.WaitForSyncsStarted(1);
  // Batch 2 is applied while batch 1 syncs: the overlap.
  ASSERT_TRUE(service.Submit("s", "/", "d", "", &r).ok());
  ASSERT_EQ(store.WaitForApplyCalls(2), 2);
  // Batch 2 waits for the next Sync: the writer applies no more, hits fill
  // the queue, then Submit refuses.
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(service.Submit("s", "/", "d", "", &r).ok());
  EXPECT_EQ(service.Submit("s", "/", "d", "", &r).code(), StatusCode::kResourceExhausted);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // room to misbehave
  EXPECT_EQ(store.ApplyCalls(), 2);
  {
    std::lock_guard lock(r.mu);
    EXPECT_EQ(r.done, 0) << "answered before any Sync returned";
  }
  store.ReleaseSync();
  r.WaitFor(6);
  std::lock_guard lock(r.mu);
  EXPECT_EQ(r.numbers, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(store.ApplyCalls(), 3) << "the four queued hits share one commit";
}

TEST(CountingServiceTest, PipelinedWriterAppliesTheNextBatchAsTheRunningSyncIsDueToEnd) {
  ScriptedStore store;
  store.needs_sync = true;
  store.block_sync = true;
  CountingService service(store, Overlapping(), nullptr);
  Recorder r;
  r.durable = &store.durable_hits;
  // Sync 1 takes 800 ms: the service now expects a Sync to take about
  // 200 ms (a moving average starting from zero).
  ASSERT_TRUE(service.Submit("s", "/", "d", "", &r).ok());
  store.WaitForSyncsStarted(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  store.AllowSyncs(1);
  r.WaitFor(1);
  // The disk is idle: hit 2 is applied at once, and Sync 2 starts (and blocks).
  ASSERT_TRUE(service.Submit("s", "/", "d", "", &r).ok());
  store.WaitForSyncsStarted(2);
  ASSERT_EQ(store.ApplyCalls(), 2);
  // Hit 3 is not applied at once, when more hits may still join it...
  ASSERT_TRUE(service.Submit("s", "/", "d", "", &r).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(store.ApplyCalls(), 2) << "applied long before Sync 2 is due to end";
  // ... but before Sync 2 ends, when it is due to, so that Sync 3 can follow.
  EXPECT_EQ(store.WaitForApplyCalls(3), 3);
  {
    std::lock_guard lock(r.mu);
    EXPECT_EQ(r.done, 1) << "Sync 2 has not returned";
  }
  store.ReleaseSync();
  r.WaitFor(3);
  std::lock_guard lock(r.mu);
  EXPECT_EQ(r.numbers, (std::vector<int64_t>{1, 2, 3}));
}

// With `options` (the defaults unless given), commits taking `commit` and
// Syncs taking `sync`: submits a hit every millisecond for 300 ms, waits for
// the answers, and returns how many commits began while a Sync ran.
int OverlapsUnderSteadyHits(std::chrono::milliseconds commit, std::chrono::microseconds sync,
                            CountingOptions options = {}) {
  ScriptedStore store;
  store.needs_sync = true;
  store.delay = commit;
  store.sync_delay = sync;
  CountingService service(store, options, nullptr);
  Recorder r;
  r.durable = &store.durable_hits;
  int submitted = 0;
  for (auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
       std::chrono::steady_clock::now() < end; ++submitted) {
    EXPECT_TRUE(service.Submit("s", "/", "d", "", &r).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  r.WaitFor(submitted);
  service.Stop();
  EXPECT_EQ(store.sync_calls.load(), store.ApplyCalls()) << "one Sync per applied batch";
  std::lock_guard lock(r.mu);
  EXPECT_EQ(r.numbers.size(), static_cast<size_t>(submitted));
  return store.overlaps.load();
}

TEST(CountingServiceTest, PipelinedWriterSyncsItselfWhileCommitsAreShort) {
  // A slow disk, instant commits (one hot counter).
  EXPECT_EQ(OverlapsUnderSteadyHits(std::chrono::milliseconds(0), std::chrono::milliseconds(5)), 0)
      << "a commit ran while a Sync did";
}

TEST(CountingServiceTest, PipelinedWriterSyncsItselfWhileSyncsAreShort) {
  // Slow commits (many counters), a fast disk: 0.3 ms Syncs, under
  // overlap_min_sync, but long enough to be seen overlapped. The threshold is
  // ten times the Sync, not the default 0.5 ms: a loaded machine oversleeps
  // a 0.3 ms sleep past 0.5 ms often enough to tip the moving average.
  CountingOptions options;
  options.overlap_min_sync = std::chrono::milliseconds(3);
  EXPECT_EQ(OverlapsUnderSteadyHits(std::chrono::milliseconds(2), std::chrono::microseconds(300),
                                    options),
            0)
      << "a commit ran while a Sync did";
}

TEST(CountingServiceTest, PipelinedWriterOverlapsSyncsWithCommitsWhileBothAreLong) {
  EXPECT_GT(OverlapsUnderSteadyHits(std::chrono::milliseconds(2), std::chrono::milliseconds(5)), 0)
      << "no commit ran while a Sync did";
}

TEST(CountingServiceTest, StrictStoreWithoutSyncNeedsIsNotPipelined) {
  ScriptedStore store;
  store.block_sync = true;  // would hang if the service called Sync
  CountingService service(store, {}, nullptr);
  Recorder r;
  ASSERT_TRUE(service.Submit("s", "/", "d", "", &r).ok());
  r.WaitFor(1);
  service.Stop();
  EXPECT_EQ(r.numbers, (std::vector<int64_t>{1}));
  EXPECT_EQ(store.sync_calls.load(), 0);
}

}  // namespace
}  // namespace tally

#include "counting/counting_service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <set>

#include "api/metrics.h"

namespace tally {
namespace {

// An in-memory Store for driving the service through failures and delays
// that a real file cannot produce on demand. Only ApplyHits and Sync matter.
class ScriptedStore : public Store {
 public:
  Status ApplyHits(std::span<const HitDelta> deltas, std::span<CounterTotals> totals) override {
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    std::lock_guard lock(mu);
    ++apply_calls;
    max_deltas = std::max(max_deltas, deltas.size());
    if (fail) return Status::Unavailable("scripted failure");
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
  Status Sync() override {
    ++sync_calls;
    return Status::Ok();
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
};

// Collects the outcomes of many hits.
class Recorder : public HitCompletion {
 public:
  void OnHitDone(const Status& status, const CounterTotals& totals) override {
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
};

TEST(CountingServiceTest, ConcurrentHitsGetDistinctGapFreeNumbers) {
  ScriptedStore store;
  store.delay = std::chrono::milliseconds(2);  // lets hits pile up into batches
  Metrics metrics;
  CountingService service(store, {}, &metrics);
  Recorder recorder;
  constexpr int kThreads = 8, kPerThread = 500;
  std::vector<std::thread> threads;
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

TEST(CountingServiceTest, RelaxedSyncsWithinTheIntervalWithoutFurtherHits) {
  ScriptedStore store;
  store.mode = Durability::kRelaxed;
  CountingOptions options;
  options.sync_interval = std::chrono::milliseconds(100);
  CountingService service(store, options, nullptr);
  Recorder r;
  // The first commit after start may sync at once; the second, within the
  // interval, must be synced by the timer.
  ASSERT_TRUE(service.Submit("s", "/", "d", "", &r).ok());
  r.WaitFor(1);
  int before = store.sync_calls.load();
  ASSERT_TRUE(service.Submit("s", "/", "d", "", &r).ok());
  r.WaitFor(2);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (store.sync_calls.load() <= before && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(store.sync_calls.load(), before);
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

}  // namespace
}  // namespace tally

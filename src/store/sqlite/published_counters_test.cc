#include "store/sqlite/published_counters.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace tally {
namespace {

using namespace std::chrono_literals;
using TimePoint = PublishedCounters::TimePoint;

constexpr std::string_view kDay = "2026-11-26";
const TimePoint kT0 = TimePoint() + 1h;

TEST(PublishedCountersTest, AnswersWhatWasPublishedForThatDayOnly) {
  PublishedCounters published(16, 1s);
  EXPECT_FALSE(published.Find("s", "/a", kDay, kT0)) << "nothing published yet";
  std::vector<HitDelta> deltas = {{"s", "/a", kDay, 3, {}}, {"s", "/b", kDay, 1, {}}};
  std::vector<CounterTotals> totals = {{10, 4, 3, 2}, {1, 1, 1, 1}};
  published.Publish(deltas, totals, kT0);

  auto a = published.Find("s", "/a", kDay, kT0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->hits, 10);
  EXPECT_EQ(a->visitors, 4);
  EXPECT_EQ(a->today_hits, 3);
  EXPECT_EQ(a->today_visitors, 2);
  EXPECT_EQ(published.Find("s", "/b", kDay, kT0)->hits, 1);
  EXPECT_FALSE(published.Find("s", "/a", "2026-11-27", kT0)) << "today_* are another day's";
  EXPECT_FALSE(published.Find("t", "/a", kDay, kT0));
  EXPECT_FALSE(published.Find("s", "/c", kDay, kT0));

  // A later batch replaces the numbers.
  std::vector<HitDelta> later = {{"s", "/a", kDay, 2, {}}};
  std::vector<CounterTotals> later_totals = {{12, 4, 5, 2}};
  published.Publish(later, later_totals, kT0 + 10ms);
  EXPECT_EQ(published.Find("s", "/a", kDay, kT0 + 10ms)->hits, 12);
  EXPECT_EQ(published.Find("s", "/b", kDay, kT0 + 10ms)->hits, 1);

  published.Clear();
  EXPECT_FALSE(published.Find("s", "/a", kDay, kT0 + 10ms));
  EXPECT_FALSE(published.Find("s", "/b", kDay, kT0 + 10ms));
}

TEST(PublishedCountersTest, AnswersOnlyUntilFreshForAfterTheLastPublishOrRefresh) {
  PublishedCounters published(16, 1s);
  std::vector<HitDelta> a = {{"s", "/a", kDay, 1, {}}};
  std::vector<HitDelta> b = {{"s", "/b", kDay, 1, {}}};
  std::vector<CounterTotals> one = {{1, 0, 1, 0}};
  EXPECT_FALSE(published.Find("s", "/a", kDay, kT0));  // someone reads
  published.Publish(a, one, kT0);
  EXPECT_TRUE(published.Find("s", "/a", kDay, kT0 + 1s));
  EXPECT_FALSE(published.Find("s", "/a", kDay, kT0 + 1s + 1ns));
  // Any publish shows the writer is still the only one writing: all of it
  // is fresh again.
  published.Publish(b, one, kT0 + 1500ms);
  EXPECT_TRUE(published.Find("s", "/a", kDay, kT0 + 1500ms));
  EXPECT_TRUE(published.Find("s", "/b", kDay, kT0 + 2500ms));
  EXPECT_FALSE(published.Find("s", "/a", kDay, kT0 + 2500ms + 1ns));
  EXPECT_FALSE(published.FreshAt(kT0 + 2500ms + 1ns));
  // Or a Refresh: nothing held changed.
  published.Refresh(kT0 + 3s);
  EXPECT_TRUE(published.FreshAt(kT0 + 3s));
  EXPECT_EQ(published.Find("s", "/a", kDay, kT0 + 4s)->hits, 1);
  EXPECT_FALSE(published.FreshAt(kT0 + 4s + 1ns));
}

// Hits alone cost nothing here: with no reader within fresh_for, a publish
// forgets everything (what is held is stale after that commit) and keeps
// nothing new.
TEST(PublishedCountersTest, PublishesOnlyWhileSomeoneReads) {
  PublishedCounters published(16, 1s);
  std::vector<HitDelta> a = {{"s", "/a", kDay, 1, {}}};
  std::vector<CounterTotals> one = {{1, 0, 1, 0}};
  std::vector<CounterTotals> two = {{2, 0, 2, 0}};
  published.Publish(a, one, kT0);
  EXPECT_FALSE(published.Find("s", "/a", kDay, kT0)) << "nobody read before this commit";
  published.Publish(a, one, kT0 + 1ms);
  EXPECT_EQ(published.Find("s", "/a", kDay, kT0 + 2ms)->hits, 1);
  // Reads stop; a commit more than fresh_for later is not kept, and drops
  // the old numbers.
  published.Refresh(kT0 + 3s);
  published.Publish(a, two, kT0 + 3s);
  EXPECT_FALSE(published.Find("s", "/a", kDay, kT0 + 3s));
}

TEST(PublishedCountersTest, PutsBackReadsOnlyIfNothingCameBetween) {
  PublishedCounters published(16, 1s);
  std::vector<HitDelta> a = {{"s", "/a", kDay, 1, {}}};
  std::vector<CounterTotals> five = {{5, 0, 5, 0}};
  EXPECT_FALSE(published.Find("s", "/a", kDay, kT0));
  published.Refresh(kT0);

  uint64_t before = published.Generation();
  published.PutRead("s", "/a", kDay, CounterTotals{4, 0, 4, 0}, before);
  EXPECT_EQ(published.Find("s", "/a", kDay, kT0)->hits, 4);

  // A commit between the read's start and its put: the read may be older.
  before = published.Generation();
  published.Publish(a, five, kT0);
  published.PutRead("s", "/a", kDay, CounterTotals{4, 0, 4, 0}, before);
  EXPECT_EQ(published.Find("s", "/a", kDay, kT0)->hits, 5);
  // A Clear between (a counter set or deleted): the read may predate it.
  before = published.Generation();
  published.Clear();
  published.PutRead("s", "/b", kDay, CounterTotals{9, 0, 9, 0}, before);
  EXPECT_FALSE(published.Find("s", "/b", kDay, kT0));
}

TEST(PublishedCountersTest, StartsOverWhenFull) {
  PublishedCounters published(2, 1s);
  std::vector<CounterTotals> one = {{1, 0, 1, 0}};
  EXPECT_FALSE(published.Find("s", "/a", kDay, kT0));
  for (std::string key : {"/a", "/b", "/c"}) {
    std::vector<HitDelta> d = {{"s", key, kDay, 1, {}}};
    published.Publish(d, one, kT0);
  }
  EXPECT_TRUE(published.Find("s", "/c", kDay, kT0));
  EXPECT_FALSE(published.Find("s", "/a", kDay, kT0)) << "forgotten, not kept beyond capacity";
}

// Readers on several threads while the writer publishes: each answer is one
// that was published, whole.
TEST(PublishedCountersTest, ConcurrentReadersSeeWholePublishedNumbers) {
  PublishedCounters published(16, 1h);
  EXPECT_FALSE(published.Find("s", "/a", kDay, kT0));
  std::atomic<bool> done{false};
  std::atomic<int64_t> answers{0};
  std::vector<std::thread> readers;
  readers.reserve(3);
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      int64_t last = 0;
      while (!done.load()) {
        auto got = published.Find("s", "/a", kDay, kT0);
        if (!got) continue;
        // Published as (n, n, n, n): a torn read would mix two batches.
        EXPECT_EQ(got->visitors, got->hits);
        EXPECT_EQ(got->today_hits, got->hits);
        EXPECT_EQ(got->today_visitors, got->hits);
        EXPECT_GE(got->hits, last) << "numbers never go back";
        last = got->hits;
        answers.fetch_add(1);
      }
    });
  }
  std::vector<HitDelta> d = {{"s", "/a", kDay, 1, {}}};
  for (int64_t n = 1; n <= 20000; ++n) {
    std::vector<CounterTotals> totals = {{n, n, n, n}};
    published.Publish(d, totals, kT0);
  }
  done = true;
  for (auto& r : readers) r.join();
  EXPECT_GT(answers.load(), 0);
}

}  // namespace
}  // namespace tally

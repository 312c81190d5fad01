#include "store/sqlite/counter_totals_cache.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "store/sqlite/sqlite_store.h"

namespace tally {
namespace {

constexpr std::string_view kDay = "2026-11-26";
constexpr std::string_view kNextDay = "2026-11-27";

TEST(CounterTotalsCacheTest, FindsWhatWasPutForTheSameDayOnly) {
  CounterTotalsCache cache(8);
  EXPECT_EQ(cache.Find("s", "/a", kDay), nullptr);
  cache.Put("s", "/a", kDay, CounterTotals{10, 3, 2, 1});
  CounterTotals* found = cache.Find("s", "/a", kDay);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->hits, 10);
  EXPECT_EQ(found->today_visitors, 1);
  found->hits += 5;  // in place
  EXPECT_EQ(cache.Find("s", "/a", kDay)->hits, 15);
  EXPECT_EQ(cache.Find("s", "/a", kNextDay), nullptr) << "today_* are another day's";
  EXPECT_EQ(cache.Find("t", "/a", kDay), nullptr);
  cache.Put("s", "/a", kNextDay, CounterTotals{16, 3, 1, 0});
  EXPECT_EQ(cache.Find("s", "/a", kDay), nullptr);
  EXPECT_EQ(cache.Find("s", "/a", kNextDay)->hits, 16);
  EXPECT_EQ(cache.size(), 1u);
  cache.Clear();
  EXPECT_EQ(cache.Find("s", "/a", kNextDay), nullptr);
}

TEST(CounterTotalsCacheTest, SiteAndKeyCannotBeShiftedIntoEachOther) {
  CounterTotalsCache cache(8);
  cache.Put("ab", "c", kDay, CounterTotals{1, 0, 0, 0});
  EXPECT_EQ(cache.Find("a", "bc", kDay), nullptr);
}

TEST(CounterTotalsCacheTest, StartsOverWhenFull) {
  CounterTotalsCache cache(2);
  cache.Put("s", "/1", kDay, {});
  cache.Put("s", "/2", kDay, {});
  cache.Put("s", "/2", kDay, {});  // replacing is not adding
  EXPECT_EQ(cache.size(), 2u);
  cache.Put("s", "/3", kDay, {});
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_NE(cache.Find("s", "/3", kDay), nullptr);
  CounterTotalsCache none(0);
  none.Put("s", "/1", kDay, {});
  EXPECT_EQ(none.Find("s", "/1", kDay), nullptr);
}

// The store answers hits from the cache; every other way of changing a
// counter must leave the next hit's totals equal to the database's.
class StoreTotalsCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("t.db");
    auto store = SqliteStore::Open(path_, Durability::kStrict);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  CounterTotals Hit(std::string_view key, std::string_view day = kDay, int64_t hits = 1) {
    HitDelta delta{"s", key, day, hits, {}};
    CounterTotals totals;
    Status s = store_->ApplyHits({&delta, 1}, {&totals, 1});
    EXPECT_TRUE(s.ok()) << s.ToString();
    return totals;
  }

  // A hit's totals must be what a fresh read of the database says.
  void ExpectHitMatchesDatabase(std::string_view key, std::string_view day = kDay) {
    CounterTotals hit = Hit(key, day);
    Result<CounterTotals> read = store_->ReadCounter("s", key, day);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(hit.hits, read->hits);
    EXPECT_EQ(hit.visitors, read->visitors);
    EXPECT_EQ(hit.today_hits, read->today_hits);
    EXPECT_EQ(hit.today_visitors, read->today_visitors);
  }

  // Another process (an operator's sqlite3 shell) writing to the file.
  int RawExec(const std::string& sql) {
    sqlite3* db = nullptr;
    int rc = sqlite3_open(path_.c_str(), &db);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
    return rc;
  }

  TempDir dir_{"tally-totals"};  // declared first: removed after the store closes
  std::string path_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(StoreTotalsCacheTest, RepeatedHitsCountOnFromTheCache) {
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(Hit("/a").hits, i);
  EXPECT_EQ(Hit("/a", kDay, 10).today_hits, 15);
  // A new day: the total goes on, today starts again.
  CounterTotals next = Hit("/a", kNextDay);
  EXPECT_EQ(next.hits, 16);
  EXPECT_EQ(next.today_hits, 1);
  ExpectHitMatchesDatabase("/a", kNextDay);
  ExpectHitMatchesDatabase("/a", kDay);  // and back: a late hit for yesterday
}

TEST_F(StoreTotalsCacheTest, SetCounterIsSeenByTheNextHit) {
  Hit("/a");
  Hit("/a");
  ASSERT_TRUE(store_->SetCounter("s", "/a", 100).ok());
  EXPECT_EQ(Hit("/a").hits, 101);
  ExpectHitMatchesDatabase("/a");
}

TEST_F(StoreTotalsCacheTest, DeleteCounterIsSeenByTheNextHit) {
  Hit("/a");
  Hit("/a");
  ASSERT_TRUE(store_->DeleteCounter("s", "/a").ok());
  CounterTotals fresh = Hit("/a");
  EXPECT_EQ(fresh.hits, 1);
  EXPECT_EQ(fresh.today_hits, 1);
}

TEST_F(StoreTotalsCacheTest, DeleteSiteIsSeenByTheNextHit) {
  SiteRecord site;
  site.name = "s";
  site.timezone = "UTC";
  ASSERT_TRUE(store_->CreateSite(site).ok());
  Hit("/a");
  Hit("/a");
  ASSERT_TRUE(store_->DeleteSite("s").ok());
  EXPECT_EQ(Hit("/a").hits, 1);
}

TEST_F(StoreTotalsCacheTest, ImportIsSeenByTheNextHit) {
  Hit("/a");
  Hit("/a");
  const ExportRow rows[] = {{"/a", "", 500, 7}, {"/a", std::string(kDay), 40, 3}};
  ASSERT_TRUE(store_->ImportRows("s", rows).ok());
  ExpectHitMatchesDatabase("/a");
}

TEST_F(StoreTotalsCacheTest, AnotherProcessWritingIsSeenByTheNextHit) {
  Hit("/a");
  Hit("/a");
  ASSERT_EQ(RawExec("UPDATE counts SET hits = 1000 WHERE key = '/a' AND day = 'total'"), SQLITE_OK);
  EXPECT_EQ(Hit("/a").hits, 1001);
  ExpectHitMatchesDatabase("/a");
}

// A batch that fails after adding to a cached counter must leave no trace.
TEST_F(StoreTotalsCacheTest, AFailedBatchLeavesTheCacheAsTheDatabase) {
  Hit("/a");
  Hit("/a");
  // The trigger makes the batch's second delta fail inside SQLite. Creating
  // it is another connection's commit, so hit once more to re-fill the cache.
  ASSERT_EQ(RawExec("CREATE TRIGGER boom AFTER INSERT ON counts WHEN NEW.key = '/boom' "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"),
            SQLITE_OK);
  EXPECT_EQ(Hit("/a").hits, 3);
  const HitDelta batch[] = {{"s", "/a", kDay, 5, {}}, {"s", "/boom", kDay, 1, {}}};
  CounterTotals totals[2];
  EXPECT_FALSE(store_->ApplyHits(batch, totals).ok());
  EXPECT_EQ(Hit("/a").hits, 4) << "the failed batch's +5 was rolled back";
  ExpectHitMatchesDatabase("/a");
}

}  // namespace
}  // namespace tally

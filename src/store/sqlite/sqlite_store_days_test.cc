// SqliteStore's day-based half: visitors, series, salts, export and import.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "store/sqlite/sqlite_store.h"

#include "common/temp_dir.h"

namespace tally {
namespace {

class SqliteStoreDaysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open(dir_.File("t.db"), Durability::kStrict);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  CounterTotals Hit(std::string_view key, std::string_view day, int64_t hits,
                    std::vector<std::string_view> visitors) {
    HitDelta delta{"s", key, day, hits, visitors};
    CounterTotals totals;
    Status s = store_->ApplyHits({&delta, 1}, {&totals, 1});
    EXPECT_TRUE(s.ok()) << s.ToString();
    return totals;
  }

  TempDir dir_{"tally-days"};  // declared first: removed after the store closes
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreDaysTest, AVisitorCountsOncePerCounterAndDay) {
  EXPECT_EQ(Hit("/a", "2026-11-25", 2, {"v1", "v2"}).visitors, 2);
  auto again = Hit("/a", "2026-11-25", 3, {"v1", "v3"});
  EXPECT_EQ(again.visitors, 3) << "v1 was already counted today";
  EXPECT_EQ(again.today_visitors, 3);
  EXPECT_EQ(Hit("/b", "2026-11-25", 1, {"v1"}).visitors, 1) << "another counter counts v1 anew";
  auto next_day = Hit("/a", "2026-11-26", 1, {"v1"});
  EXPECT_EQ(next_day.visitors, 4) << "a new day counts v1 anew";
  EXPECT_EQ(next_day.today_visitors, 1);
}

TEST_F(SqliteStoreDaysTest, SeriesOfACounterAndOfTheSite) {
  Hit("/a", "2026-11-20", 2, {"v1"});
  Hit("/a", "2026-11-22", 3, {"v1", "v2"});
  Hit("/b", "2026-11-22", 4, {"v1"});
  Hit("/b", "2026-12-01", 9, {});
  auto a = store_->ReadSeries("s", "/a", "2026-11-01", "2026-11-30");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].day, "2026-11-20");
  EXPECT_EQ((*a)[1].hits, 3);
  EXPECT_EQ((*a)[1].visitors, 2);
  auto site = store_->ReadSeries("s", std::nullopt, "2026-11-21", "2026-11-30");
  ASSERT_TRUE(site.ok());
  ASSERT_EQ(site->size(), 1u);
  EXPECT_EQ((*site)[0].day, "2026-11-22");
  EXPECT_EQ((*site)[0].hits, 7);
  EXPECT_EQ((*site)[0].visitors, 3);
  EXPECT_TRUE(store_->ReadSeries("other", std::nullopt, "2026-01-01", "2026-12-31")->empty());
}

TEST_F(SqliteStoreDaysTest, DailySaltIsCreatedOnceAndForgotten) {
  auto first = store_->DailySalt("2026-11-25", "candidate-1");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, "candidate-1");
  EXPECT_EQ(*store_->DailySalt("2026-11-25", "candidate-2"), "candidate-1");
  EXPECT_EQ(*store_->DailySalt("2026-11-26", "candidate-3"), "candidate-3");

  Hit("/a", "2026-11-25", 1, {"v1"});
  ASSERT_TRUE(store_->ForgetVisitorsBefore("2026-11-26").ok());
  EXPECT_EQ(*store_->DailySalt("2026-11-25", "fresh"), "fresh") << "the old salt must be gone";
  EXPECT_EQ(*store_->DailySalt("2026-11-26", "fresh"), "candidate-3");
  // The marker is gone too: only the counts remain.
  EXPECT_EQ(Hit("/a", "2026-11-25", 1, {"v1"}).visitors, 2);
}

TEST_F(SqliteStoreDaysTest, ExportThenImportIntoAnEmptyStoreGivesTheSameAnswers) {
  Hit("/a", "2026-11-24", 2, {"v1"});
  Hit("/a", "2026-11-25", 3, {"v1", "v2"});
  Hit("/b", "2026-11-25", 1, {});
  std::vector<ExportRow> rows;
  ASSERT_TRUE(store_
                  ->ExportSite("s",
                               [&](const ExportRow& r) {
                                 rows.push_back(r);
                                 return true;
                               })
                  .ok());
  ASSERT_EQ(rows.size(), 5u);  // two totals, three day rows
  EXPECT_EQ(rows[0].key, "/a");
  EXPECT_EQ(rows[0].day, "");
  EXPECT_EQ(rows[0].hits, 5);
  EXPECT_EQ(rows[1].day, "2026-11-24");

  auto other = SqliteStore::Open(dir_.File("other.db"), Durability::kStrict);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE((*other)->ImportRows("s", rows).ok());
  for (const char* key : {"/a", "/b"}) {
    auto want = store_->ReadCounter("s", key, "2026-11-25");
    auto got = (*other)->ReadCounter("s", key, "2026-11-25");
    ASSERT_TRUE(want.ok() && got.ok());
    EXPECT_EQ(got->hits, want->hits);
    EXPECT_EQ(got->visitors, want->visitors);
    EXPECT_EQ(got->today_hits, want->today_hits);
    EXPECT_EQ(got->today_visitors, want->today_visitors);
  }
  // Import replaces rather than adds.
  ASSERT_TRUE((*other)->ImportRows("s", std::vector<ExportRow>{{"/a", "", 100, 7}}).ok());
  EXPECT_EQ((*other)->ReadCounter("s", "/a", "2026-11-25")->hits, 100);
  // The totals' row is stored as day 'total'; an imported day may not name it.
  EXPECT_EQ((*other)->ImportRows("s", std::vector<ExportRow>{{"/a", "total", 1, 0}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*other)->ReadCounter("s", "/a", "2026-11-25")->hits, 100);

  int seen = 0;
  ASSERT_TRUE(store_->ExportSite("s", [&](const ExportRow&) { return ++seen < 2; }).ok());
  EXPECT_EQ(seen, 2) << "export stops when asked";
}

TEST_F(SqliteStoreDaysTest, RateLimitSettingsRoundTrip) {
  SiteRecord site;
  site.name = "limited";
  site.rate_limit_per_minute = 30;
  site.rate_limit_ignore = true;
  ASSERT_TRUE(store_->CreateSite(site).ok());
  auto got = store_->GetSite("limited");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->rate_limit_per_minute, 30);
  EXPECT_TRUE(got->rate_limit_ignore);
  got->rate_limit_per_minute = 0;
  ASSERT_TRUE(store_->UpdateSite(*got).ok());
  EXPECT_EQ(store_->GetSite("limited")->rate_limit_per_minute, 0);
}

}  // namespace
}  // namespace tally

// The DynamoDB store against a real DynamoDB API (dynalite on loopback):
// every Store method, mirroring the SQLite store's tests, plus what only
// this backend has to prove — coalescing, retries without double counting,
// outages.
#include "store/dynamodb/dynamodb_store.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "counting/counting_service.h"
#include "dynalite_process.h"
#include "store/dynamodb/dynamodb_json.h"
#include "store/dynamodb/dynamodb_layout.h"

namespace tally {
namespace {

using testing::DynaliteProcess;
using ::testing::ElementsAre;

constexpr std::string_view kDay1 = "2024-03-01";
constexpr std::string_view kDay2 = "2024-03-02";

class DynamoDbStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dynalite_ = new DynaliteProcess();
    start_error_ = new std::string(dynalite_->Start());
  }
  static void TearDownTestSuite() {
    delete dynalite_;
    delete start_error_;
  }

  void SetUp() override {
    ASSERT_EQ(*start_error_, "");
    Result<std::string> table = testing::CreateUniqueTable(dynalite_->Config());
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    table_ = *table;
    store_ = Open();
    ASSERT_TRUE(store_);
  }

  std::unique_ptr<DynamoDbStore> Open(DynamoDbClientOptions options = {}) {
    Result<std::unique_ptr<DynamoDbStore>> store =
        DynamoDbStore::Open(table_, dynalite_->Config(), options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  static CounterTotals Hit(Store& store, std::string_view site, std::string_view key,
                           std::string_view day, int64_t hits,
                           std::vector<std::string_view> visitors = {}) {
    HitDelta delta{site, key, day, hits, visitors};
    CounterTotals totals;
    Status s = store.ApplyHits({&delta, 1}, {&totals, 1});
    EXPECT_TRUE(s.ok()) << s.ToString();
    return totals;
  }

  static SiteRecord MakeSite(std::string name) {
    SiteRecord site;
    site.name = std::move(name);
    site.origins = {"https://example.com", "http://localhost:3000"};
    site.require_public_key = true;
    site.public_key_hash = std::string(64, 'a');
    site.admin_token_hash = std::string(64, 'b');
    site.timezone = "Europe/Berlin";
    site.created_at = 1700000000;
    site.rate_limit_per_minute = 120;
    site.rate_limit_ignore = true;
    return site;
  }

  // A raw item, read past the store.
  nlohmann::json RawItem(const std::string& pk, std::string_view sk) {
    DynamoResult r = store_->client().Call(
        "GetItem",
        {{"TableName", table_}, {"Key", dynamodb::ItemKey(pk, sk)}, {"ConsistentRead", true}});
    EXPECT_TRUE(r.ok()) << r.status.ToString();
    return r.body.value("Item", nlohmann::json());
  }

  static DynaliteProcess* dynalite_;
  static std::string* start_error_;
  std::string table_;
  std::unique_ptr<DynamoDbStore> store_;
};

DynaliteProcess* DynamoDbStoreTest::dynalite_ = nullptr;
std::string* DynamoDbStoreTest::start_error_ = nullptr;

void ExpectSameSite(const SiteRecord& a, const SiteRecord& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.origins, b.origins);
  EXPECT_EQ(a.require_public_key, b.require_public_key);
  EXPECT_EQ(a.public_key_hash, b.public_key_hash);
  EXPECT_EQ(a.admin_token_hash, b.admin_token_hash);
  EXPECT_EQ(a.timezone, b.timezone);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.rate_limit_per_minute, b.rate_limit_per_minute);
  EXPECT_EQ(a.rate_limit_ignore, b.rate_limit_ignore);
}

std::vector<std::string> Keys(const std::vector<CounterRow>& rows) {
  std::vector<std::string> keys;
  keys.reserve(rows.size());
  for (const CounterRow& row : rows) keys.push_back(row.key);
  return keys;
}

// --- ApplyHits ---------------------------------------------------------------

TEST_F(DynamoDbStoreTest, ApplyHitsReturnsTotalsAcrossBatchesCountersAndDays) {
  std::vector<std::string_view> ab = {"va", "vb"}, c = {"vc"}, none = {};
  std::vector<HitDelta> batch1 = {{"s", "/a", kDay1, 3, ab}, {"s", "/b", kDay1, 1, c}};
  std::vector<CounterTotals> totals(2);
  ASSERT_TRUE(store_->ApplyHits(batch1, totals).ok());
  EXPECT_EQ(totals[0].hits, 3);
  EXPECT_EQ(totals[0].visitors, 2);
  EXPECT_EQ(totals[0].today_hits, 3);
  EXPECT_EQ(totals[0].today_visitors, 2);
  EXPECT_EQ(totals[1].hits, 1);
  EXPECT_EQ(totals[1].today_visitors, 1);

  std::vector<HitDelta> batch2 = {{"s", "/b", kDay1, 4, none}, {"s", "/a", kDay2, 5, c}};
  ASSERT_TRUE(store_->ApplyHits(batch2, totals).ok());
  EXPECT_EQ(totals[0].hits, 5);
  EXPECT_EQ(totals[0].visitors, 1);
  EXPECT_EQ(totals[0].today_hits, 5);
  EXPECT_EQ(totals[1].hits, 8);
  EXPECT_EQ(totals[1].visitors, 3);
  EXPECT_EQ(totals[1].today_hits, 5);
  EXPECT_EQ(totals[1].today_visitors, 1);

  Result<CounterTotals> a1 = store_->ReadCounter("s", "/a", kDay1);
  ASSERT_TRUE(a1.ok()) << a1.status().ToString();
  EXPECT_EQ(a1->hits, 8);
  EXPECT_EQ(a1->today_hits, 3);
  EXPECT_EQ(a1->today_visitors, 2);
  Result<CounterTotals> other_day = store_->ReadCounter("s", "/a", "2024-12-31");
  ASSERT_TRUE(other_day.ok());
  EXPECT_EQ(other_day->today_hits, 0);
  EXPECT_EQ(store_->durability(), Durability::kStrict);
  EXPECT_TRUE(store_->Sync().ok());
  EXPECT_TRUE(store_->Ping().ok());
}

TEST_F(DynamoDbStoreTest, UsesTheDesignedTableLayout) {
  Hit(*store_, "example.com", "/p", kDay1, 2, {"h1"});
  nlohmann::json total = RawItem("c#example.com#/p", "total");
  EXPECT_EQ(dynamodb::GetN(total, "hits"), 2);
  EXPECT_EQ(dynamodb::GetN(total, "visitors"), 1);
  nlohmann::json day = RawItem("c#example.com#/p", "d#2024-03-01");
  EXPECT_EQ(dynamodb::GetN(day, "hits"), 2);
  nlohmann::json marker = RawItem("v#example.com#2024-03-01#h1", "/p");
  ASSERT_FALSE(marker.is_null());
  EXPECT_EQ(dynamodb::GetN(marker, "ttl"),
            dynamodb::DayStartUnixSeconds(kDay1) + int64_t{3} * 86400);
  ASSERT_TRUE(store_->CreateSite(MakeSite("example.com")).ok());
  nlohmann::json site = RawItem("s#example.com", "site");
  EXPECT_EQ(dynamodb::GetS(site, "admin_token_hash"), std::string(64, 'b'));
  EXPECT_EQ(dynamodb::GetS(site, "public_key_hash"), std::string(64, 'a'));
}

TEST_F(DynamoDbStoreTest, VisitorsAreCountedOncePerCounterPerDay) {
  EXPECT_EQ(Hit(*store_, "s", "/a", kDay1, 2, {"x", "y"}).visitors, 2);
  // A fresh store (another process) has no cache: the markers decide.
  auto other = Open();
  ASSERT_TRUE(other);
  CounterTotals again = Hit(*other, "s", "/a", kDay1, 3, {"x", "y", "z"});
  EXPECT_EQ(again.visitors, 3);
  EXPECT_EQ(again.today_visitors, 3);
  EXPECT_EQ(Hit(*store_, "s", "/a", kDay1, 1, {"z"}).visitors, 3);  // cached as seen
  // Another counter, another day: counted again.
  EXPECT_EQ(Hit(*store_, "s", "/b", kDay1, 1, {"x"}).visitors, 1);
  CounterTotals next_day = Hit(*store_, "s", "/a", kDay2, 1, {"x"});
  EXPECT_EQ(next_day.visitors, 4);
  EXPECT_EQ(next_day.today_visitors, 1);
  EXPECT_EQ(next_day.hits, 7);
}

TEST_F(DynamoDbStoreTest, ARetriedBatchIsNotCountedTwice) {
  // Replaying a batch with the same sequence number is exactly what a retry
  // after a lost answer does: DynamoDB has the write, the client sends it again.
  Hit(*store_, "s", "/r", kDay1, 10);
  DynamoDbHitWriter& writer = store_->hit_writer();
  const int64_t seq = writer.LastSeqForTesting() + int64_t{60} * 1000 * 1000;  // ahead of now
  writer.SetNextSeqForTesting(seq);
  CounterTotals first = Hit(*store_, "s", "/r", kDay1, 5, {"v1"});
  EXPECT_EQ(first.hits, 15);
  Hit(*Open(), "s", "/r", kDay1, 7);  // another writer in between
  const int64_t requests_before = store_->client().stats().requests;
  writer.SetNextSeqForTesting(seq);  // the "retry"
  CounterTotals retried = Hit(*store_, "s", "/r", kDay1, 5, {"v1"});
  EXPECT_EQ(retried.hits, 15) << "the retry must report the numbers of the applied write";
  EXPECT_EQ(retried.today_hits, 15);
  EXPECT_GT(store_->client().stats().requests, requests_before);
  Result<CounterTotals> now = store_->ReadCounter("s", "/r", kDay1);
  EXPECT_EQ(now->hits, 22) << "10 + 5 + 7: the retried +5 was not added again";
  EXPECT_EQ(now->today_hits, 22);
  EXPECT_EQ(now->visitors, 1);
}

TEST_F(DynamoDbStoreTest, StaleWriterAttributesArePruned) {
  Hit(*store_, "s", "/p", kDay1, 1);
  // A writer that last wrote an hour ago.
  const int64_t old_seq = store_->hit_writer().LastSeqForTesting() - int64_t{3600} * 1000000;
  DynamoResult r = store_->client().Call(
      "UpdateItem",
      {{"TableName", table_},
       {"Key", dynamodb::ItemKey("c#s#/p", "total")},
       {"UpdateExpression", "SET #w = :s, #b = :s"},
       {"ExpressionAttributeNames", {{"#w", "w:deadbeef0000"}, {"#b", "b:deadbeef0000"}}},
       {"ExpressionAttributeValues", {{":s", dynamodb::N(old_seq)}}}});
  ASSERT_TRUE(r.ok()) << r.status.ToString();
  Hit(*store_, "s", "/p", kDay1, 1);  // sees it
  EXPECT_TRUE(RawItem("c#s#/p", "total").contains("w:deadbeef0000"));
  EXPECT_EQ(Hit(*store_, "s", "/p", kDay1, 1).hits, 3);  // removes it
  nlohmann::json item = RawItem("c#s#/p", "total");
  EXPECT_FALSE(item.contains("w:deadbeef0000"));
  EXPECT_FALSE(item.contains("b:deadbeef0000"));
  EXPECT_TRUE(item.contains("w:" + store_->hit_writer().writer_id()));
}

TEST_F(DynamoDbStoreTest, ApplyHitsValidatesItsArguments) {
  EXPECT_TRUE(store_->ApplyHits({}, {}).ok());
  HitDelta delta{"s", "/", kDay1, 1, {}};
  std::vector<CounterTotals> two(2);
  EXPECT_EQ(store_->ApplyHits({&delta, 1}, two).code(), StatusCode::kInvalidArgument);
  HitDelta bad_day{"s", "/", "yesterday", 1, {}};
  CounterTotals totals;
  EXPECT_EQ(store_->ApplyHits({&bad_day, 1}, {&totals, 1}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ReadCounter("s", "/", kDay1).status().code(), StatusCode::kNotFound);
}

// Hits through the real counting service: concurrent hits on one counter are
// coalesced into few UpdateItems, and every hit gets its own number.
TEST_F(DynamoDbStoreTest, CoalescedHitsGetDistinctNumbersFromFewWrites) {
  class Recorder : public HitCompletion {
   public:
    void OnHitDone(const Status& status, const CounterTotals& totals) override {
      std::lock_guard<std::mutex> lock(mu);
      if (status.ok()) numbers.push_back(totals.hits);
      ++done;
    }
    std::mutex mu;
    std::vector<int64_t> numbers;
    int done = 0;
  } recorder;
  constexpr int kHits = 2000;
  const int64_t writes_before = store_->client().stats().writes;
  {
    CountingService counting(*store_, CountingOptions{}, nullptr);
    std::vector<std::thread> threads;
    threads.reserve(8);
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kHits / 8; ++i) {
          const std::string visitor = "visitor" + std::to_string(i % 50);
          ASSERT_TRUE(counting.Submit("s", "/hot", kDay1, visitor, &recorder).ok());
        }
      });
    }
    for (std::thread& t : threads) t.join();
    counting.Stop();
  }
  ASSERT_EQ(recorder.done, kHits);
  std::sort(recorder.numbers.begin(), recorder.numbers.end());
  ASSERT_EQ(recorder.numbers.size(), static_cast<size_t>(kHits));
  for (int i = 0; i < kHits; ++i) ASSERT_EQ(recorder.numbers[i], i + 1);
  const int64_t writes = store_->client().stats().writes - writes_before;
  EXPECT_LT(writes, kHits / 4) << "hits were not coalesced: " << writes << " writes";
  EXPECT_EQ(store_->ReadCounter("s", "/hot", kDay1)->hits, kHits);
  EXPECT_EQ(store_->ReadCounter("s", "/hot", kDay1)->visitors, 50);
}

// --- Counters ------------------------------------------------------------------

TEST_F(DynamoDbStoreTest, SetCounterCreatesOrOverwritesHitsOnly) {
  ASSERT_TRUE(store_->SetCounter("s", "/new", 42).ok());
  Result<CounterTotals> created = store_->ReadCounter("s", "/new", kDay1);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->hits, 42);
  EXPECT_EQ(created->visitors, 0);
  Hit(*store_, "s", "/", kDay1, 5, {"a", "b", "c"});
  ASSERT_TRUE(store_->SetCounter("s", "/", 1000).ok());
  Result<CounterTotals> set = store_->ReadCounter("s", "/", kDay1);
  EXPECT_EQ(set->hits, 1000);
  EXPECT_EQ(set->visitors, 3);
  EXPECT_EQ(set->today_hits, 5);
  EXPECT_EQ(Hit(*store_, "s", "/", kDay1, 1).hits, 1001);
  EXPECT_EQ(store_->SetCounter("s", "/", -1).code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(Keys(*store_->ListCounters("s", "", 10)), ElementsAre("/", "/new"));
}

TEST_F(DynamoDbStoreTest, DeleteCounterRemovesItAndItsDays) {
  Hit(*store_, "s", "/gone", kDay1, 5, {"v"});
  Hit(*store_, "s", "/gone", kDay2, 5, {"v"});
  Hit(*store_, "s", "/kept", kDay1, 2);
  ASSERT_TRUE(store_->DeleteCounter("s", "/gone").ok());
  EXPECT_EQ(store_->ReadCounter("s", "/gone", kDay1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->DeleteCounter("s", "/gone").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->DeleteCounter("s", "/never").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->ReadCounter("s", "/kept", kDay1)->hits, 2);
  CounterTotals again = Hit(*store_, "s", "/gone", kDay2, 1);
  EXPECT_EQ(again.hits, 1);
  EXPECT_EQ(again.today_hits, 1);
}

TEST_F(DynamoDbStoreTest, ListCountersPagesInByteOrder) {
  for (std::string_view key : {"/b", "/\xC3\xA9t\xC3\xA9", "/", "/a", "/Zebra"}) {
    Hit(*store_, "s", key, kDay1, 1);
  }
  Hit(*store_, "other", "/a", kDay1, 1);
  Hit(*store_, "s", "/a", kDay1, 2, {"v"});
  Result<std::vector<CounterRow>> page1 = store_->ListCounters("s", "", 2);
  ASSERT_TRUE(page1.ok()) << page1.status().ToString();
  EXPECT_THAT(Keys(*page1), ElementsAre("/", "/Zebra"));
  Result<std::vector<CounterRow>> page2 = store_->ListCounters("s", page1->back().key, 2);
  EXPECT_THAT(Keys(*page2), ElementsAre("/a", "/b"));
  EXPECT_EQ((*page2)[0].hits, 3);
  EXPECT_EQ((*page2)[0].visitors, 1);
  Result<std::vector<CounterRow>> page3 = store_->ListCounters("s", page2->back().key, 2);
  EXPECT_THAT(Keys(*page3), ElementsAre("/\xC3\xA9t\xC3\xA9"));
  EXPECT_TRUE(store_->ListCounters("s", page3->back().key, 2)->empty());
  EXPECT_TRUE(store_->ListCounters("s", "", 0)->empty());
  EXPECT_EQ(store_->ListCounters("s", "", -1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->ListCounters("nobody", "", 10)->empty());
}

// --- Sites ---------------------------------------------------------------------

TEST_F(DynamoDbStoreTest, SitesRoundTripAndAreOrdered) {
  SiteRecord site = MakeSite("example.com");
  site.origins.push_back(
      "https://\xC3\xBC"
      "ber.example/\"quoted\"");
  ASSERT_TRUE(store_->CreateSite(site).ok());
  ExpectSameSite(*store_->GetSite("example.com"), site);
  EXPECT_EQ(store_->GetSite("example.org").status().code(), StatusCode::kNotFound);
  SiteRecord bare = MakeSite("bare");
  bare.origins.clear();
  bare.public_key_hash.clear();
  ASSERT_TRUE(store_->CreateSite(bare).ok());
  ExpectSameSite(*store_->GetSite("bare"), bare);
  SiteRecord bad = MakeSite("bad");
  bad.origins = {"https://\xFF.example"};
  EXPECT_EQ(store_->CreateSite(bad).code(), StatusCode::kInvalidArgument);

  Result<std::vector<SiteRecord>> sites = store_->ListSites();
  ASSERT_TRUE(sites.ok()) << sites.status().ToString();
  ASSERT_EQ(sites->size(), 2u);
  EXPECT_EQ((*sites)[0].name, "bare");
  EXPECT_EQ((*sites)[1].name, "example.com");
}

TEST_F(DynamoDbStoreTest, CreateSiteRefusesDuplicateAndUpdateKeepsCreatedAt) {
  ASSERT_TRUE(store_->CreateSite(MakeSite("u")).ok());
  SiteRecord other = MakeSite("u");
  other.timezone = "UTC";
  EXPECT_EQ(store_->CreateSite(other).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->GetSite("u")->timezone, "Europe/Berlin");

  SiteRecord changed = MakeSite("u");
  changed.origins = {"https://new.example"};
  changed.require_public_key = false;
  changed.admin_token_hash = std::string(64, 'c');
  changed.timezone = "America/New_York";
  changed.created_at = 5;
  changed.rate_limit_per_minute = 0;
  changed.rate_limit_ignore = false;
  ASSERT_TRUE(store_->UpdateSite(changed).ok());
  changed.created_at = 1700000000;
  ExpectSameSite(*store_->GetSite("u"), changed);
  EXPECT_EQ(store_->UpdateSite(MakeSite("missing")).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetSite("missing").status().code(), StatusCode::kNotFound);
}

TEST_F(DynamoDbStoreTest, DeleteSiteRemovesItsCountersOnly) {
  ASSERT_TRUE(store_->CreateSite(MakeSite("gone")).ok());
  ASSERT_TRUE(store_->CreateSite(MakeSite("kept")).ok());
  Hit(*store_, "gone", "/", kDay1, 3, {"v"});
  Hit(*store_, "gone", "/x", kDay2, 3, {"v"});
  Hit(*store_, "kept", "/", kDay1, 4);
  ASSERT_TRUE(store_->DeleteSite("gone").ok());
  EXPECT_EQ(store_->GetSite("gone").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->ListCounters("gone", "", 10)->empty());
  EXPECT_TRUE(RawItem("c#gone#/x", "d#2024-03-02").is_null());
  EXPECT_EQ(store_->ReadCounter("kept", "/", kDay1)->hits, 4);
  EXPECT_EQ(store_->DeleteSite("gone").code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->CreateSite(MakeSite("gone")).ok());
  EXPECT_EQ(Hit(*store_, "gone", "/", kDay1, 1).hits, 1);
}

// --- Series, salts, export/import ----------------------------------------------

TEST_F(DynamoDbStoreTest, ReadSeriesPerCounterAndSummedOverTheSite) {
  Hit(*store_, "s", "/a", "2024-02-28", 1, {"v"});
  Hit(*store_, "s", "/a", kDay1, 2, {"v", "w"});
  Hit(*store_, "s", "/b", kDay1, 3, {"v"});
  Hit(*store_, "s", "/b", kDay2, 4);
  Hit(*store_, "t", "/a", kDay1, 100);
  Result<std::vector<DayRow>> a = store_->ReadSeries("s", "/a", "2024-02-29", kDay2);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ((*a)[0].day, kDay1);
  EXPECT_EQ((*a)[0].hits, 2);
  EXPECT_EQ((*a)[0].visitors, 2);
  Result<std::vector<DayRow>> all = store_->ReadSeries("s", std::nullopt, "2024-01-01", kDay2);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].day, "2024-02-28");
  EXPECT_EQ((*all)[1].hits, 5);
  EXPECT_EQ((*all)[1].visitors, 3);
  EXPECT_EQ((*all)[2].hits, 4);
  EXPECT_TRUE(store_->ReadSeries("s", "/none", "2024-01-01", kDay2)->empty());
  EXPECT_EQ(store_->ReadSeries("s", "/a", "x", kDay2).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(DynamoDbStoreTest, DailySaltFirstOneWinsUntilForgotten) {
  EXPECT_EQ(*store_->DailySalt(kDay1, "first"), "first");
  EXPECT_EQ(*Open()->DailySalt(kDay1, "second"), "first");
  EXPECT_EQ(*store_->DailySalt(kDay2, "other"), "other");
  ASSERT_TRUE(store_->ForgetVisitorsBefore(kDay2).ok());
  EXPECT_TRUE(RawItem("salt#2024-03-01", "salt").is_null());
  EXPECT_EQ(*store_->DailySalt(kDay2, "again"), "other");  // kDay2 itself is kept
  EXPECT_EQ(*store_->DailySalt(kDay1, "new"), "new");
  EXPECT_EQ(store_->DailySalt("", "x").status().code(), StatusCode::kInvalidArgument);
  // A name that is no date is a secret kept for good: no TTL, not forgotten.
  EXPECT_EQ(*store_->DailySalt("countapi-admin-secret", "kept"), "kept");
  EXPECT_FALSE(RawItem("salt#countapi-admin-secret", "salt").contains("ttl"));
  ASSERT_TRUE(store_->ForgetVisitorsBefore(kDay2).ok());
  EXPECT_EQ(*store_->DailySalt("countapi-admin-secret", "new"), "kept");
}

TEST_F(DynamoDbStoreTest, ExportThenImportRoundTrips) {
  Hit(*store_, "s", "/b", kDay1, 2, {"v"});
  Hit(*store_, "s", "/b", kDay2, 3);
  Hit(*store_, "s", "/a", kDay2, 1, {"w"});
  std::vector<ExportRow> rows;
  ASSERT_TRUE(store_
                  ->ExportSite("s",
                               [&](const ExportRow& row) {
                                 rows.push_back(row);
                                 return true;
                               })
                  .ok());
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[0].key, "/a");
  EXPECT_EQ(rows[0].day, "");
  EXPECT_EQ(rows[1].day, kDay2);
  EXPECT_EQ(rows[2].key, "/b");
  EXPECT_EQ(rows[2].hits, 5);
  EXPECT_EQ(rows[3].day, kDay1);
  EXPECT_EQ(rows[4].day, kDay2);
  int seen = 0;
  ASSERT_TRUE(store_->ExportSite("s", [&](const ExportRow&) { return ++seen < 2; }).ok());
  EXPECT_EQ(seen, 2);

  Hit(*store_, "t", "/b", kDay1, 50);
  ASSERT_TRUE(store_->ImportRows("t", rows).ok());
  Result<CounterTotals> b = store_->ReadCounter("t", "/b", kDay1);
  EXPECT_EQ(b->hits, 5);  // replaced, not added
  EXPECT_EQ(b->today_hits, 2);
  std::vector<ExportRow> copy;
  ASSERT_TRUE(store_
                  ->ExportSite("t",
                               [&](const ExportRow& r) {
                                 copy.push_back(r);
                                 return true;
                               })
                  .ok());
  ASSERT_EQ(copy.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(copy[i].key, rows[i].key);
    EXPECT_EQ(copy[i].day, rows[i].day);
    EXPECT_EQ(copy[i].hits, rows[i].hits);
    EXPECT_EQ(copy[i].visitors, rows[i].visitors);
  }
  std::vector<ExportRow> bad = {{"/x", "nope", 1, 0}};
  EXPECT_EQ(store_->ImportRows("t", bad).code(), StatusCode::kInvalidArgument);
}

// --- Outages -------------------------------------------------------------------

TEST_F(DynamoDbStoreTest, OpenFailsClearlyForAMissingTable) {
  Result<std::unique_ptr<DynamoDbStore>> store =
      DynamoDbStore::Open("no-such-table", dynalite_->Config());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(store.status().message(), ::testing::HasSubstr("create-table"));
}

// dynalite is killed while hits stream in: the hits in flight fail with
// Unavailable, none acknowledged is lost, none counted twice, and the same
// store works again by itself once dynalite is back.
TEST_F(DynamoDbStoreTest, KilledMidLoadLosesNoAcknowledgedHitAndRecovers) {
  DynamoDbClientOptions fast;
  fast.deadline = std::chrono::milliseconds(1500);
  fast.attempt_timeout = std::chrono::milliseconds(500);
  auto store = Open(fast);
  ASSERT_TRUE(store);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> acked{0}, failed{0};
  std::mutex mu;
  std::set<int64_t> numbers;
  bool duplicate = false;
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const std::string key = "/k" + std::to_string(t % 2);
      while (!stop) {
        HitDelta d{"s", key, kDay1, 3, {}};
        CounterTotals totals;
        Status s = store->ApplyHits({&d, 1}, {&totals, 1});
        if (s.ok()) {
          acked += 3;
          std::lock_guard<std::mutex> lock(mu);
          for (int64_t n = totals.hits - 2; n <= totals.hits; ++n) {
            duplicate |= !numbers.insert(n * 2 + (t % 2)).second;
          }
        } else {
          EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
          failed += 3;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  const int64_t before_kill = acked.load();
  dynalite_->Kill();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  const int64_t during_outage = acked.load();
  EXPECT_GT(failed.load(), 0) << "hits did not fail while DynamoDB was down";
  EXPECT_EQ(store->Ping().code(), StatusCode::kUnavailable);
  ASSERT_EQ(dynalite_->Restart(), "");
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  stop = true;
  for (std::thread& t : threads) t.join();
  EXPECT_GT(before_kill, 0);
  EXPECT_GT(acked.load(), during_outage) << "the store did not recover by itself";
  EXPECT_FALSE(duplicate) << "two hits got the same number";
  const int64_t stored =
      store->ReadCounter("s", "/k0", kDay1)->hits + store->ReadCounter("s", "/k1", kDay1)->hits;
  EXPECT_GE(stored, acked.load()) << "acknowledged hits were lost";
  EXPECT_LE(stored, acked.load() + failed.load()) << "hits were counted twice";
}

}  // namespace
}  // namespace tally

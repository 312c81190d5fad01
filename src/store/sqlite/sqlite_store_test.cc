#include "store/sqlite/sqlite_store.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/temp_dir.h"
#include "counting/counting_service.h"
#include "store/sqlite/sqlite_connection.h"
#include "store/sqlite/sqlite_schema.h"

namespace tally {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kDay1 = "2024-03-01";
constexpr std::string_view kDay2 = "2024-03-02";

// Runs SQL on the file through a separate plain connection, the way another
// process or an operator's sqlite3 shell would. Returns sqlite's result code.
int RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open(path.c_str(), &db);
  if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(db);
  return rc;
}

std::string RawQueryText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out = "<error>";
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

// The first `n` of ten distinct visitor hashes.
std::span<const std::string_view> V(int64_t n) {
  static const std::string_view kHashes[] = {"h0", "h1", "h2", "h3", "h4",
                                             "h5", "h6", "h7", "h8", "h9"};
  return {kHashes, static_cast<size_t>(n)};
}

std::vector<std::string> Keys(const std::vector<CounterRow>& rows) {
  std::vector<std::string> keys;
  keys.reserve(rows.size());
  for (const CounterRow& row : rows) keys.push_back(row.key);
  return keys;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  // The WAL header's checkpoint sequence number (bytes 12-15, big-endian):
  // it changes each time the WAL restarts from its beginning.
  uint32_t WalCheckpointSequence() {
    std::ifstream wal(path_ + "-wal", std::ios::binary);
    unsigned char header[16] = {};
    wal.read(reinterpret_cast<char*>(header), sizeof header);
    return static_cast<uint32_t>(header[12]) << 24 | static_cast<uint32_t>(header[13]) << 16 |
           static_cast<uint32_t>(header[14]) << 8 | header[15];
  }

  std::unique_ptr<SqliteStore> OpenStore(Durability durability = Durability::kStrict) {
    Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path_, durability);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  // Fault injection on an existing database: a write of a counter whose key
  // is "/boom" fails inside SQLite ("injected failure").
  void FailWritesOfBoom() {
    ASSERT_EQ(RawExec(path_,
                      "CREATE TRIGGER boom AFTER INSERT ON counts WHEN NEW.key = '/boom' "
                      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"),
              SQLITE_OK);
  }

  // Applies one delta and returns its totals (fails the test on error).
  static CounterTotals Hit(Store& store, std::string_view site, std::string_view key,
                           std::string_view day, int64_t hits, int64_t visitors) {
    HitDelta delta{site, key, day, hits, V(visitors)};
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
    return site;
  }

  TempDir dir_{"tally-store"};
  std::string path_ = dir_.File("tally.db");
};

void ExpectSameSite(const SiteRecord& a, const SiteRecord& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.origins, b.origins);
  EXPECT_EQ(a.require_public_key, b.require_public_key);
  EXPECT_EQ(a.public_key_hash, b.public_key_hash);
  EXPECT_EQ(a.admin_token_hash, b.admin_token_hash);
  EXPECT_EQ(a.timezone, b.timezone);
  EXPECT_EQ(a.created_at, b.created_at);
}

// --- Opening ---------------------------------------------------------------

TEST_F(SqliteStoreTest, OpenCreatesWalDatabaseAtLatestSchema) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_TRUE(std::filesystem::exists(path_));
  EXPECT_EQ(RawQueryText(path_, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(RawQueryText(path_, "PRAGMA user_version"), std::to_string(LatestSchemaVersion()));
  EXPECT_TRUE(store->Ping().ok());
}

TEST_F(SqliteStoreTest, NewDatabasesUseSmallPagesAndCheckpointByBytes) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->WriterPragmaForTesting("page_size"), 1024);
  EXPECT_EQ(*store->WriterPragmaForTesting("wal_autocheckpoint"), 16384);  // 16 MiB
  EXPECT_EQ(RawQueryText(path_, "PRAGMA page_size"), "1024");
}

TEST_F(SqliteStoreTest, AnExistingDatabaseKeepsItsPageSize) {
  // A file created before 1 KiB pages (SQLite's default, 4 KiB).
  ASSERT_EQ(RawExec(path_, "PRAGMA page_size = 4096; CREATE TABLE t (x); DROP TABLE t"), SQLITE_OK);
  {
    auto store = OpenStore();
    ASSERT_TRUE(store);
    EXPECT_EQ(*store->WriterPragmaForTesting("page_size"), 4096);
    EXPECT_EQ(*store->WriterPragmaForTesting("wal_autocheckpoint"), 4096);  // still 16 MiB
    EXPECT_EQ(Hit(*store, "s", "/a", kDay1, 3, 1).hits, 3);
  }
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(Hit(*store, "s", "/a", kDay1, 1, 1).hits, 4);
  EXPECT_EQ(RawQueryText(path_, "PRAGMA page_size"), "4096");
}

TEST_F(SqliteStoreTest, DurabilityModeReachesSqlite) {
  {
    auto strict = OpenStore(Durability::kStrict);
    ASSERT_TRUE(strict);
    EXPECT_EQ(strict->durability(), Durability::kStrict);
    // NORMAL: COMMIT does not fsync; acknowledgement waits for Sync().
    EXPECT_EQ(*strict->WriterPragmaForTesting("synchronous"), 1);
    EXPECT_TRUE(strict->ApplyHitsNeedsSync());
    EXPECT_TRUE(strict->Sync().ok());
  }
  auto relaxed = OpenStore(Durability::kRelaxed);
  ASSERT_TRUE(relaxed);
  EXPECT_EQ(relaxed->durability(), Durability::kRelaxed);
  EXPECT_EQ(*relaxed->WriterPragmaForTesting("synchronous"), 1);  // NORMAL
  EXPECT_FALSE(relaxed->ApplyHitsNeedsSync());
  // As strict: the counting service syncs the WAL in the background, so a
  // checkpoint has little unsynced WAL to fsync first.
  EXPECT_EQ(*relaxed->WriterPragmaForTesting("wal_autocheckpoint"), 16384);  // 16 MiB
}

// Sync() must hold up while checkpoints restart and truncate the WAL under
// it (see SqliteStore::Sync for why that keeps its promise).
// Commits overwrite WAL space reserved ahead of them (wal_preallocator.h)
// instead of growing the file (a sync of a grown file also writes its inode),
// and what they wrote is read back after a reopen.
TEST_F(SqliteStoreTest, CommitsOverwriteTheWalReservedAheadOfThem) {
  auto store = OpenStore(Durability::kStrict);
  ASSERT_TRUE(store);
  Hit(*store, "s", "/", kDay1, 1, 0);
  const std::string wal = path_ + "-wal";
  const uintmax_t reserved = std::filesystem::file_size(wal);
  EXPECT_GE(reserved, uintmax_t{1} << 20) << "no WAL space was reserved";
  for (int i = 0; i < 200; ++i) {
    Hit(*store, "s", "/k" + std::to_string(i % 20), kDay1, 1, 0);
    ASSERT_TRUE(store->Sync().ok());
  }
  EXPECT_EQ(std::filesystem::file_size(wal), reserved) << "commits grew the WAL";
  store.reset();
  store = OpenStore(Durability::kStrict);
  ASSERT_TRUE(store);
  Result<CounterTotals> one = store->ReadCounter("s", "/k7", kDay1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->hits, 10);
}

TEST_F(SqliteStoreTest, StrictSyncWorksAcrossCheckpointsAndWalTruncation) {
  auto store = OpenStore(Durability::kStrict);
  ASSERT_TRUE(store);
  Hit(*store, "s", "/", kDay1, 1, 1);
  EXPECT_TRUE(store->Sync().ok());
  // Another connection checkpoints everything and truncates the WAL to 0.
  ASSERT_EQ(RawExec(path_, "PRAGMA wal_checkpoint(TRUNCATE)"), SQLITE_OK);
  EXPECT_EQ(std::filesystem::file_size(path_ + "-wal"), 0u);
  EXPECT_TRUE(store->Sync().ok());
  // Batches until an autocheckpoint has restarted the WAL from its start
  // (its header's checkpoint sequence number moves), syncing after each.
  // Long keys, so that a batch dirties many pages.
  std::vector<std::string> keys;
  keys.reserve(400);
  for (int i = 0; i < 400; ++i) keys.push_back("/k" + std::to_string(i) + std::string(200, 'x'));
  Hit(*store, "s", "/", kDay1, 1, 0);  // the truncated WAL gets its header again
  const uint32_t first_sequence = WalCheckpointSequence();
  int rounds = 0;
  while (WalCheckpointSequence() == first_sequence) {
    ASSERT_LT(rounds, 1000) << "the WAL never restarted";
    std::vector<HitDelta> deltas;
    deltas.reserve(keys.size());
    for (const std::string& key : keys) deltas.push_back({"s", key, kDay1, 1, V(0)});
    std::vector<CounterTotals> totals(deltas.size());
    ASSERT_TRUE(store->ApplyHits(deltas, totals).ok());
    Status s = store->Sync();
    ASSERT_TRUE(s.ok()) << s.ToString();
    ++rounds;
  }
  // And the WAL is being overwritten now: more batches, synced.
  for (int round = 0; round < 5; ++round, ++rounds) {
    std::vector<HitDelta> deltas;
    deltas.reserve(keys.size());
    for (const std::string& key : keys) deltas.push_back({"s", key, kDay1, 1, V(0)});
    std::vector<CounterTotals> totals(deltas.size());
    ASSERT_TRUE(store->ApplyHits(deltas, totals).ok());
    ASSERT_TRUE(store->Sync().ok());
  }
  store.reset();
  store = OpenStore(Durability::kStrict);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->ReadCounter("s", keys.back(), kDay1)->hits, rounds);
  EXPECT_EQ(store->ReadCounter("s", "/", kDay1)->hits, 2);
}

TEST_F(SqliteStoreTest, RelaxedModeSyncsAndKeepsDataAcrossReopen) {
  {
    auto store = OpenStore(Durability::kRelaxed);
    ASSERT_TRUE(store);
    Hit(*store, "s", "/", kDay1, 3, 1);
    EXPECT_TRUE(std::filesystem::exists(path_ + "-wal"));
    Status s = store->Sync();
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  auto store = OpenStore(Durability::kRelaxed);
  ASSERT_TRUE(store);
  Result<CounterTotals> t = store->ReadCounter("s", "/", kDay1);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->hits, 3);
}

TEST_F(SqliteStoreTest, OpenRejectsBadPaths) {
  EXPECT_EQ(SqliteStore::Open("", Durability::kStrict).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SqliteStore::Open(":memory:", Durability::kStrict).status().code(),
            StatusCode::kInvalidArgument);
  Result<std::unique_ptr<SqliteStore>> missing_dir =
      SqliteStore::Open((dir_.path() / "no" / "such" / "dir.db").string(), Durability::kStrict);
  EXPECT_EQ(missing_dir.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(missing_dir.status().message(), HasSubstr("dir.db"));
}

TEST_F(SqliteStoreTest, OpenRejectsAFileThatIsNotADatabase) {
  std::ofstream(path_) << "this is not an sqlite file, just some text that is long enough\n";
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path_, Durability::kStrict);
  EXPECT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("not a database"));
}

TEST_F(SqliteStoreTest, OpenRefusesADatabaseFromTheFuture) {
  ASSERT_EQ(RawExec(path_, "PRAGMA user_version = 1000; CREATE TABLE future (x)"), SQLITE_OK);
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path_, Durability::kStrict);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(store.status().message(), HasSubstr("1000"));
  EXPECT_THAT(store.status().message(), HasSubstr("newer"));
  // Refused before anything changed: still version 1000, not switched to WAL.
  EXPECT_EQ(RawQueryText(path_, "PRAGMA user_version"), "1000");
  EXPECT_EQ(RawQueryText(path_, "PRAGMA journal_mode"), "delete");
}

// A file a version-2 Tally wrote (totals and days in two tables) opens with
// its numbers intact, and counting goes on from them.
TEST_F(SqliteStoreTest, OpenUpgradesAVersion2File) {
  {
    auto conn = SqliteConnection::Open(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(MigrateSchema(**conn, SchemaMigrations().first(2)).ok());
    ASSERT_TRUE((*conn)
                    ->ExecScript(std::string("INSERT INTO counters VALUES ('s', '/', 7, 2), "
                                             "('s', '/b', 1, 1); INSERT INTO days VALUES ") +
                                 "('s', '/', '" + std::string(kDay1) + "', 4, 1), ('s', '/', '" +
                                 std::string(kDay2) + "', 3, 1), ('s', '/b', '" +
                                 std::string(kDay2) + "', 1, 1)")
                    .ok());
  }
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(RawQueryText(path_, "PRAGMA user_version"), std::to_string(LatestSchemaVersion()));
  Result<CounterTotals> root = store->ReadCounter("s", "/", kDay2);
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  EXPECT_EQ(root->hits, 7);
  EXPECT_EQ(root->visitors, 2);
  EXPECT_EQ(root->today_hits, 3);
  Result<std::vector<CounterRow>> list = store->ListCounters("s", "", 10);
  ASSERT_TRUE(list.ok());
  EXPECT_THAT(Keys(*list), ElementsAre("/", "/b"));
  Result<std::vector<DayRow>> series = store->ReadSeries("s", "/", kDay1, kDay2);
  ASSERT_TRUE(series.ok());
  ASSERT_EQ(series->size(), 2u);
  EXPECT_EQ((*series)[0].hits, 4);
  EXPECT_EQ((*series)[1].hits, 3);
  CounterTotals after = Hit(*store, "s", "/", kDay2, 1, 0);
  EXPECT_EQ(after.hits, 8);
  EXPECT_EQ(after.today_hits, 4);
}

// --- ApplyHits -------------------------------------------------------------

TEST_F(SqliteStoreTest, ApplyHitsReturnsTotalsAcrossBatchesCountersAndDays) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  std::vector<HitDelta> batch1 = {{"s", "/a", kDay1, 3, V(2)}, {"s", "/b", kDay1, 1, V(1)}};
  std::vector<CounterTotals> totals(2);
  ASSERT_TRUE(store->ApplyHits(batch1, totals).ok());
  EXPECT_EQ(totals[0].hits, 3);
  EXPECT_EQ(totals[0].visitors, 2);
  EXPECT_EQ(totals[0].today_hits, 3);
  EXPECT_EQ(totals[0].today_visitors, 2);
  EXPECT_EQ(totals[1].hits, 1);
  EXPECT_EQ(totals[1].today_visitors, 1);

  std::vector<HitDelta> batch2 = {{"s", "/b", kDay1, 4, V(0)}, {"s", "/a", kDay2, 5, V(1)}};
  ASSERT_TRUE(store->ApplyHits(batch2, totals).ok());
  EXPECT_EQ(totals[0].hits, 5);  // /b: 1 + 4
  EXPECT_EQ(totals[0].visitors, 1);
  EXPECT_EQ(totals[0].today_hits, 5);
  EXPECT_EQ(totals[1].hits, 8);  // /a: 3 + 5 over two days
  EXPECT_EQ(totals[1].visitors, 3);
  EXPECT_EQ(totals[1].today_hits, 5);  // only day 2's hits
  EXPECT_EQ(totals[1].today_visitors, 1);

  Result<CounterTotals> a1 = store->ReadCounter("s", "/a", kDay1);
  ASSERT_TRUE(a1.ok());
  EXPECT_EQ(a1->hits, 8);
  EXPECT_EQ(a1->today_hits, 3);
  EXPECT_EQ(a1->today_visitors, 2);
  Result<CounterTotals> a_other = store->ReadCounter("s", "/a", "2024-12-31");
  ASSERT_TRUE(a_other.ok());
  EXPECT_EQ(a_other->hits, 8);
  EXPECT_EQ(a_other->today_hits, 0);
  EXPECT_EQ(a_other->today_visitors, 0);
}

TEST_F(SqliteStoreTest, ApplyHitsKeepsSitesApart) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Hit(*store, "one", "/", kDay1, 2, 0);
  EXPECT_EQ(Hit(*store, "two", "/", kDay1, 7, 0).hits, 7);
  EXPECT_EQ(store->ReadCounter("one", "/", kDay1)->hits, 2);
}

TEST_F(SqliteStoreTest, ApplyHitsValidatesItsArguments) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->ApplyHits({}, {}).ok());
  HitDelta delta{"s", "/", kDay1, 1, V(0)};
  std::vector<CounterTotals> two(2);
  EXPECT_EQ(store->ApplyHits({&delta, 1}, two).code(), StatusCode::kInvalidArgument);
  HitDelta negative{"s", "/", kDay1, -1, V(0)};
  CounterTotals totals;
  EXPECT_EQ(store->ApplyHits({&negative, 1}, {&totals, 1}).code(), StatusCode::kInvalidArgument);
  // The totals' row is stored as day 'total'; a delta may not name it.
  HitDelta total_day{"s", "/", "total", 1, V(0)};
  EXPECT_EQ(store->ApplyHits({&total_day, 1}, {&totals, 1}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->ReadCounter("s", "/", kDay1).status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, FailedApplyHitsAppliesNothing) {
  {
    auto store = OpenStore();
    ASSERT_TRUE(store);
    Hit(*store, "s", "/ok", kDay1, 10, 0);
  }
  // Fault injection: make the second delta of a batch fail inside SQLite.
  ASSERT_NO_FATAL_FAILURE(FailWritesOfBoom());
  auto store = OpenStore();
  ASSERT_TRUE(store);
  std::vector<HitDelta> batch = {{"s", "/ok", kDay1, 5, V(1)}, {"s", "/boom", kDay1, 1, V(0)}};
  std::vector<CounterTotals> totals(2);
  Status s = store->ApplyHits(batch, totals);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("injected failure"));

  Result<CounterTotals> ok = store->ReadCounter("s", "/ok", kDay1);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->hits, 10);  // the first delta was rolled back with the second
  EXPECT_EQ(ok->today_hits, 10);
  EXPECT_EQ(ok->visitors, 0);
  // The writer is usable afterwards, and the rolled-back visitor marker was
  // not remembered as written: the visitor still counts.
  CounterTotals after = Hit(*store, "s", "/ok", kDay1, 1, 1);
  EXPECT_EQ(after.hits, 11);
  EXPECT_EQ(after.visitors, 1);
}

// The writer remembers committed visitor markers to skip re-inserting them;
// markers deleted behind its back must be counted again, not skipped.
TEST_F(SqliteStoreTest, AVisitorWhoseMarkerAnotherProcessDeletedCountsAgain) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_EQ(Hit(*store, "s", "/a", kDay1, 1, 1).visitors, 1);
  EXPECT_EQ(Hit(*store, "s", "/a", kDay1, 1, 1).visitors, 1) << "same visitor, same day";
  ASSERT_EQ(RawExec(path_, "DELETE FROM visitor_marks"), SQLITE_OK);
  CounterTotals totals = Hit(*store, "s", "/a", kDay1, 1, 1);
  EXPECT_EQ(totals.visitors, 2);
  EXPECT_EQ(totals.today_visitors, 2);
  EXPECT_EQ(Hit(*store, "s", "/a", kDay1, 1, 1).visitors, 2);
}

TEST_F(SqliteStoreTest, AVisitorOfADeletedSiteCountsAnew) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->CreateSite(MakeSite("s")).ok());
  EXPECT_EQ(Hit(*store, "s", "/a", kDay1, 1, 1).visitors, 1);
  ASSERT_TRUE(store->DeleteSite("s").ok());
  ASSERT_TRUE(store->CreateSite(MakeSite("s")).ok());
  CounterTotals totals = Hit(*store, "s", "/a", kDay1, 1, 1);
  EXPECT_EQ(totals.hits, 1);
  EXPECT_EQ(totals.visitors, 1);
}

// --- ReadCounter, SetCounter, DeleteCounter, ListCounters -----------------

TEST_F(SqliteStoreTest, ReadCounterNotFound) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Hit(*store, "s", "/", kDay1, 1, 0);
  EXPECT_EQ(store->ReadCounter("s", "/other", kDay1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->ReadCounter("other", "/", kDay1).status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, SetCounterCreatesOrOverwritesHitsOnly) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->SetCounter("s", "/new", 42).ok());
  Result<CounterTotals> created = store->ReadCounter("s", "/new", kDay1);
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->hits, 42);
  EXPECT_EQ(created->visitors, 0);

  Hit(*store, "s", "/", kDay1, 5, 3);
  ASSERT_TRUE(store->SetCounter("s", "/", 1000).ok());
  Result<CounterTotals> set = store->ReadCounter("s", "/", kDay1);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->hits, 1000);
  EXPECT_EQ(set->visitors, 3);    // left alone
  EXPECT_EQ(set->today_hits, 5);  // day rows left alone
  EXPECT_EQ(Hit(*store, "s", "/", kDay1, 1, 0).hits, 1001);
  EXPECT_EQ(store->SetCounter("s", "/", -1).code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, DeleteCounterRemovesItAndItsDays) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Hit(*store, "s", "/gone", kDay1, 5, 1);
  Hit(*store, "s", "/gone", kDay2, 5, 1);
  Hit(*store, "s", "/kept", kDay1, 2, 0);
  ASSERT_TRUE(store->DeleteCounter("s", "/gone").ok());
  EXPECT_EQ(store->ReadCounter("s", "/gone", kDay1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->DeleteCounter("s", "/gone").code(), StatusCode::kNotFound);
  EXPECT_EQ(store->DeleteCounter("s", "/never").code(), StatusCode::kNotFound);
  EXPECT_EQ(store->ReadCounter("s", "/kept", kDay1)->hits, 2);
  // Counting again starts from zero, including the old day rows.
  CounterTotals again = Hit(*store, "s", "/gone", kDay2, 1, 0);
  EXPECT_EQ(again.hits, 1);
  EXPECT_EQ(again.today_hits, 1);
}

// --- PeekCounter -----------------------------------------------------------

// PeekCounter's promise: when it answers, it answers what ReadCounter does
// (nothing else writes here between the two calls).
void ExpectPeekIsCurrentOrAbsent(SqliteStore& store, std::string_view site, std::string_view key,
                                 std::string_view day) {
  std::optional<CounterTotals> peeked = store.PeekCounter(site, key, day);
  if (!peeked) return;
  Result<CounterTotals> read = store.ReadCounter(site, key, day);
  ASSERT_TRUE(read.ok()) << key << ": peeked a counter that does not exist";
  EXPECT_EQ(peeked->hits, read->hits) << key;
  EXPECT_EQ(peeked->visitors, read->visitors) << key;
  EXPECT_EQ(peeked->today_hits, read->today_hits) << key;
  EXPECT_EQ(peeked->today_visitors, read->today_visitors) << key;
}

TEST_F(SqliteStoreTest, PeekCounterAnswersWhatTheLastCommitLeft) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->PeekCounter("s", "/a", kDay1));
  Hit(*store, "s", "/a", kDay1, 3, 2);
  std::optional<CounterTotals> peeked = store->PeekCounter("s", "/a", kDay1);
  ASSERT_TRUE(peeked);
  EXPECT_EQ(peeked->hits, 3);
  EXPECT_EQ(peeked->visitors, 2);
  EXPECT_EQ(peeked->today_hits, 3);
  EXPECT_EQ(peeked->today_visitors, 2);
  EXPECT_FALSE(store->PeekCounter("s", "/a", kDay2)) << "today_* of another day: read them";
  EXPECT_FALSE(store->PeekCounter("s", "/b", kDay1));
  EXPECT_FALSE(store->PeekCounter("t", "/a", kDay1));
  Hit(*store, "s", "/a", kDay1, 1, 0);
  EXPECT_EQ(store->PeekCounter("s", "/a", kDay1)->hits, 4);
  Hit(*store, "s", "/a", kDay2, 1, 0);
  EXPECT_FALSE(store->PeekCounter("s", "/a", kDay1));
  EXPECT_EQ(store->PeekCounter("s", "/a", kDay2)->today_hits, 1);
  ExpectPeekIsCurrentOrAbsent(*store, "s", "/a", kDay2);
}

TEST_F(SqliteStoreTest, PeekCounterNeverAnswersNumbersAWriteReplaced) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->CreateSite(MakeSite("s")).ok());
  EXPECT_FALSE(store->PeekCounter("s", "/a", kDay1));  // someone reads: commits are kept
  auto hit_all = [&] {
    std::vector<HitDelta> batch = {{"s", "/a", kDay1, 5, V(1)}, {"s", "/b", kDay1, 5, V(1)}};
    std::vector<CounterTotals> totals(2);
    ASSERT_TRUE(store->ApplyHits(batch, totals).ok());
    ASSERT_TRUE(store->PeekCounter("s", "/a", kDay1));
  };
  auto expect_current = [&](const char* after) {
    SCOPED_TRACE(after);
    ExpectPeekIsCurrentOrAbsent(*store, "s", "/a", kDay1);
    ExpectPeekIsCurrentOrAbsent(*store, "s", "/b", kDay1);
  };
  hit_all();
  ASSERT_TRUE(store->SetCounter("s", "/a", 1000).ok());
  expect_current("SetCounter");
  hit_all();
  ASSERT_TRUE(store->DeleteCounter("s", "/a").ok());
  expect_current("DeleteCounter");
  hit_all();
  std::vector<ExportRow> rows = {{"/a", "", 77, 7}, {"/a", std::string(kDay1), 7, 1}};
  ASSERT_TRUE(store->ImportRows("s", rows).ok());
  expect_current("ImportRows");
  hit_all();
  ASSERT_TRUE(store->DeleteSite("s").ok());
  EXPECT_FALSE(store->PeekCounter("s", "/a", kDay1)) << "DeleteSite";
  EXPECT_FALSE(store->PeekCounter("s", "/b", kDay1)) << "DeleteSite";
}

TEST_F(SqliteStoreTest, PeekCounterKeepsTheNumbersOfAFailedBatchOut) {
  ASSERT_TRUE(OpenStore());  // creates the schema
  ASSERT_NO_FATAL_FAILURE(FailWritesOfBoom());
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->PeekCounter("s", "/ok", kDay1));
  Hit(*store, "s", "/ok", kDay1, 10, 0);
  std::vector<HitDelta> batch = {{"s", "/ok", kDay1, 5, V(0)}, {"s", "/boom", kDay1, 1, V(0)}};
  std::vector<CounterTotals> totals(2);
  ASSERT_EQ(store->ApplyHits(batch, totals).code(), StatusCode::kUnavailable);
  // A failed batch forgets what is held (a COMMIT reported failed may still
  // have been written); it never shows the rolled-back +5.
  std::optional<CounterTotals> peeked = store->PeekCounter("s", "/ok", kDay1);
  if (peeked) {
    EXPECT_EQ(peeked->hits, 10) << "the rolled-back +5 was never committed";
  }
  EXPECT_FALSE(store->PeekCounter("s", "/boom", kDay1));
  ExpectPeekIsCurrentOrAbsent(*store, "s", "/ok", kDay1);
  EXPECT_EQ(store->ReadCounter("s", "/ok", kDay1)->hits, 10);
}

// Hits alone keep nothing in memory; once someone reads, a read from SQLite
// is put back for the next, and commits are kept.
TEST_F(SqliteStoreTest, PeekCounterHoldsCountersOnceSomeoneReads) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Hit(*store, "s", "/a", kDay1, 3, 1);
  EXPECT_FALSE(store->PeekCounter("s", "/a", kDay1)) << "nobody read before that commit";
  Result<CounterTotals> read = store->ReadCounter("s", "/a", kDay1);
  ASSERT_TRUE(read.ok());
  std::optional<CounterTotals> peeked = store->PeekCounter("s", "/a", kDay1);
  ASSERT_TRUE(peeked) << "the read was put back";
  EXPECT_EQ(peeked->hits, 3);
  EXPECT_EQ(peeked->today_visitors, 1);
  EXPECT_FALSE(store->PeekCounter("s", "/a", kDay2));
  Hit(*store, "s", "/b", kDay1, 2, 0);
  EXPECT_EQ(store->PeekCounter("s", "/b", kDay1)->hits, 2) << "a commit while someone reads";
  EXPECT_EQ(store->PeekCounter("s", "/a", kDay1)->hits, 3);
  ExpectPeekIsCurrentOrAbsent(*store, "s", "/a", kDay1);
}

// Reads that put back what they read race with an admin's writes: after
// SetCounter(n) returns, no read begun before it may leave n-1 held.
TEST_F(SqliteStoreTest, PeekCounterNeverKeepsAReadOlderThanASetCounter) {
  auto store = OpenStore(Durability::kRelaxed);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->SetCounter("s", "/a", 0).ok());
  EXPECT_FALSE(store->PeekCounter("s", "/a", kDay1));
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  readers.reserve(2);
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) (void)store->ReadCounter("s", "/a", kDay1);
    });
  }
  int stale = 0;
  for (int64_t n = 1; n <= 1000; ++n) {
    ASSERT_TRUE(store->SetCounter("s", "/a", n).ok());
    std::optional<CounterTotals> peeked = store->PeekCounter("s", "/a", kDay1);
    if (peeked && peeked->hits != n) ++stale;
  }
  done = true;
  for (auto& r : readers) r.join();
  EXPECT_EQ(stale, 0) << "peeks that answered a number SetCounter had replaced";
}

// Another process's change is seen at the writer's next commit, or at the
// latest kPeekFreshFor after its last one.
TEST_F(SqliteStoreTest, PeekCounterSeesAnotherProcesssChange) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->PeekCounter("s", "/a", kDay1));
  Hit(*store, "s", "/a", kDay1, 1, 0);
  ASSERT_EQ(RawExec(path_, "UPDATE counts SET hits = 50 WHERE key = '/a' AND day = 'total'"),
            SQLITE_OK);
  Hit(*store, "s", "/b", kDay1, 1, 0);
  ExpectPeekIsCurrentOrAbsent(*store, "s", "/a", kDay1);
  EXPECT_TRUE(store->PeekCounter("s", "/b", kDay1));

  Hit(*store, "s", "/c", kDay1, 1, 0);
  ASSERT_EQ(RawExec(path_, "UPDATE counts SET hits = 70 WHERE key = '/c' AND day = 'total'"),
            SQLITE_OK);
  std::this_thread::sleep_for(SqliteStore::kPeekFreshFor + std::chrono::milliseconds(100));
  EXPECT_FALSE(store->PeekCounter("s", "/b", kDay1)) << "no commit of ours for too long";
  EXPECT_FALSE(store->PeekCounter("s", "/c", kDay1));
  // A read of another counter finds the other process's commit: what was
  // held is forgotten, not renewed.
  EXPECT_EQ(store->ReadCounter("s", "/never", kDay1).status().code(), StatusCode::kNotFound);
  ExpectPeekIsCurrentOrAbsent(*store, "s", "/c", kDay1);
  EXPECT_EQ(store->ReadCounter("s", "/c", kDay1)->hits, 70);
}

// Reads keep PeekCounter answering while no hits are written, as long as no
// other connection writes.
TEST_F(SqliteStoreTest, ReadCounterRenewsPeeksWhileNothingElseWrites) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_FALSE(store->PeekCounter("s", "/a", kDay1));
  Hit(*store, "s", "/a", kDay1, 7, 0);
  std::this_thread::sleep_for(SqliteStore::kPeekFreshFor + std::chrono::milliseconds(100));
  EXPECT_FALSE(store->PeekCounter("s", "/a", kDay1));
  EXPECT_EQ(store->ReadCounter("s", "/never", kDay1).status().code(), StatusCode::kNotFound);
  std::optional<CounterTotals> renewed = store->PeekCounter("s", "/a", kDay1);
  ASSERT_TRUE(renewed) << "nothing else wrote: still current";
  EXPECT_EQ(renewed->hits, 7);
}

TEST_F(SqliteStoreTest, ListCountersPagesInByteOrder) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  // Byte order: '/' < 'Z' < 'a' < 'b' < 0xC3 (first byte of "é").
  for (std::string_view key : {"/b", "/\xC3\xA9t\xC3\xA9", "/", "/a", "/Zebra"}) {
    Hit(*store, "s", key, kDay1, 1, 0);
  }
  Hit(*store, "other", "/a", kDay1, 1, 0);
  Hit(*store, "s", "/a", kDay1, 2, 1);
  // Day rows live next to the totals (one table): they are not counters,
  // nor are imported days of a key that has no total.
  Hit(*store, "s", "/b", kDay2, 1, 0);
  ExportRow orphan_day{"/b2", std::string(kDay1), 5, 0};
  ASSERT_TRUE(store->ImportRows("s", {&orphan_day, 1}).ok());

  Result<std::vector<CounterRow>> page1 = store->ListCounters("s", "", 2);
  ASSERT_TRUE(page1.ok());
  EXPECT_THAT(Keys(*page1), ElementsAre("/", "/Zebra"));
  Result<std::vector<CounterRow>> page2 = store->ListCounters("s", page1->back().key, 2);
  ASSERT_TRUE(page2.ok());
  EXPECT_THAT(Keys(*page2), ElementsAre("/a", "/b"));
  EXPECT_EQ((*page2)[0].hits, 3);
  EXPECT_EQ((*page2)[0].visitors, 1);
  Result<std::vector<CounterRow>> page3 = store->ListCounters("s", page2->back().key, 2);
  ASSERT_TRUE(page3.ok());
  EXPECT_THAT(Keys(*page3), ElementsAre("/\xC3\xA9t\xC3\xA9"));
  EXPECT_TRUE(store->ListCounters("s", page3->back().key, 2)->empty());

  EXPECT_TRUE(store->ListCounters("s", "", 0)->empty());
  EXPECT_EQ(store->ListCounters("s", "", -1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store->ListCounters("nobody", "", 10)->empty());
}

// --- Sites -----------------------------------------------------------------

TEST_F(SqliteStoreTest, CreateAndGetSiteRoundTrips) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  SiteRecord site = MakeSite("example.com");
  site.origins.push_back(
      "https://\xC3\xBC"
      "ber.example/\"quoted\"");
  ASSERT_TRUE(store->CreateSite(site).ok());
  Result<SiteRecord> got = store->GetSite("example.com");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ExpectSameSite(*got, site);
  EXPECT_EQ(store->GetSite("example.org").status().code(), StatusCode::kNotFound);

  SiteRecord empty_origins = MakeSite("bare");
  empty_origins.origins.clear();
  ASSERT_TRUE(store->CreateSite(empty_origins).ok());
  EXPECT_TRUE(store->GetSite("bare")->origins.empty());
}

TEST_F(SqliteStoreTest, CreateSiteRefusesDuplicateAndKeepsOriginal) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  SiteRecord site = MakeSite("dup");
  ASSERT_TRUE(store->CreateSite(site).ok());
  SiteRecord other = MakeSite("dup");
  other.timezone = "UTC";
  Status s = store->CreateSite(other);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store->GetSite("dup")->timezone, "Europe/Berlin");
}

TEST_F(SqliteStoreTest, CreateSiteRefusesInvalidUtf8Origin) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  SiteRecord site = MakeSite("bad");
  site.origins = {"https://\xFF.example"};
  EXPECT_EQ(store->CreateSite(site).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->GetSite("bad").status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, UpdateSiteChangesSettingsButNotCreatedAt) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->CreateSite(MakeSite("u")).ok());
  SiteRecord changed = MakeSite("u");
  changed.origins = {"https://new.example"};
  changed.require_public_key = false;
  changed.admin_token_hash = std::string(64, 'c');
  changed.timezone = "America/New_York";
  changed.created_at = 5;
  ASSERT_TRUE(store->UpdateSite(changed).ok());
  Result<SiteRecord> got = store->GetSite("u");
  ASSERT_TRUE(got.ok());
  changed.created_at = 1700000000;
  ExpectSameSite(*got, changed);
  EXPECT_EQ(store->UpdateSite(MakeSite("missing")).code(), StatusCode::kNotFound);
  EXPECT_EQ(store->GetSite("missing").status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, ListSitesIsOrderedByName) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->ListSites()->empty());
  for (const char* name : {"zeta.io", "alpha.dev", "m.example"}) {
    ASSERT_TRUE(store->CreateSite(MakeSite(name)).ok());
  }
  Result<std::vector<SiteRecord>> sites = store->ListSites();
  ASSERT_TRUE(sites.ok());
  ASSERT_EQ(sites->size(), 3u);
  EXPECT_EQ((*sites)[0].name, "alpha.dev");
  EXPECT_EQ((*sites)[1].name, "m.example");
  EXPECT_EQ((*sites)[2].name, "zeta.io");
  ExpectSameSite((*sites)[1], MakeSite("m.example"));
}

TEST_F(SqliteStoreTest, DeleteSiteRemovesItsCountersAndDaysOnly) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->CreateSite(MakeSite("gone")).ok());
  ASSERT_TRUE(store->CreateSite(MakeSite("kept")).ok());
  Hit(*store, "gone", "/", kDay1, 3, 1);
  Hit(*store, "gone", "/x", kDay2, 3, 1);
  Hit(*store, "kept", "/", kDay1, 4, 1);

  ASSERT_TRUE(store->DeleteSite("gone").ok());
  EXPECT_EQ(store->GetSite("gone").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store->ListCounters("gone", "", 10)->empty());
  EXPECT_EQ(store->ReadCounter("gone", "/", kDay1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(RawQueryText(path_, "SELECT count(*) FROM counts WHERE site = 'gone'"), "0");
  EXPECT_EQ(store->ReadCounter("kept", "/", kDay1)->hits, 4);
  EXPECT_TRUE(store->GetSite("kept").ok());

  EXPECT_EQ(store->DeleteSite("gone").code(), StatusCode::kNotFound);
  // The name is free again, and starts with no counters.
  ASSERT_TRUE(store->CreateSite(MakeSite("gone")).ok());
  EXPECT_EQ(Hit(*store, "gone", "/", kDay1, 1, 0).hits, 1);
}

TEST_F(SqliteStoreTest, DeleteUnknownSiteLeavesCountersFiledUnderItsName) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Hit(*store, "nosite", "/", kDay1, 2, 0);
  EXPECT_EQ(store->DeleteSite("nosite").code(), StatusCode::kNotFound);
  EXPECT_EQ(store->ReadCounter("nosite", "/", kDay1)->hits, 2);
}

// --- Persistence and concurrency -------------------------------------------

TEST_F(SqliteStoreTest, DataSurvivesCloseAndReopen) {
  {
    auto store = OpenStore();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->CreateSite(MakeSite("persist")).ok());
    Hit(*store, "persist", "/", kDay1, 6, 2);
    Hit(*store, "persist", "/", kDay2, 1, 1);
  }
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Result<CounterTotals> t = store->ReadCounter("persist", "/", kDay1);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->hits, 7);
  EXPECT_EQ(t->visitors, 3);
  EXPECT_EQ(t->today_hits, 6);
  ExpectSameSite(*store->GetSite("persist"), MakeSite("persist"));
  EXPECT_EQ(Hit(*store, "persist", "/", kDay2, 1, 0).today_hits, 2);
}

TEST_F(SqliteStoreTest, ReadsAreNotBlockedByAnotherWritersLock) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  Hit(*store, "s", "/", kDay1, 1, 0);
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE; UPDATE counts SET hits = 999", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  auto start = std::chrono::steady_clock::now();
  Result<CounterTotals> t = store->ReadCounter("s", "/", kDay1);
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->hits, 1);  // the committed value, not the pending one
  EXPECT_LT(waited, std::chrono::seconds(1));
  EXPECT_TRUE(store->Ping().ok());
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
}

TEST_F(SqliteStoreTest, ConcurrentReadersSeeMonotonicTotalsWhileWriterCommits) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  constexpr int kBatches = 300;
  std::atomic<bool> done{false};
  std::atomic<int> reader_errors{0};
  std::atomic<int> reads{0};

  std::thread writer([&] {
    for (int i = 0; i < kBatches; ++i) {
      std::vector<HitDelta> batch = {{"s", "/a", kDay1, 1, V(0)}, {"s", "/b", kDay1, 2, V(0)}};
      std::vector<CounterTotals> totals(2);
      if (!store->ApplyHits(batch, totals).ok() || totals[0].hits != i + 1) ++reader_errors;
    }
    done = true;
  });
  std::vector<std::thread> readers;
  readers.reserve(4);
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      int64_t last = 0;
      while (!done) {
        Result<CounterTotals> t = store->ReadCounter("s", "/a", kDay1);
        if (t.status().code() == StatusCode::kNotFound) continue;  // before the first commit
        if (!t.ok() || t->hits < last || t->hits > kBatches) {
          ++reader_errors;
          continue;
        }
        last = t->hits;
        Result<std::vector<CounterRow>> rows = store->ListCounters("s", "", 10);
        if (!rows.ok() || rows->empty()) ++reader_errors;
        ++reads;
      }
    });
  }
  writer.join();
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(reader_errors.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(store->ReadCounter("s", "/a", kDay1)->hits, kBatches);
  EXPECT_EQ(store->ReadCounter("s", "/b", kDay1)->hits, 2 * kBatches);
}

TEST_F(SqliteStoreTest, ConcurrentWritersEachGetADistinctTotal) {
  auto store = OpenStore(Durability::kRelaxed);
  ASSERT_TRUE(store);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  std::vector<std::vector<int64_t>> seen(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        HitDelta delta{"s", "/hot", kDay1, 1, V(0)};
        CounterTotals totals;
        if (store->ApplyHits({&delta, 1}, {&totals, 1}).ok()) seen[t].push_back(totals.hits);
        if (i % 25 == 0) (void)store->Sync();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<int64_t> all;
  for (const auto& v : seen) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], static_cast<int64_t>(i) + 1);
}

// Forks a child that runs `count`, which writes every acknowledged total (an
// int64_t) to the pipe descriptor it is given and never returns. Reads `acks`
// of them, each above the one before and above `last_acked`, kills the child
// with SIGKILL at that arbitrary moment, reads what it wrote before dying
// (pipe writes of 8 bytes are atomic), and leaves the last total in
// `last_acked`.
void CountThenKill(const std::function<void(int fd)>& count, int acks, int64_t& last_acked) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    count(fds[1]);
    _exit(6);
  }
  close(fds[1]);
  int64_t value = 0;
  int read_acks = 0;
  while (read_acks < acks && read(fds[0], &value, sizeof value) == sizeof value) {
    ASSERT_GT(value, last_acked) << "answers out of order";
    last_acked = value;
    ++read_acks;
  }
  ASSERT_EQ(kill(child, SIGKILL), 0);
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited early with " << WEXITSTATUS(wstatus);
  ASSERT_EQ(read_acks, acks);
  while (read(fds[0], &value, sizeof value) == sizeof value) last_acked = value;
  close(fds[0]);
}

// A child process counts in strict mode, and is killed at an arbitrary
// moment. No acknowledged hit may be lost, and no batch may be half applied.
// (SIGKILL tests the process-crash half of the promise: acknowledgement
// only after COMMIT and its Sync. Power loss would need a fault-injecting
// file system: the fsync half is argued in SqliteStore::Sync.)
TEST_F(SqliteStoreTest, KillNineLosesNoAcknowledgedHit) {
  int64_t last_acked = 0;
  for (int round = 0; round < 3; ++round) {
    // A varying number of commits before the kill.
    ASSERT_NO_FATAL_FAILURE(CountThenKill(
        [&](int fd) {
          auto store = SqliteStore::Open(path_, Durability::kStrict);
          if (!store.ok()) _exit(2);
          HitDelta batch[2] = {{"s", "/a", kDay1, 1, V(0)}, {"s", "/b", kDay1, 1, V(1)}};
          CounterTotals totals[2];
          for (;;) {
            if (!(*store)->ApplyHits(batch, totals).ok()) _exit(3);
            // Strict acknowledges after a Sync (ApplyHitsNeedsSync).
            if (!(*store)->Sync().ok()) _exit(5);
            if (write(fd, &totals[0].hits, sizeof(int64_t)) != sizeof(int64_t)) _exit(4);
          }
        },
        40 + 37 * round, last_acked));

    // Recovery reads the WAL up to its first invalid frame: here, the zeros
    // reserved past the last commit (wal_preallocator.h).
    EXPECT_GE(std::filesystem::file_size(path_ + "-wal"), uintmax_t{1} << 20);
    auto store = OpenStore();
    ASSERT_TRUE(store);
    Result<CounterTotals> a = store->ReadCounter("s", "/a", kDay1);
    Result<CounterTotals> b = store->ReadCounter("s", "/b", kDay1);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_GE(a->hits, last_acked) << "acknowledged hits were lost";
    EXPECT_LE(a->hits, last_acked + 1) << "at most one commit may be unacknowledged";
    EXPECT_EQ(b->hits, a->hits) << "a batch was applied in part";
    EXPECT_EQ(b->visitors, 1) << "one visitor, however often, counts once a day";
    last_acked = a->hits;
  }
}

// The same through the path `tally serve` acknowledges hits on: the child
// counts through a CountingService (strict SQLite answers a hit only after a
// Sync() that covers it), and reports each number in the completion.
TEST_F(SqliteStoreTest, KillNineLosesNoHitAcknowledgedByTheCountingService) {
  // Writes every acknowledged number into a pipe, from the service's thread.
  class PipeCompletion : public HitCompletion {
   public:
    explicit PipeCompletion(int fd) : fd_(fd) {}
    void OnHitDone(const Status& status, const CounterTotals& totals) override {
      if (!status.ok()) _exit(5);
      if (write(fd_, &totals.hits, sizeof totals.hits) != sizeof totals.hits) _exit(4);
    }

   private:
    int fd_;
  };
  int64_t last_acked = 0;
  for (int round = 0; round < 3; ++round) {
    ASSERT_NO_FATAL_FAILURE(CountThenKill(
        [&](int fd) {
          auto store = SqliteStore::Open(path_, Durability::kStrict);
          if (!store.ok() || !(*store)->ApplyHitsNeedsSync()) _exit(2);
          PipeCompletion done(fd);
          CountingService service(**store, CountingOptions{}, nullptr);
          for (;;) {
            Status s = service.Submit("s", "/a", kDay1, "v", &done);
            if (s.code() == StatusCode::kResourceExhausted) {
              std::this_thread::sleep_for(std::chrono::microseconds(100));
            } else if (!s.ok()) {
              _exit(3);
            }
          }
        },
        500 + 377 * round, last_acked));

    auto store = OpenStore();
    ASSERT_TRUE(store);
    Result<CounterTotals> a = store->ReadCounter("s", "/a", kDay1);
    ASSERT_TRUE(a.ok());
    EXPECT_GE(a->hits, last_acked) << "acknowledged hits were lost";
    EXPECT_EQ(a->visitors, 1);
    last_acked = a->hits;
  }
}

}  // namespace
}  // namespace tally

#include "store/sqlite/sqlite_schema.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/temp_dir.h"
#include "store/sqlite/sqlite_connection.h"

namespace tally {
namespace {

class SqliteSchemaTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteConnection> Connect() {
    auto conn = SqliteConnection::Open(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000);
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    return conn.ok() ? std::move(*conn) : nullptr;
  }

  int64_t Version(SqliteConnection& conn) {
    Result<int64_t> v = conn.QueryInt("PRAGMA user_version");
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : -1;
  }

  bool TableExists(SqliteConnection& conn, const std::string& name) {
    Result<int64_t> n = conn.QueryInt(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = '" + name + "'");
    return n.ok() && *n == 1;
  }

  TempDir dir_{"tally-schema"};
  std::string path_ = dir_.File("test.db");
};

TEST_F(SqliteSchemaTest, MigrationsAreNumberedOneToNWithoutGaps) {
  std::span<const SchemaMigration> migrations = SchemaMigrations();
  ASSERT_FALSE(migrations.empty());
  for (size_t i = 0; i < migrations.size(); ++i) {
    EXPECT_EQ(migrations[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE(migrations[i].sql.empty());
  }
  EXPECT_EQ(LatestSchemaVersion(), migrations.back().version);
}

TEST_F(SqliteSchemaTest, NewFileGetsLatestVersionTablesAndApplicationId) {
  auto conn = Connect();
  ASSERT_TRUE(conn);
  EXPECT_EQ(Version(*conn), 0);
  ASSERT_TRUE(MigrateSchema(*conn).ok());
  EXPECT_EQ(Version(*conn), LatestSchemaVersion());
  EXPECT_TRUE(TableExists(*conn, "sites"));
  EXPECT_TRUE(TableExists(*conn, "counts"));
  EXPECT_TRUE(TableExists(*conn, "visitor_marks"));
  EXPECT_FALSE(TableExists(*conn, "counters"));  // merged into counts by version 3
  EXPECT_FALSE(TableExists(*conn, "days"));
  EXPECT_EQ(*conn->QueryInt("PRAGMA application_id"), kTallyApplicationId);
}

// A file written by a version-2 Tally: its totals and days end up as the
// rows of counts, nothing lost, nothing added.
TEST_F(SqliteSchemaTest, Version2CountersAndDaysMoveIntoCounts) {
  auto conn = Connect();
  ASSERT_TRUE(conn);
  ASSERT_TRUE(MigrateSchema(*conn, SchemaMigrations().first(2)).ok());
  ASSERT_EQ(Version(*conn), 2);
  ASSERT_TRUE(conn->ExecScript("INSERT INTO counters VALUES ('s', '/', 7, 2), ('s', '/b', 1, 1), "
                               "('t', '/', 5, 0);"
                               "INSERT INTO days VALUES ('s', '/', '2024-03-01', 4, 1), "
                               "('s', '/', '2024-03-02', 3, 1), ('s', '/b', '2024-03-02', 1, 1)")
                  .ok());

  ASSERT_TRUE(MigrateSchema(*conn).ok());
  EXPECT_EQ(Version(*conn), LatestSchemaVersion());
  auto dump = [&](const std::string& where) {
    Result<int64_t> n = conn->QueryInt("SELECT count(*) FROM counts WHERE " + where);
    return n.ok() ? *n : -1;
  };
  EXPECT_EQ(dump("1"), 6);
  EXPECT_EQ(dump("site = 's' AND key = '/' AND day = 'total' AND hits = 7 AND visitors = 2"), 1);
  EXPECT_EQ(dump("site = 's' AND key = '/b' AND day = 'total' AND hits = 1 AND visitors = 1"), 1);
  EXPECT_EQ(dump("site = 't' AND key = '/' AND day = 'total' AND hits = 5 AND visitors = 0"), 1);
  EXPECT_EQ(dump("site = 's' AND key = '/' AND day = '2024-03-01' AND hits = 4"), 1);
  EXPECT_EQ(dump("site = 's' AND key = '/' AND day = '2024-03-02' AND hits = 3"), 1);
  EXPECT_EQ(dump("site = 's' AND key = '/b' AND day = '2024-03-02' AND hits = 1"), 1);
  EXPECT_FALSE(TableExists(*conn, "counters"));
  EXPECT_FALSE(TableExists(*conn, "days"));
}

TEST_F(SqliteSchemaTest, MigratingTwiceIsHarmless) {
  auto conn = Connect();
  ASSERT_TRUE(conn);
  ASSERT_TRUE(MigrateSchema(*conn).ok());
  ASSERT_TRUE(conn->ExecScript("INSERT INTO counts VALUES ('s', '/', 'total', 7, 1)").ok());
  Status again = MigrateSchema(*conn);
  EXPECT_TRUE(again.ok()) << again.ToString();
  EXPECT_EQ(*conn->QueryInt("SELECT hits FROM counts"), 7);
}

TEST_F(SqliteSchemaTest, AppliesOnlyStepsNewerThanTheFile) {
  auto conn = Connect();
  ASSERT_TRUE(conn);
  const std::vector<SchemaMigration> v1 = {{1, "one", "CREATE TABLE a (x INTEGER)"}};
  ASSERT_TRUE(MigrateSchema(*conn, v1).ok());
  // Step 1 would fail if re-run (table a exists); only step 2 may run.
  const std::vector<SchemaMigration> v2 = {{1, "one", "CREATE TABLE a (x INTEGER)"},
                                           {2, "two", "CREATE TABLE b (y INTEGER)"}};
  Status s = MigrateSchema(*conn, v2);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Version(*conn), 2);
  EXPECT_TRUE(TableExists(*conn, "b"));
}

TEST_F(SqliteSchemaTest, FailedStepRollsBackAndKeepsEarlierSteps) {
  auto conn = Connect();
  ASSERT_TRUE(conn);
  const std::vector<SchemaMigration> steps = {
      {1, "one", "CREATE TABLE a (x INTEGER)"},
      // The first statement succeeds, the second fails: neither may remain.
      {2, "two", "CREATE TABLE b (y INTEGER); CREATE TABLE a (x INTEGER)"}};
  Status s = MigrateSchema(*conn, steps);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("version 2"), std::string::npos) << s.message();
  EXPECT_EQ(Version(*conn), 1);
  EXPECT_TRUE(TableExists(*conn, "a"));
  EXPECT_FALSE(TableExists(*conn, "b"));
  EXPECT_FALSE(conn->InTransaction());
}

TEST_F(SqliteSchemaTest, RefusesNewerVersionWithoutChangingIt) {
  auto conn = Connect();
  ASSERT_TRUE(conn);
  ASSERT_TRUE(conn->ExecScript("PRAGMA user_version = 99").ok());
  Status s = MigrateSchema(*conn);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("99"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("newer"), std::string::npos) << s.message();
  EXPECT_EQ(Version(*conn), 99);
  EXPECT_FALSE(TableExists(*conn, "counts"));
}

TEST_F(SqliteSchemaTest, RefusesAnotherApplicationsFile) {
  auto conn = Connect();
  ASSERT_TRUE(conn);
  ASSERT_TRUE(conn->ExecScript("PRAGMA application_id = 42").ok());
  Status s = MigrateSchema(*conn);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("another application"), std::string::npos) << s.message();
  EXPECT_EQ(Version(*conn), 0);
}

TEST_F(SqliteSchemaTest, StrictTablesRejectWrongTypes) {
  auto conn = Connect();
  ASSERT_TRUE(conn);
  ASSERT_TRUE(MigrateSchema(*conn).ok());
  EXPECT_FALSE(conn->ExecScript("INSERT INTO counts VALUES ('s', '/', 'total', 'many', 0)").ok());
}

}  // namespace
}  // namespace tally

#include "store/sqlite/wal_coalescing_vfs.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "common/temp_dir.h"
#include "store/sqlite/sqlite_connection.h"

namespace tally {
namespace {

// write(2)-family calls this process has made (/proc/self/io "syscw").
int64_t WriteCalls() {
  std::ifstream io("/proc/self/io");
  std::string name;
  int64_t value = 0;
  while (io >> name >> value) {
    if (name == "syscw:") return value;
  }
  return -1;
}

// A plain connection on SQLite's default VFS: it reads the WAL through its
// own descriptor, so it sees only what is in the file.
class RawConnection {
 public:
  explicit RawConnection(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  ~RawConnection() { sqlite3_close(db_); }
  int Exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  int64_t QueryInt(const std::string& sql) {
    std::string text = QueryText(sql);
    return text.empty() ? -1 : std::stoll(text);
  }
  // The first column of the first row, as text; "" if there is none.
  std::string QueryText(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string value;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      if (text != nullptr) value = reinterpret_cast<const char*>(text);
    }
    sqlite3_finalize(stmt);
    return value;
  }

 private:
  sqlite3* db_ = nullptr;
};

class WalCoalescingVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conn = SqliteConnection::Open(path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    writer_ = std::move(*conn);
    ASSERT_TRUE(writer_
                    ->ExecScript("PRAGMA page_size = 1024; PRAGMA journal_mode = WAL; "
                                 "PRAGMA synchronous = NORMAL; "
                                 "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
                    .ok());
  }

  // One transaction writing `rows` rows of 200 bytes (~1 page per 4 rows),
  // ids from `first`, each written `times` times over.
  Status Insert(int first, int rows, int times = 1) {
    SqliteTransaction txn(*writer_);
    if (Status s = txn.Begin(); !s.ok()) return s;
    for (int round = 0; round < times; ++round) {
      for (int id = first; id < first + rows; ++id) {
        std::string sql = "INSERT OR REPLACE INTO t VALUES (" + std::to_string(id) + ", '" +
                          std::string(200, static_cast<char>('a' + round % 26)) + "')";
        if (Status s = writer_->ExecScript(sql); !s.ok()) return s;
      }
    }
    return txn.Commit();
  }

  TempDir dir_{"tally-walvfs"};
  std::string path_ = dir_.File("t.db");
  std::unique_ptr<SqliteConnection> writer_;
};

TEST_F(WalCoalescingVfsTest, EveryCommitIsInTheFileBeforeAnotherConnectionSeesIt) {
  RawConnection reader(path_);
  const uint64_t found_before = CollectedWalFoundAfterCommit();
  int64_t rows = 0;
  // One page; several; more than one write-out's worth (64 KiB); and a
  // transaction whose pages spill to the WAL before the commit (a tiny page
  // cache) and are written again, which SQLite does by overwriting its
  // frames in place: writes that do not continue the collected ones.
  for (int size : {1, 20, 400}) {
    ASSERT_TRUE(Insert(static_cast<int>(rows), size).ok());
    rows += size;
    EXPECT_EQ(reader.QueryInt("SELECT count(*) FROM t"), rows) << "after " << size << " rows";
  }
  ASSERT_TRUE(writer_->ExecScript("PRAGMA cache_size = 8").ok());
  ASSERT_TRUE(Insert(0, 300, /*times=*/3).ok());
  EXPECT_EQ(reader.QueryInt("SELECT count(*) FROM t"), rows);
  EXPECT_EQ(reader.QueryInt("SELECT count(*) FROM t WHERE v = '" + std::string(200, 'c') + "'"),
            300);
  EXPECT_EQ(reader.QueryText("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(CollectedWalFoundAfterCommit(), found_before) << "a commit frame went unnoticed";
}

TEST_F(WalCoalescingVfsTest, ACommitIsOneWriteNotTwoPerPage) {
  ASSERT_TRUE(Insert(0, 1).ok());  // the WAL header is written and synced
  int64_t before = WriteCalls();
  ASSERT_TRUE(Insert(1000, 120).ok());  // ~30 pages of rows, plus B-tree pages
  // One write; a sanitizer's runtime makes a few of its own (AddressSanitizer
  // probes memory through a pipe), so allow some slack: two per page would be
  // over 60.
  EXPECT_LE(WriteCalls() - before, 8);

  // The same commit on SQLite's own VFS, to show what is saved.
  writer_.reset();
  RawConnection raw(path_);
  ASSERT_EQ(raw.Exec("PRAGMA synchronous = NORMAL"), SQLITE_OK);
  before = WriteCalls();
  ASSERT_EQ(raw.Exec("BEGIN; INSERT INTO t SELECT id + 10000, v FROM t WHERE id >= 1000; COMMIT"),
            SQLITE_OK);
  EXPECT_GE(WriteCalls() - before, 60) << "two writes per page without the VFS";
}

TEST_F(WalCoalescingVfsTest, AFailedWriteFailsTheCommitAndChangesNothing) {
  ASSERT_TRUE(Insert(0, 4).ok());
  RawConnection reader(path_);
  const int64_t wal_bytes = static_cast<int64_t>(std::filesystem::file_size(path_ + "-wal"));
  // Writes past this size now fail with EFBIG (SIGXFSZ ignored), as a full
  // disk would fail them.
  struct sigaction ignore = {}, old_action = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGXFSZ, &ignore, &old_action), 0);
  rlimit old_limit = {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit limit = old_limit;
  limit.rlim_cur = static_cast<rlim_t>(wal_bytes + 2048);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  Status failed = Insert(100, 40);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old_limit), 0);
  ASSERT_EQ(sigaction(SIGXFSZ, &old_action, nullptr), 0);

  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(reader.QueryInt("SELECT count(*) FROM t"), 4);
  // The connection carries on: the same transaction commits now.
  ASSERT_TRUE(Insert(100, 40).ok());
  EXPECT_EQ(reader.QueryInt("SELECT count(*) FROM t"), 44);
}

}  // namespace
}  // namespace tally

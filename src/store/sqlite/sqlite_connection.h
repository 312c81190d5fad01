// Thin RAII owners for the SQLite C API: a connection with a cache of
// prepared statements, a statement, and a transaction guard.
//
// Thread safety: none. A SqliteConnection (and every statement it caches) is
// used by one thread at a time; SqliteStore serialises access with mutexes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace tally {

// One prepared statement. Binds never copy: text bound with BindText must stay
// alive until Reset(), which is why callers hold a ScopedStatement.
class SqliteStatement {
 public:
  explicit SqliteStatement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  // Binds parameter `index` (1-based). A failed bind is remembered and
  // reported by the next Step(), so call sites need not check each bind.
  void BindText(int index, std::string_view text);
  void BindInt64(int index, int64_t value);

  // Runs one step. Returns SQLITE_ROW, SQLITE_DONE, or an error code (the
  // message is then in the connection's sqlite3_errmsg).
  int Step();

  // Column accessors for the current row (valid after Step() == SQLITE_ROW).
  // ColumnText's view is valid until the next Step() or Reset().
  int64_t ColumnInt64(int column) const;
  std::string_view ColumnText(int column) const;
  bool ColumnIsNull(int column) const;

  // Resets the statement and clears its bindings, so it holds no read
  // snapshot (which would block WAL checkpoints) and no pointers into
  // caller memory.
  void Reset();

 private:
  sqlite3_stmt* stmt_;
  int bind_error_ = 0;  // first failed bind since Reset(), 0 if none
};

// Resets a cached statement when the scope ends, whatever path leaves it.
class ScopedStatement {
 public:
  explicit ScopedStatement(SqliteStatement& stmt) : stmt_(stmt) {}
  ~ScopedStatement() { stmt_.Reset(); }
  ScopedStatement(const ScopedStatement&) = delete;
  ScopedStatement& operator=(const ScopedStatement&) = delete;
  SqliteStatement* operator->() { return &stmt_; }

 private:
  SqliteStatement& stmt_;
};

// An open database handle plus the statements prepared on it.
class SqliteConnection {
 public:
  // Opens `path` with sqlite3_open_v2 `flags` (SQLITE_OPEN_*; extended result
  // codes are always enabled) on the VFS of wal_coalescing_vfs.h, and sets a
  // busy timeout so that lock waits on another process or connection retry
  // for up to `busy_timeout_ms`.
  static Result<std::unique_ptr<SqliteConnection>> Open(const std::string& path, int flags,
                                                        int busy_timeout_ms);

  // Finalizes the cached statements, then closes the handle.
  ~SqliteConnection();
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  // Returns the statement for `sql`, preparing it on first use only; later
  // calls with the same text cost one map lookup and no allocation.
  Result<SqliteStatement*> Cached(std::string_view sql);

  // Runs a cached statement that takes no parameters to completion,
  // discarding any rows (BEGIN, COMMIT, simple pragmas).
  Status Run(std::string_view sql);

  // Runs `sql`, which may hold several statements, without caching it. For
  // one-off work such as migrations.
  Status ExecScript(const std::string& sql);

  // Runs a one-column query and returns its first row's integer (pragmas
  // such as user_version). Not cached.
  Result<int64_t> QueryInt(const std::string& sql);
  // Same for a text result (e.g. PRAGMA journal_mode).
  Result<std::string> QueryText(const std::string& sql);

  // Unavailable("<what>: <sqlite's message>") for the last error on this handle.
  Status Error(std::string_view what) const;

  // True while an explicit transaction is open on this handle.
  bool InTransaction() const;

  // Rows changed by the last INSERT/UPDATE/DELETE.
  int64_t Changes() const;

  // The extended result code of the last failed call.
  int ExtendedErrorCode() const;

  sqlite3* handle() const { return db_; }

 private:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  // std::less<> allows lookup by string_view without building a std::string.
  std::map<std::string, std::unique_ptr<SqliteStatement>, std::less<>> cache_;
};

// Guards one write transaction: Begin() issues BEGIN IMMEDIATE (taking the
// write lock up front, so the transaction cannot fail later on a lock
// upgrade); the destructor rolls back unless Commit() succeeded.
class SqliteTransaction {
 public:
  explicit SqliteTransaction(SqliteConnection& conn) : conn_(conn) {}
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;

  Status Begin();
  // On failure the transaction is rolled back (by the destructor), so a
  // failed commit never leaves half a batch behind. On success every frame
  // of the transaction has been handed to the OS (FlushCollectedWal).
  Status Commit();

 private:
  SqliteConnection& conn_;
  bool open_ = false;
};

}  // namespace tally

#include "store/sqlite/sqlite_connection.h"

#include <sqlite3.h>

#include <string>
#include <utility>

#include "store/sqlite/sqlite_allocator.h"
#include "store/sqlite/wal_coalescing_vfs.h"

namespace tally {

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

void SqliteStatement::BindText(int index, std::string_view text) {
  // SQLITE_STATIC: no copy. Safe because every statement is Reset() (which
  // clears bindings) before the bound memory goes away.
  int rc =
      sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

void SqliteStatement::BindInt64(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

int SqliteStatement::Step() {
  if (bind_error_ != 0) return bind_error_;
  return sqlite3_step(stmt_);
}

int64_t SqliteStatement::ColumnInt64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string_view SqliteStatement::ColumnText(int column) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (text == nullptr) return {};
  // column_bytes after column_text gives the length of the UTF-8 form.
  return std::string_view(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool SqliteStatement::ColumnIsNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = 0;
}

Result<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(const std::string& path, int flags,
                                                                 int busy_timeout_ms) {
  sqlite_allocator::Install();  // before SQLite initialises, which the first open does
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_EXRESCODE, WalCoalescingVfsName());
  if (rc != SQLITE_OK) {
    // sqlite3_open_v2 allocates a handle even on failure (except on OOM) so
    // that the message can be read; it must still be closed.
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Status::Unavailable("cannot open sqlite database '" + path + "': " + message);
  }
  std::unique_ptr<SqliteConnection> conn(new SqliteConnection(db));
  sqlite3_busy_timeout(db, busy_timeout_ms);
  return conn;
}

SqliteConnection::~SqliteConnection() {
  // Statements must be finalized before the handle, or sqlite3_close fails
  // with SQLITE_BUSY and leaks the connection.
  cache_.clear();
  sqlite3_close(db_);
}

Result<SqliteStatement*> SqliteConnection::Cached(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return it->second.get();
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error("prepare '" + std::string(sql) + "'");
  auto owned = std::make_unique<SqliteStatement>(stmt);
  SqliteStatement* raw = owned.get();
  cache_.emplace(std::string(sql), std::move(owned));
  return raw;
}

Status SqliteConnection::Run(std::string_view sql) {
  Result<SqliteStatement*> stmt = Cached(sql);
  if (!stmt.ok()) return stmt.status();
  ScopedStatement st(**stmt);
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE) return Error(sql);
  return Status::Ok();
}

Status SqliteConnection::ExecScript(const std::string& sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string text = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return Status::Unavailable(text);
}

Result<int64_t> SqliteConnection::QueryInt(const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) return Error(sql);
  SqliteStatement stmt(raw);
  int rc = stmt.Step();
  if (rc == SQLITE_ROW) return stmt.ColumnInt64(0);
  if (rc == SQLITE_DONE) return Status::Internal("'" + sql + "' returned no row");
  return Error(sql);
}

Result<std::string> SqliteConnection::QueryText(const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) return Error(sql);
  SqliteStatement stmt(raw);
  int rc = stmt.Step();
  if (rc == SQLITE_ROW) return std::string(stmt.ColumnText(0));
  if (rc == SQLITE_DONE) return Status::Internal("'" + sql + "' returned no row");
  return Error(sql);
}

Status SqliteConnection::Error(std::string_view what) const {
  return Status::Unavailable(std::string(what) + ": " + sqlite3_errmsg(db_));
}

bool SqliteConnection::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

int64_t SqliteConnection::Changes() const { return sqlite3_changes64(db_); }

int SqliteConnection::ExtendedErrorCode() const { return sqlite3_extended_errcode(db_); }

SqliteTransaction::~SqliteTransaction() {
  // Some errors (SQLITE_FULL, SQLITE_IOERR, ...) roll back by themselves;
  // others leave the transaction open. Ask the handle rather than guess.
  if (open_ && conn_.InTransaction()) {
    // Nothing useful to do if this fails: the next Begin() retries the
    // rollback and reports any error to its caller. Run() may allocate (the
    // first time it prepares ROLLBACK); a destructor must not throw.
    try {
      (void)conn_.Run("ROLLBACK");
    } catch (...) {
    }
  }
}

Status SqliteTransaction::Begin() {
  // A transaction left open by a failed ROLLBACK would make every later
  // BEGIN fail; clear it here so one I/O hiccup does not wedge the writer.
  if (conn_.InTransaction()) (void)conn_.Run("ROLLBACK");
  Status status = conn_.Run("BEGIN IMMEDIATE");
  open_ = status.ok();
  return status;
}

Status SqliteTransaction::Commit() {
  Status status = conn_.Run("COMMIT");
  if (!status.ok()) return status;
  open_ = false;
  if (int rc = FlushCollectedWal(conn_.handle()); rc != SQLITE_OK) {
    return Status::Unavailable(std::string("COMMIT: writing the WAL: ") + sqlite3_errstr(rc));
  }
  return status;
}

}  // namespace tally

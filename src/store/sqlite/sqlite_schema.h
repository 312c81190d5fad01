// The SQLite schema: an ordered list of migrations and the code that brings
// a database file up to the newest one.
//
// The file's schema version is `PRAGMA user_version` (0 for a new file). Each
// migration step runs in its own transaction together with the bump of
// user_version, so a crash mid-migration leaves the file at the previous
// version, never in between. A file whose version is newer than this build
// knows is refused: an older binary must not write to a layout it does not
// understand.
//
// Thread safety: the functions here use only the connection they are given.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/status.h"
#include "store/sqlite/sqlite_connection.h"

namespace tally {

// `PRAGMA application_id` of a Tally database ("Taly"), so that a --store path
// pointing at some other application's SQLite file is refused, not altered.
inline constexpr int32_t kTallyApplicationId = 0x54616c79;

// The `day` of a counter's totals row in the `counts` table (schema version
// 3). It sorts after every YYYY-MM-DD, so a real day can never be named so;
// the SQL statements spell it out as the literal 'total'.
inline constexpr std::string_view kTotalsDay = "total";

struct SchemaMigration {
  int version;                   // user_version after this step; 1, 2, 3, ...
  std::string_view description;  // for error messages
  std::string_view sql;          // one or more statements
};

// The migrations of this build, in order; versions are 1..N without gaps.
std::span<const SchemaMigration> SchemaMigrations();

// The newest schema version this build knows (the last migration's version).
int LatestSchemaVersion();

// Checks, reading only, that the database on `conn` can be migrated by
// `migrations`: it is a new file or a Tally database, and its version is not
// newer than the last migration. InvalidArgument (with a message saying what
// to do) if not. MigrateSchema calls it too; SqliteStore calls it first so
// that a refused file is not even switched to WAL mode.
Status CheckSchemaCompatible(SqliteConnection& conn,
                             std::span<const SchemaMigration> migrations = SchemaMigrations());

// Brings the database on `conn` up to the last of `migrations` (normally
// SchemaMigrations(); tests pass their own lists). Returns OK when the file
// is at that version afterwards. Returns InvalidArgument, changing nothing,
// if the file's version is newer than the last migration or the file belongs
// to another application; Unavailable if a step fails (that step is rolled
// back; earlier steps stay applied).
//
// Safe against another process migrating the same file at the same time:
// each step re-reads the version after taking the write lock.
Status MigrateSchema(SqliteConnection& conn,
                     std::span<const SchemaMigration> migrations = SchemaMigrations());

}  // namespace tally

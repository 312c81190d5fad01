#include "store/sqlite/sqlite_schema.h"

#include <string>

namespace tally {
namespace {

// Version 1. Planned so that the features in the design brief need new
// tables at most, never a rewrite of these rows:
// - keys and days are TEXT compared with the default BINARY collation, i.e.
//   memcmp: byte order, which is what ListCounters promises and what a
//   cursor over keys needs;
// - days are "YYYY-MM-DD" strings, so a series is a range scan of the
//   (site, key, day) primary key and sorts chronologically;
// - `sites.settings` is a JSON object for per-site options that will come
//   later (rate-limit policy, badge defaults, ...), so adding one is not an
//   ALTER TABLE;
// - STRICT makes SQLite reject a value of the wrong type instead of storing
//   it silently (needs SQLite >= 3.37; Debian 12 has 3.40).
// WITHOUT ROWID stores counters and days clustered by their primary key:
// one B-tree lookup per upsert and no separate rowid index to maintain.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE sites (
  name               TEXT    NOT NULL PRIMARY KEY,
  origins            TEXT    NOT NULL DEFAULT '[]',  -- JSON array of strings
  require_public_key INTEGER NOT NULL DEFAULT 0,
  public_key_hash    TEXT    NOT NULL DEFAULT '',    -- hex SHA-256, never the key
  admin_token_hash   TEXT    NOT NULL DEFAULT '',    -- hex SHA-256, never the token
  timezone           TEXT    NOT NULL DEFAULT 'UTC', -- IANA name
  created_at         INTEGER NOT NULL DEFAULT 0,     -- unix seconds
  settings           TEXT    NOT NULL DEFAULT '{}'   -- JSON object, future options
) STRICT;

CREATE TABLE counters (
  site     TEXT    NOT NULL,
  key      TEXT    NOT NULL,
  hits     INTEGER NOT NULL DEFAULT 0,
  visitors INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (site, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE days (
  site     TEXT    NOT NULL,
  key      TEXT    NOT NULL,
  day      TEXT    NOT NULL,  -- YYYY-MM-DD in the site's time zone
  hits     INTEGER NOT NULL DEFAULT 0,
  visitors INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (site, key, day)
) STRICT, WITHOUT ROWID;

PRAGMA application_id = 1415670905;  -- kTallyApplicationId
)sql";

// Version 2: distinct visitors. A seen-marker per (site, day, visitor hash,
// key) tells whether a visitor was already counted on a counter that day;
// markers and the day's salt are deleted once the day is over, after which
// nobody can link a visitor to another day.
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE visitor_marks (
  site TEXT NOT NULL,
  day  TEXT NOT NULL,  -- YYYY-MM-DD in the site's time zone
  hash TEXT NOT NULL,  -- keyed hash of (salt, site, client); see counting/visitor_hasher.h
  key  TEXT NOT NULL,
  PRIMARY KEY (site, day, hash, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE salts (
  day  TEXT NOT NULL PRIMARY KEY,
  salt TEXT NOT NULL
) STRICT;
)sql";

// Version 3: a counter's total and its days in one table, `counts`, the
// total as the row whose day is 'total' (DynamoDB's layout: one item
// collection per counter). 'total' sorts after every YYYY-MM-DD, so the
// total and today's row are neighbours in the B-tree, mostly on one page: a
// hit dirties one page where it dirtied two (one per table), which took the
// WAL bytes per hit of a 10 000-key Zipf mix from ~1.85 KB to ~1.05 KB and the
// writer's CPU per hit by ~15% (docs/benchmarks.md). Series read day ranges,
// which 'total' is outside of. No secondary index: SQLite would maintain it
// on every hit (see ListCounters in sqlite_store.cc).
constexpr std::string_view kSchemaV3 = R"sql(
CREATE TABLE counts (
  site     TEXT    NOT NULL,
  key      TEXT    NOT NULL,
  day      TEXT    NOT NULL,  -- YYYY-MM-DD in the site's time zone, or 'total'
  hits     INTEGER NOT NULL DEFAULT 0,
  visitors INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (site, key, day)
) STRICT, WITHOUT ROWID;

INSERT INTO counts (site, key, day, hits, visitors)
  SELECT site, key, day, hits, visitors FROM days;
INSERT INTO counts (site, key, day, hits, visitors)
  SELECT site, key, 'total', hits, visitors FROM counters;
DROP TABLE days;
DROP TABLE counters;
)sql";

constexpr SchemaMigration kMigrations[] = {
    {1, "create sites, counters and days", kSchemaV1},
    {2, "add visitor seen-markers and daily salts", kSchemaV2},
    {3, "merge counters and days into counts", kSchemaV3},
};

static_assert(1415670905 == kTallyApplicationId, "update the PRAGMA in kSchemaV1");

Status ApplyStep(SqliteConnection& conn, const SchemaMigration& step) {
  SqliteTransaction txn(conn);
  if (Status s = txn.Begin(); !s.ok()) return s;
  // Re-read under the write lock: another process may have applied this step
  // between our first read and BEGIN IMMEDIATE.
  Result<int64_t> version = conn.QueryInt("PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version >= step.version) return Status::Ok();  // rolls back an empty txn

  std::string prefix = "schema migration to version " + std::to_string(step.version) + " (" +
                       std::string(step.description) + ") failed: ";
  if (Status s = conn.ExecScript(std::string(step.sql)); !s.ok()) {
    return Status::Unavailable(prefix + s.message());
  }
  // user_version lives in the database header, which is written as part of
  // this transaction: the step and the version bump commit together.
  if (Status s = conn.ExecScript("PRAGMA user_version = " + std::to_string(step.version));
      !s.ok()) {
    return Status::Unavailable(prefix + s.message());
  }
  if (Status s = txn.Commit(); !s.ok()) return Status::Unavailable(prefix + s.message());
  return Status::Ok();
}

}  // namespace

std::span<const SchemaMigration> SchemaMigrations() { return kMigrations; }

int LatestSchemaVersion() { return kMigrations[std::size(kMigrations) - 1].version; }

Status CheckSchemaCompatible(SqliteConnection& conn, std::span<const SchemaMigration> migrations) {
  const int latest = migrations.empty() ? 0 : migrations.back().version;

  Result<int64_t> app_id = conn.QueryInt("PRAGMA application_id");
  if (!app_id.ok()) return app_id.status();
  if (*app_id != 0 && *app_id != kTallyApplicationId) {
    return Status::InvalidArgument(
        "this SQLite file belongs to another application (application_id " +
        std::to_string(*app_id) + "); refusing to use it as a Tally store");
  }

  Result<int64_t> version = conn.QueryInt("PRAGMA user_version");
  if (!version.ok()) return version.status();
  if (*version > latest) {
    return Status::InvalidArgument(
        "database schema version " + std::to_string(*version) +
        " is newer than this build of Tally understands (" + std::to_string(latest) +
        "); refusing to open it. Run a newer Tally, or restore a backup made by this version");
  }

  return Status::Ok();
}

Status MigrateSchema(SqliteConnection& conn, std::span<const SchemaMigration> migrations) {
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  if (Status s = CheckSchemaCompatible(conn, migrations); !s.ok()) return s;
  Result<int64_t> version = conn.QueryInt("PRAGMA user_version");
  if (!version.ok()) return version.status();

  for (const SchemaMigration& step : migrations) {
    if (step.version <= *version) continue;
    if (Status s = ApplyStep(conn, step); !s.ok()) return s;
  }
  // A newer Tally may have migrated the file past us while we waited for a
  // lock; check once more rather than run against a layout we don't know.
  Result<int64_t> final_version = conn.QueryInt("PRAGMA user_version");
  if (!final_version.ok()) return final_version.status();
  if (*final_version != latest) {
    return Status::InvalidArgument("database schema version changed to " +
                                   std::to_string(*final_version) + " while opening; expected " +
                                   std::to_string(latest));
  }
  return Status::Ok();
}

}  // namespace tally

#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <new>
#include <utility>

#include <nlohmann/json.hpp>

#include "store/no_throw.h"
#include "store/sqlite/sqlite_schema.h"

namespace tally {
namespace {

// How long a write waits for a lock held by another process (a second
// `tally serve` on the same file, a backup tool) before failing.
constexpr int kBusyTimeoutMs = 5000;
// Read connections kept open between calls; more are opened under load and
// closed when returned beyond this many.
constexpr size_t kMaxIdleReaders = 8;
// After a checkpoint, truncate a WAL that grew past this, so that one burst
// does not keep a huge -wal file forever.
constexpr int64_t kJournalSizeLimitBytes = 64 << 20;
// Page size of databases this build creates. A commit writes every page it
// dirtied to the WAL, whole: with hits spread over many counters (a Zipf mix
// of 10 000 keys) a batch of ~30 hits dirties about one page per counter
// (its total and today's row are neighbours, see sqlite_schema.cc), so the
// page size is the WAL bytes per hit. 1 KiB pages instead of SQLite's
// default 4 KiB cut that from 5.9 KB to 1.9 KB per hit (before the merge of
// totals and days) and the writer's CPU per hit by ~15% (docs/benchmarks.md);
// rows are small (~40 bytes), so a B-tree level more at most is the cost.
constexpr int64_t kNewDatabasePageSize = 1024;
// WAL bytes after which a commit checkpoints. The commit
// that checkpoints copies every page the WAL changed into the database and
// fsyncs both files, and the hits of its batch, and of the batch waiting
// behind it, wait for that: those checkpoints were the p99 of strict hits on
// many counters (10 000-key Zipf, 64 connections: p99 3.7-4.1 ms at 4 MiB,
// SQLite's default in bytes; 2.6-2.9 ms at 16 MiB; 2.4-2.7 ms at 32 MiB;
// docs/benchmarks.md). Not larger: a checkpoint of pages spread over many
// counters copies up to this many bytes at once, and after a crash the whole
// WAL is read before the first request (start to ready 26 ms at 4 MiB, 46 ms
// at 32 MiB). And not "never": a WAL that keeps growing makes every sync
// write the file's new size too (256 MiB: 0.75-0.8x the req/s of 16 MiB).
// The same in relaxed mode, now that the counting service syncs its WAL in
// the background every 50 ms: a checkpoint first fsyncs the WAL written
// since the last Sync(), which with a Sync once a second on the writer was
// up to a second of hits and made relaxed use 4 MiB (Zipf p99 8.1-8.8 ms at
// 4 MiB, 12.8-13.3 ms at 16 MiB then; 4.8-5.5 ms at 4 MiB and 3.1-3.4 ms at
// 16 MiB with the background Sync).
constexpr int64_t kCheckpointWalBytes = 16 << 20;
// The WAL is kept this far ahead of SQLite's writes (see wal_preallocator.h),
// up to the size at which it checkpoints. Each chunk costs one larger sync
// (its zeros go to disk), about 17 until the WAL is full size.
constexpr int64_t kWalPreallocationChunkBytes = 1 << 20;

// No RETURNING on the hot path: SQLite runs RETURNING as a trigger into an
// ephemeral table, and a statement with a trigger opens a statement journal
// (a savepoint) inside the batch's transaction. Opening and releasing both,
// twice per counter, cost the group-commit writer a quarter of its CPU; one
// read of the two rows after the upserts (kReadCounter) costs less, and the
// totals cache saves most of those.
// A counter's total is its row of day 'total' (see sqlite_schema.cc). (One
// statement for both rows, VALUES (total), (day), measured ~5% less of the
// writer's time in a harness, but each run mallocs inside
// sqlite3BtreeInsert past SQLite's allocator's pools: kept as two.)
constexpr std::string_view kUpsertTotal =
    "INSERT INTO counts (site, key, day, hits, visitors) VALUES (?1, ?2, 'total', ?3, ?4) "
    "ON CONFLICT (site, key, day) DO UPDATE SET hits = hits + excluded.hits, "
    "visitors = visitors + excluded.visitors";
constexpr std::string_view kUpsertDay =
    "INSERT INTO counts (site, key, day, hits, visitors) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (site, key, day) DO UPDATE SET hits = hits + excluded.hits, "
    "visitors = visitors + excluded.visitors";
constexpr std::string_view kReadCounter =
    "SELECT t.hits, t.visitors, d.hits, d.visitors FROM counts AS t "
    "LEFT JOIN counts AS d ON d.site = t.site AND d.key = t.key AND d.day = ?3 "
    "WHERE t.site = ?1 AND t.key = ?2 AND t.day = 'total'";
constexpr std::string_view kSetCounter =
    "INSERT INTO counts (site, key, day, hits, visitors) VALUES (?1, ?2, 'total', ?3, 0) "
    "ON CONFLICT (site, key, day) DO UPDATE SET hits = excluded.hits";
// The total and every day.
constexpr std::string_view kDeleteCounter = "DELETE FROM counts WHERE site = ?1 AND key = ?2";
// ListCounters seeks from one key to the next instead of walking the primary
// key, which would visit every day row of every listed counter. (A partial
// index of the totals would do it in one query, but SQLite then maintains it
// on every hit's upsert: it doubled the writer's CPU per hit.)
constexpr std::string_view kNextKey =
    "SELECT key FROM counts WHERE site = ?1 AND key > ?2 ORDER BY key LIMIT 1";
constexpr std::string_view kReadTotal =
    "SELECT hits, visitors FROM counts WHERE site = ?1 AND key = ?2 AND day = 'total'";
constexpr std::string_view kSelectSite =
    "SELECT name, origins, require_public_key, public_key_hash, admin_token_hash, timezone, "
    "created_at, settings FROM sites WHERE name = ?1";
constexpr std::string_view kListSites =
    "SELECT name, origins, require_public_key, public_key_hash, admin_token_hash, timezone, "
    "created_at, settings FROM sites ORDER BY name";
constexpr std::string_view kInsertSite =
    "INSERT INTO sites (name, origins, require_public_key, public_key_hash, admin_token_hash, "
    "timezone, created_at, settings) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
    "ON CONFLICT (name) DO NOTHING";
constexpr std::string_view kUpdateSite =
    "UPDATE sites SET origins = ?2, require_public_key = ?3, public_key_hash = ?4, "
    "admin_token_hash = ?5, timezone = ?6, settings = ?8 WHERE name = ?1";  // ?7: see BindSite
constexpr std::string_view kMarkVisitor =
    "INSERT INTO visitor_marks (site, day, hash, key) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT DO NOTHING";
constexpr std::string_view kDeleteSite = "DELETE FROM sites WHERE name = ?1";
constexpr std::string_view kDeleteSiteCounts = "DELETE FROM counts WHERE site = ?1";
constexpr std::string_view kDeleteSiteMarks = "DELETE FROM visitor_marks WHERE site = ?1";
constexpr std::string_view kPing = "SELECT 1 FROM sites LIMIT 1";
// Changes when another connection commits to the file (not on our own
// commits): the signal that the marker and totals caches may be stale.
constexpr std::string_view kDataVersion = "PRAGMA data_version";

Result<std::string> OriginsToJson(const std::vector<std::string>& origins) {
  try {
    return nlohmann::json(origins).dump();
  } catch (const nlohmann::json::exception& e) {
    // dump() throws on invalid UTF-8; refuse rather than store a mangled origin.
    return Status::InvalidArgument(std::string("site origins: ") + e.what());
  }
}

// Reads a sites row in kSelectSite's column order.
Result<SiteRecord> SiteFromRow(SqliteStatement& row) {
  SiteRecord site;
  site.name = row.ColumnText(0);
  nlohmann::json origins = nlohmann::json::parse(row.ColumnText(1), nullptr,
                                                 /*allow_exceptions=*/false);
  if (!origins.is_array()) {
    return Status::Internal("site '" + site.name + "': stored origins are not a JSON array");
  }
  for (const nlohmann::json& origin : origins) {
    if (!origin.is_string()) {
      return Status::Internal("site '" + site.name + "': stored origin is not a string");
    }
    site.origins.push_back(origin.get<std::string>());
  }
  site.require_public_key = row.ColumnInt64(2) != 0;
  site.public_key_hash = row.ColumnText(3);
  site.admin_token_hash = row.ColumnText(4);
  site.timezone = row.ColumnText(5);
  site.created_at = row.ColumnInt64(6);
  nlohmann::json settings = nlohmann::json::parse(row.ColumnText(7), nullptr, false);
  if (settings.is_object()) {
    site.rate_limit_per_minute = settings.value("rate_limit_per_minute", 0);
    site.rate_limit_ignore = settings.value("rate_limit_ignore", false);
  }
  return site;
}

// The settings column: options that have no column of their own.
std::string SettingsToJson(const SiteRecord& site) {
  return nlohmann::json{{"rate_limit_per_minute", site.rate_limit_per_minute},
                        {"rate_limit_ignore", site.rate_limit_ignore}}
      .dump();
}

// Binds `site` to kInsertSite's or kUpdateSite's parameters, which share
// their numbering (an UPDATE leaves ?7, created_at, unused: it never changes).
// `origins` and `settings` must outlive the statement's step.
void BindSite(SqliteStatement& st, const SiteRecord& site, const std::string& origins,
              const std::string& settings) {
  st.BindText(1, site.name);
  st.BindText(2, origins);
  st.BindInt64(3, site.require_public_key ? 1 : 0);
  st.BindText(4, site.public_key_hash);
  st.BindText(5, site.admin_token_hash);
  st.BindText(6, site.timezone);
  st.BindInt64(7, site.created_at);
  st.BindText(8, settings);
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                       Durability durability) {
  return NoThrow("open sqlite store", [&]() -> Result<std::unique_ptr<SqliteStore>> {
    if (path.empty()) return Status::InvalidArgument("sqlite store: empty path");
    // Separate read connections must see the writer's data, so the database
    // has to be a real file (and this build's SQLite parses "file:" as a URI).
    if (path == ":memory:" || path.starts_with("file:")) {
      return Status::InvalidArgument("sqlite store: '" + path +
                                     "' is not supported; give a plain file path");
    }
    const std::string where = "sqlite store '" + path + "'";
    auto prefixed = [&](const Status& s) { return Status(s.code(), where + ": " + s.message()); };

    Result<std::unique_ptr<SqliteConnection>> writer = SqliteConnection::Open(
        path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, kBusyTimeoutMs);
    if (!writer.ok()) return writer.status();
    SqliteConnection& conn = **writer;

    // Refuse a foreign or too-new file before changing anything in it.
    if (Status s = CheckSchemaCompatible(conn); !s.ok()) return prefixed(s);

    // Only takes effect on a new, empty file; an existing one keeps its page
    // size. See kNewDatabasePageSize.
    if (Status s = conn.ExecScript("PRAGMA page_size = " + std::to_string(kNewDatabasePageSize));
        !s.ok()) {
      return prefixed(s);
    }
    Result<std::string> mode = conn.QueryText("PRAGMA journal_mode = WAL");
    if (!mode.ok()) return prefixed(mode.status());
    if (*mode != "wal") {
      return Status::Unavailable(where + ": cannot switch to WAL mode (journal_mode is " + *mode +
                                 "); is the file on a network file system?");
    }
    // NORMAL in both modes: in WAL mode it fsyncs only at checkpoints, and
    // Sync() makes up for the rest. FULL would fsync inside every COMMIT,
    // under the writer lock, so that no batch could be written while the
    // previous one waits for the disk; strict mode instead calls Sync()
    // before acknowledging (ApplyHitsNeedsSync, SyncIfStrict).
    if (Status s = conn.ExecScript("PRAGMA synchronous = NORMAL"); !s.ok()) return prefixed(s);
    if (Status s = conn.ExecScript("PRAGMA journal_size_limit = " +
                                   std::to_string(kJournalSizeLimitBytes));
        !s.ok()) {
      return prefixed(s);
    }
    if (Status s = MigrateSchema(conn); !s.ok()) return prefixed(s);
    // The page size is known now (the migration created the file if it was
    // new): checkpoint after about as many bytes, whatever the page size.
    Result<int64_t> page_size = conn.QueryInt("PRAGMA page_size");
    if (!page_size.ok()) return prefixed(page_size.status());
    const int64_t checkpoint_frames = kCheckpointWalBytes / *page_size;
    if (Status s =
            conn.ExecScript("PRAGMA wal_autocheckpoint = " + std::to_string(checkpoint_frames));
        !s.ok()) {
      return prefixed(s);
    }

    // The WAL's size when a commit checkpoints: its header and the frames
    // (a 24-byte header and a page each) up to the threshold, plus one chunk
    // for the frames of the commit that crosses it.
    const int64_t wal_limit =
        std::min(kJournalSizeLimitBytes,
                 32 + checkpoint_frames * (*page_size + 24) + kWalPreallocationChunkBytes);
    std::unique_ptr<SqliteStore> store(
        new SqliteStore(path, durability, std::move(*writer), wal_limit));
    // The schema and migrations just written, durable as FULL made them.
    if (Status s = store->SyncIfStrict(Status::Ok()); !s.ok()) return prefixed(s);
    // Open one reader now, so that a problem with read connections shows at
    // startup rather than on the first request.
    Result<ReaderLease> reader = store->AcquireReader();
    if (!reader.ok()) return prefixed(reader.status());
    return store;
  });
}

SqliteStore::SqliteStore(std::string path, Durability durability,
                         std::unique_ptr<SqliteConnection> writer, int64_t wal_limit_bytes)
    : path_(std::move(path)),
      durability_(durability),
      writer_(std::move(writer)),
      wal_preallocator_(kWalPreallocationChunkBytes, wal_limit_bytes) {
  // SQLite may resolve symlinks: ask it where the WAL really is.
  sqlite3_filename db_file = sqlite3_db_filename(writer_->handle(), "main");
  wal_path_ = db_file != nullptr ? sqlite3_filename_wal(db_file) : path_ + "-wal";
  // ReleaseReader must not allocate (it runs in a destructor).
  idle_readers_.reserve(kMaxIdleReaders);
}

SqliteStore::~SqliteStore() {
  // SQLite takes no POSIX locks on the WAL itself (they are on the database
  // and -shm files), so closing our descriptor cannot drop one of its locks.
  int fd = wal_fd_.load(std::memory_order_acquire);
  if (fd >= 0) ::close(fd);
}

Result<std::unique_ptr<SqliteConnection>> SqliteStore::OpenReader() {
  // Read-only: a bug in a read path cannot write. WAL lets these read a
  // consistent snapshot while the writer commits.
  return SqliteConnection::Open(path_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, kBusyTimeoutMs);
}

Result<SqliteStore::ReaderLease> SqliteStore::AcquireReader() {
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    if (!idle_readers_.empty()) {
      std::unique_ptr<SqliteConnection> conn = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return ReaderLease(this, std::move(conn));
    }
  }
  // Opened outside the lock: opening reads the schema from disk.
  Result<std::unique_ptr<SqliteConnection>> conn = OpenReader();
  if (!conn.ok()) return conn.status();
  return ReaderLease(this, std::move(*conn));
}

void SqliteStore::ReleaseReader(std::unique_ptr<SqliteConnection> reader) {
  std::lock_guard<std::mutex> lock(readers_mu_);
  if (idle_readers_.size() < kMaxIdleReaders) idle_readers_.push_back(std::move(reader));
  // Otherwise `reader` closes here.
}

Status SqliteStore::ApplyHits(std::span<const HitDelta> deltas, std::span<CounterTotals> totals) {
  if (totals.size() != deltas.size()) {
    return Status::InvalidArgument("ApplyHits: totals and deltas differ in size");
  }
  for (const HitDelta& delta : deltas) {
    if (delta.hits < 0) {
      return Status::InvalidArgument("ApplyHits: negative delta");
    }
    // The totals' row's day would turn this delta into a second total.
    if (delta.day == kTotalsDay) return Status::InvalidArgument("ApplyHits: day 'total'");
  }
  if (deltas.empty()) return Status::Ok();
  return NoThrow("ApplyHits", [&] {
    std::lock_guard<std::mutex> lock(writer_mu_);
    return ApplyHitsLocked(deltas, totals);
  });
}

// The group-commit writer's hot path: cached statements, one transaction, no
// allocation per delta (binds point into the caller's string_views; results
// are read as integers) except for visitor markers newly remembered.
Status SqliteStore::ApplyHitsLocked(std::span<const HitDelta> deltas,
                                    std::span<CounterTotals> totals) {
  Result<SqliteStatement*> counter_stmt = writer_->Cached(kUpsertTotal);
  if (!counter_stmt.ok()) return counter_stmt.status();
  Result<SqliteStatement*> day_stmt = writer_->Cached(kUpsertDay);
  if (!day_stmt.ok()) return day_stmt.status();
  Result<SqliteStatement*> mark_stmt = writer_->Cached(kMarkVisitor);
  if (!mark_stmt.ok()) return mark_stmt.status();
  Result<SqliteStatement*> read_stmt = writer_->Cached(kReadCounter);
  if (!read_stmt.ok()) return read_stmt.status();

  // The totals cache takes this batch's sums as they are written; unless the
  // COMMIT succeeds, whichever way this returns (or throws), they never were.
  // And a COMMIT reported failed may still have written them (the WAL
  // write-out check after it, SqliteTransaction::Commit): what PeekCounter
  // holds for them is forgotten too.
  struct ForgetUnlessCommitted {
    SqliteStore& store;
    bool committed = false;
    ~ForgetUnlessCommitted() {
      if (!committed) store.ForgetCounterTotals();
    }
  } totals_guard{*this};

  SqliteTransaction txn(*writer_);
  if (Status s = txn.Begin(); !s.ok()) return s;
  // Under the write lock, before the COMMIT writes its frames. If it fails
  // (a full disk), SQLite appends as it would without it, and reports
  // its own write's failure if there is one.
  if (Result<int> wal_fd = WalDescriptor(); wal_fd.ok() && *wal_fd >= 0) {
    (void)wal_preallocator_.BeforeCommit(*wal_fd);
  }
  // Under the write lock: nobody else can commit until we have.
  if (Status s = ForgetIfAnotherConnectionWrote(); !s.ok()) return s;
  batch_marks_.clear();
  for (size_t i = 0; i < deltas.size(); ++i) {
    const HitDelta& delta = deltas[i];
    CounterTotals& out = totals[i];
    // A visitor adds to `visitors` only the first time its marker goes in.
    int64_t new_visitors = 0;
    for (std::string_view hash : delta.visitor_hashes) {
      // Known to be committed already: the INSERT would change nothing.
      if (marks_.Contains(delta.site, delta.day, hash, delta.key)) continue;
      batch_marks_.emplace_back(i, hash);
      ScopedStatement st(**mark_stmt);
      st->BindText(1, delta.site);
      st->BindText(2, delta.day);
      st->BindText(3, hash);
      st->BindText(4, delta.key);
      if (st->Step() != SQLITE_DONE) return writer_->Error("ApplyHits: mark visitor");
      new_visitors += writer_->Changes();
    }
    {
      ScopedStatement st(**counter_stmt);
      st->BindText(1, delta.site);
      st->BindText(2, delta.key);
      st->BindInt64(3, delta.hits);
      st->BindInt64(4, new_visitors);
      if (st->Step() != SQLITE_DONE) return writer_->Error("ApplyHits: update counter");
    }
    {
      ScopedStatement st(**day_stmt);
      st->BindText(1, delta.site);
      st->BindText(2, delta.key);
      st->BindText(3, delta.day);
      st->BindInt64(4, delta.hits);
      st->BindInt64(5, new_visitors);
      if (st->Step() != SQLITE_DONE) return writer_->Error("ApplyHits: update day");
    }
    // The totals are what they were plus this delta, in the database as here.
    if (CounterTotals* known = totals_cache_.Find(delta.site, delta.key, delta.day)) {
      known->hits += delta.hits;
      known->visitors += new_visitors;
      known->today_hits += delta.hits;
      known->today_visitors += new_visitors;
      out = *known;
      continue;
    }
    {
      // Inside the transaction: reads what the two upserts just wrote.
      ScopedStatement st(**read_stmt);
      st->BindText(1, delta.site);
      st->BindText(2, delta.key);
      st->BindText(3, delta.day);
      if (st->Step() != SQLITE_ROW) return writer_->Error("ApplyHits: read counter");
      out.hits = st->ColumnInt64(0);
      out.visitors = st->ColumnInt64(1);
      out.today_hits = st->ColumnInt64(2);
      out.today_visitors = st->ColumnInt64(3);
    }
    totals_cache_.Put(delta.site, delta.key, delta.day, out);
  }
  // COMMIT has written the WAL frames, not fsynced them (synchronous =
  // NORMAL): in strict mode the caller acknowledges only after a Sync().
  if (Status s = txn.Commit(); !s.ok()) return s;
  totals_guard.committed = true;
  // Only now are this batch's markers in the database. Remembering them is
  // optional: running out of memory here must not fail hits already written.
  try {
    for (const auto& [index, hash] : batch_marks_) {
      marks_.Insert(deltas[index].site, deltas[index].day, hash, deltas[index].key);
    }
  } catch (const std::bad_alloc&) {
    marks_.Clear();
  }
  try {
    published_.Publish(deltas, totals, std::chrono::steady_clock::now());
  } catch (const std::bad_alloc&) {
    published_.Clear();
  }
  return Status::Ok();
}

Status SqliteStore::Sync() {
  return NoThrow("Sync", [&]() -> Status {
    // Why fsync()ing the WAL, without the writer lock, makes every write
    // that returned before this call durable (synchronous = NORMAL):
    // - A returned commit has written its frames with write(2) (our VFS,
    //   wal_coalescing_vfs.h, writes them out with the commit frame, and
    //   SqliteTransaction::Commit checks); they are in
    //   the WAL file's page cache, or, if a checkpoint copied them since,
    //   in the database file. On Linux fsync through any descriptor flushes
    //   the file's dirty pages, so our own descriptor suffices, and writers
    //   keep committing meanwhile (what strict mode's pipelining relies on).
    // - A checkpoint fsyncs the WAL before copying frames and the database
    //   file after, and only then marks the frames backfilled. Only fully
    //   backfilled frames are ever overwritten (the WAL restarting from its
    //   start at the next write transaction) or cut off (journal_size_limit
    //   truncating after a restart). So a frame that is no longer in the
    //   WAL when this fsync runs is already in the synced database file.
    //   (WalPreallocator writes only past the file's end, under the write
    //   lock: never over a frame.)
    // - The WAL is deleted only when the last connection closes, after a
    //   full checkpoint; our writer connection keeps it open (and, in WAL
    //   mode, holds a SHARED lock that keeps other processes from deleting
    //   it) from Open() on. Checkpoints restart and truncate it in place. So
    //   it is one file, one inode, while this store is open: a descriptor
    //   opened once stays valid, and until the WAL exists there is nothing
    //   to sync.
    Result<int> fd = WalDescriptor();
    if (!fd.ok()) return fd.status();
    if (*fd < 0) return Status::Ok();
    // fdatasync, as SQLite's own syncs: the WAL's data and its size, not its
    // times (fsync wrote the inode's mtime on every sync).
    if (::fdatasync(*fd) != 0) {
      return Status::Unavailable("Sync: fdatasync " + wal_path_ + ": " + std::strerror(errno));
    }
    return Status::Ok();
  });
}

Result<int> SqliteStore::WalDescriptor() {
  int fd = wal_fd_.load(std::memory_order_acquire);
  if (fd >= 0) return fd;
  std::lock_guard<std::mutex> lock(wal_fd_mu_);
  fd = wal_fd_.load(std::memory_order_relaxed);
  if (fd >= 0) return fd;
  fd = ::open(wal_path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return -1;
    return Status::Unavailable("Sync: open " + wal_path_ + ": " + std::strerror(errno));
  }
  // The WAL's directory entry must be durable too, or after a power loss the
  // synced WAL might not be found. SQLite syncs the directory only the first
  // time it syncs a new WAL, which under NORMAL may be much later. Once is
  // enough: the entry does not change while the WAL exists (see Sync).
  std::string dir = std::filesystem::path(wal_path_).parent_path().string();
  int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = dir_fd < 0 ? -1 : ::fsync(dir_fd);
  int dir_errno = errno;
  if (dir_fd >= 0) ::close(dir_fd);
  if (rc != 0) {
    ::close(fd);
    return Status::Unavailable("Sync: fsync " + dir + ": " + std::strerror(dir_errno));
  }
  wal_fd_.store(fd, std::memory_order_release);
  return fd;
}

Status SqliteStore::SyncIfStrict(Status written) {
  if (!written.ok() || durability_ != Durability::kStrict) return written;
  return Sync();
}

Result<std::string> SqliteStore::SyncIfStrict(Result<std::string> written) {
  if (!written.ok() || durability_ != Durability::kStrict) return written;
  if (Status s = Sync(); !s.ok()) return s;
  return written;
}

std::optional<CounterTotals> SqliteStore::PeekCounter(std::string_view site, std::string_view key,
                                                      std::string_view day) {
  try {
    return published_.Find(site, key, day, std::chrono::steady_clock::now());
  } catch (const std::exception&) {
    return std::nullopt;  // holding counters is an optimization: ReadCounter
  }
}

void SqliteStore::ForgetCounterTotals() noexcept {
  totals_cache_.Clear();
  published_.Clear();
}

Status SqliteStore::ForgetIfAnotherConnectionWrote() {
  Result<SqliteStatement*> stmt = writer_->Cached(kDataVersion);
  if (!stmt.ok()) return stmt.status();
  ScopedStatement st(**stmt);
  if (st->Step() != SQLITE_ROW) return writer_->Error("data_version");
  const int64_t version = st->ColumnInt64(0);
  if (version != data_version_) {
    // It may have deleted markers the cache holds, or changed counters.
    marks_.Clear();
    ForgetCounterTotals();
    data_version_ = version;
  }
  return Status::Ok();
}

void SqliteStore::RefreshPeeksIfStale() noexcept {
  try {
    const auto now = std::chrono::steady_clock::now();
    if (published_.FreshAt(now)) return;
    // Not behind a commit: the writer refreshes them itself when it is done.
    std::unique_lock<std::mutex> lock(writer_mu_, std::try_to_lock);
    if (!lock.owns_lock()) return;
    if (ForgetIfAnotherConnectionWrote().ok()) published_.Refresh(now);
  } catch (const std::exception&) {
    // The read it follows succeeded; PeekCounter stays stale until a commit.
  }
}

Result<CounterTotals> SqliteStore::ReadCounter(std::string_view site, std::string_view key,
                                               std::string_view day) {
  return NoThrow("ReadCounter", [&]() -> Result<CounterTotals> {
    Result<ReaderLease> reader = AcquireReader();
    if (!reader.ok()) return reader.status();
    Result<SqliteStatement*> stmt = (*reader)->Cached(kReadCounter);
    if (!stmt.ok()) return stmt.status();
    ScopedStatement st(**stmt);
    st->BindText(1, site);
    st->BindText(2, key);
    st->BindText(3, day);
    // Before the read begins: a commit or change after it makes what this
    // reads too old to put back.
    const uint64_t generation = published_.Generation();
    int rc = st->Step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return (*reader)->Error("ReadCounter");
    // Reads come here when PeekCounter could not answer: keep it answering
    // while hits are not being written (one read here per interval), and
    // answering this counter next time.
    RefreshPeeksIfStale();
    if (rc == SQLITE_DONE) return Status::NotFound("counter not found");
    CounterTotals totals;
    totals.hits = st->ColumnInt64(0);
    totals.visitors = st->ColumnInt64(1);
    totals.today_hits = st->ColumnInt64(2);  // NULL (no day row) reads as 0
    totals.today_visitors = st->ColumnInt64(3);
    try {
      published_.PutRead(site, key, day, totals, generation);
    } catch (const std::bad_alloc&) {
      published_.Clear();
    }
    return totals;
  });
}

Status SqliteStore::SetCounter(std::string_view site, std::string_view key, int64_t hits) {
  if (hits < 0) return Status::InvalidArgument("SetCounter: negative hits");
  return SyncIfStrict(NoThrow("SetCounter", [&]() -> Status {
    std::lock_guard<std::mutex> lock(writer_mu_);
    CountersRewrite rewrite(*this);
    Result<SqliteStatement*> stmt = writer_->Cached(kSetCounter);
    if (!stmt.ok()) return stmt.status();
    ScopedStatement st(**stmt);
    st->BindText(1, site);
    st->BindText(2, key);
    st->BindInt64(3, hits);
    if (st->Step() != SQLITE_DONE) return writer_->Error("SetCounter");
    return Status::Ok();
  }));
}

Status SqliteStore::DeleteCounter(std::string_view site, std::string_view key) {
  return SyncIfStrict(NoThrow("DeleteCounter", [&]() -> Status {
    std::lock_guard<std::mutex> lock(writer_mu_);
    CountersRewrite rewrite(*this);
    Result<SqliteStatement*> stmt = writer_->Cached(kDeleteCounter);
    if (!stmt.ok()) return stmt.status();
    ScopedStatement st(**stmt);
    st->BindText(1, site);
    st->BindText(2, key);
    if (st->Step() != SQLITE_DONE) return writer_->Error("DeleteCounter");
    if (writer_->Changes() == 0) return Status::NotFound("counter not found");
    return Status::Ok();
  }));
}

Result<std::vector<CounterRow>> SqliteStore::ListCounters(std::string_view site,
                                                          std::string_view after_key, int limit) {
  if (limit < 0) return Status::InvalidArgument("ListCounters: negative limit");
  return NoThrow("ListCounters", [&]() -> Result<std::vector<CounterRow>> {
    std::vector<CounterRow> rows;
    if (limit == 0) return rows;
    Result<ReaderLease> reader = AcquireReader();
    if (!reader.ok()) return reader.status();
    Result<SqliteStatement*> next_stmt = (*reader)->Cached(kNextKey);
    if (!next_stmt.ok()) return next_stmt.status();
    Result<SqliteStatement*> total_stmt = (*reader)->Cached(kReadTotal);
    if (!total_stmt.ok()) return total_stmt.status();
    // Each step reads the latest commit: like any page of a paginated list,
    // a page may miss a counter created or include one deleted meanwhile.
    std::string key(after_key);
    while (rows.size() < static_cast<size_t>(limit)) {
      {
        ScopedStatement st(**next_stmt);
        st->BindText(1, site);
        st->BindText(2, key);
        int rc = st->Step();
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) return (*reader)->Error("ListCounters");
        key.assign(st->ColumnText(0));
      }
      ScopedStatement st(**total_stmt);
      st->BindText(1, site);
      st->BindText(2, key);
      int rc = st->Step();
      if (rc == SQLITE_ROW) {
        rows.push_back(CounterRow{key, st->ColumnInt64(0), st->ColumnInt64(1)});
      } else if (rc != SQLITE_DONE) {  // DONE: day rows without a total (imported)
        return (*reader)->Error("ListCounters");
      }
    }
    return rows;
  });
}

Result<SiteRecord> SqliteStore::GetSite(std::string_view name) {
  return NoThrow("GetSite", [&]() -> Result<SiteRecord> {
    Result<ReaderLease> reader = AcquireReader();
    if (!reader.ok()) return reader.status();
    Result<SqliteStatement*> stmt = (*reader)->Cached(kSelectSite);
    if (!stmt.ok()) return stmt.status();
    ScopedStatement st(**stmt);
    st->BindText(1, name);
    int rc = st->Step();
    if (rc == SQLITE_DONE) return Status::NotFound("site '" + std::string(name) + "' not found");
    if (rc != SQLITE_ROW) return (*reader)->Error("GetSite");
    return SiteFromRow(**stmt);
  });
}

Status SqliteStore::CreateSite(const SiteRecord& site) {
  return SyncIfStrict(NoThrow("CreateSite", [&]() -> Status {
    Result<std::string> origins = OriginsToJson(site.origins);
    if (!origins.ok()) return origins.status();
    std::lock_guard<std::mutex> lock(writer_mu_);
    Result<SqliteStatement*> stmt = writer_->Cached(kInsertSite);
    if (!stmt.ok()) return stmt.status();
    std::string settings = SettingsToJson(site);
    ScopedStatement st(**stmt);
    BindSite(**stmt, site, *origins, settings);
    if (st->Step() != SQLITE_DONE) return writer_->Error("CreateSite");
    // ON CONFLICT DO NOTHING: no row inserted means the name was taken.
    if (writer_->Changes() == 0) {
      return Status::AlreadyExists("site '" + site.name + "' already exists");
    }
    return Status::Ok();
  }));
}

Status SqliteStore::UpdateSite(const SiteRecord& site) {
  return SyncIfStrict(NoThrow("UpdateSite", [&]() -> Status {
    Result<std::string> origins = OriginsToJson(site.origins);
    if (!origins.ok()) return origins.status();
    std::lock_guard<std::mutex> lock(writer_mu_);
    Result<SqliteStatement*> stmt = writer_->Cached(kUpdateSite);
    if (!stmt.ok()) return stmt.status();
    std::string settings = SettingsToJson(site);
    ScopedStatement st(**stmt);
    BindSite(**stmt, site, *origins, settings);
    if (st->Step() != SQLITE_DONE) return writer_->Error("UpdateSite");
    if (writer_->Changes() == 0) return Status::NotFound("site '" + site.name + "' not found");
    return Status::Ok();
  }));
}

Status SqliteStore::DeleteSite(std::string_view name) {
  return SyncIfStrict(NoThrow("DeleteSite", [&]() -> Status {
    std::lock_guard<std::mutex> lock(writer_mu_);
    // Whatever the outcome, the caches must not keep markers or counters
    // this deletes.
    marks_.Clear();
    CountersRewrite rewrite(*this);
    SqliteTransaction txn(*writer_);
    if (Status s = txn.Begin(); !s.ok()) return s;
    for (std::string_view sql : {kDeleteSite, kDeleteSiteCounts, kDeleteSiteMarks}) {
      Result<SqliteStatement*> stmt = writer_->Cached(sql);
      if (!stmt.ok()) return stmt.status();
      ScopedStatement st(**stmt);
      st->BindText(1, name);
      if (st->Step() != SQLITE_DONE) return writer_->Error("DeleteSite");
      // Checked after the first statement: an unknown site deletes nothing,
      // not even counters that happen to be filed under its name.
      if (sql == kDeleteSite && writer_->Changes() == 0) {
        return Status::NotFound("site '" + std::string(name) + "' not found");
      }
    }
    return txn.Commit();
  }));
}

Result<std::vector<SiteRecord>> SqliteStore::ListSites() {
  return NoThrow("ListSites", [&]() -> Result<std::vector<SiteRecord>> {
    Result<ReaderLease> reader = AcquireReader();
    if (!reader.ok()) return reader.status();
    Result<SqliteStatement*> stmt = (*reader)->Cached(kListSites);
    if (!stmt.ok()) return stmt.status();
    ScopedStatement st(**stmt);
    std::vector<SiteRecord> sites;
    int rc;
    while ((rc = st->Step()) == SQLITE_ROW) {
      Result<SiteRecord> site = SiteFromRow(**stmt);
      if (!site.ok()) return site.status();
      sites.push_back(std::move(*site));
    }
    if (rc != SQLITE_DONE) return (*reader)->Error("ListSites");
    return sites;
  });
}

Status SqliteStore::Ping() {
  return NoThrow("Ping", [&]() -> Status {
    Result<ReaderLease> reader = AcquireReader();
    if (!reader.ok()) return reader.status();
    Result<SqliteStatement*> stmt = (*reader)->Cached(kPing);
    if (!stmt.ok()) return stmt.status();
    ScopedStatement st(**stmt);
    int rc = st->Step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return (*reader)->Error("Ping");
    return Status::Ok();
  });
}

Result<int64_t> SqliteStore::WriterPragmaForTesting(const std::string& pragma) {
  std::lock_guard<std::mutex> lock(writer_mu_);
  return writer_->QueryInt("PRAGMA " + pragma);
}

}  // namespace tally

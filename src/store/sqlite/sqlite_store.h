// SqliteStore: the Store backed by one SQLite file in WAL mode (the default
// backend of `tally serve`).
//
// Durability, as chosen by --durability. The write connection always runs
// with PRAGMA synchronous=NORMAL: a COMMIT writes its WAL frames to the OS
// (they survive a process crash) but does not fsync them (a power loss may
// drop them). Sync() fsync()s the WAL, without the writer lock, making every
// write that returned before the call durable. The file is never corrupted.
// - kStrict: ApplyHitsNeedsSync() is true. ApplyHits returns before its
//   fsync, so that the counting service can write the next batch while a
//   Sync() waits for the disk; it acknowledges the hits only after a Sync()
//   that began after ApplyHits returned. A read (ReadCounter, another batch's
//   totals) may see hits whose Sync() is still pending. Every other write
//   (sites, SetCounter, import, salts, ...) syncs before it returns OK, as
//   synchronous=FULL would: it survives a power loss.
// - kRelaxed: no write syncs by itself; the counting service calls Sync()
//   from a background thread, about every 50 ms while hits are written.
//
// Thread safety: every method may be called from any thread, concurrently.
// Writes share one connection behind a mutex (SQLite allows one writer at a
// time anyway); reads use a small pool of separate read-only connections,
// which WAL lets proceed while a write commits and fsyncs.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "store/sqlite/counter_totals_cache.h"
#include "store/sqlite/published_counters.h"
#include "store/sqlite/sqlite_connection.h"
#include "store/sqlite/visitor_mark_cache.h"
#include "store/sqlite/wal_preallocator.h"
#include "store/store.h"

namespace tally {

class SqliteStore : public Store {
 public:
  // Opens (creating if needed) the database file at `path` and migrates its
  // schema to the newest version. The parent directory must exist. Fails
  // with InvalidArgument for ":memory:" or a file that is not a Tally
  // database or has a newer schema than this build; Unavailable if the file
  // cannot be opened or put in WAL mode.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path, Durability durability);

  ~SqliteStore() override;

  // Store. Every method returns a Status instead of throwing. SQLite errors
  // map to Unavailable with SQLite's message.
  Status ApplyHits(std::span<const HitDelta> deltas, std::span<CounterTotals> totals) override;
  Status Sync() override;
  Result<CounterTotals> ReadCounter(std::string_view site, std::string_view key,
                                    std::string_view day) override;
  // Counters ApplyHits committed or ReadCounter read, while PeekCounter is
  // being called (published_counters.h), for kPeekFreshFor after the last
  // commit or after a ReadCounter found no other connection had committed:
  // the most that another process's change to a counter may go unseen here.
  static constexpr std::chrono::milliseconds kPeekFreshFor{1000};
  std::optional<CounterTotals> PeekCounter(std::string_view site, std::string_view key,
                                           std::string_view day) override;
  Status SetCounter(std::string_view site, std::string_view key, int64_t hits) override;
  Status DeleteCounter(std::string_view site, std::string_view key) override;
  Result<std::vector<CounterRow>> ListCounters(std::string_view site, std::string_view after_key,
                                               int limit) override;
  Result<SiteRecord> GetSite(std::string_view name) override;
  Status CreateSite(const SiteRecord& site) override;
  // Replaces every setting of an existing site except created_at, which
  // keeps the value set by CreateSite.
  Status UpdateSite(const SiteRecord& site) override;
  Status DeleteSite(std::string_view name) override;
  Result<std::vector<SiteRecord>> ListSites() override;
  Status Ping() override;
  // Defined in sqlite_store_days.cc: day rows, visitors, export and import.
  Result<std::vector<DayRow>> ReadSeries(std::string_view site, std::optional<std::string_view> key,
                                         std::string_view from_day,
                                         std::string_view to_day) override;
  Result<std::string> DailySalt(std::string_view day, std::string_view candidate) override;
  Status ForgetVisitorsBefore(std::string_view day) override;
  Status ExportSite(std::string_view site,
                    const std::function<bool(const ExportRow&)>& emit) override;
  Status ImportRows(std::string_view site, std::span<const ExportRow> rows) override;

  // The durability this store was opened with; kRelaxed means the caller
  // must call Sync() periodically.
  Durability durability() const override { return durability_; }
  // True in strict mode: see the top of this file.
  bool ApplyHitsNeedsSync() const override { return durability_ == Durability::kStrict; }

  // The database file this store was opened on.
  const std::string& path() const { return path_; }

  // For tests: the write connection's integer PRAGMA `pragma` (e.g.
  // "synchronous": 1 = NORMAL, which both modes use), to prove that settings
  // reached SQLite.
  Result<int64_t> WriterPragmaForTesting(const std::string& pragma);

 private:
  // A read connection borrowed from the pool; goes back on destruction.
  class ReaderLease {
   public:
    ReaderLease(SqliteStore* store, std::unique_ptr<SqliteConnection> conn)
        : store_(store), conn_(std::move(conn)) {}
    ReaderLease(ReaderLease&& other) noexcept = default;
    ReaderLease& operator=(ReaderLease&&) = delete;
    ~ReaderLease() {
      if (conn_ != nullptr) store_->ReleaseReader(std::move(conn_));
    }
    SqliteConnection& operator*() { return *conn_; }
    SqliteConnection* operator->() { return conn_.get(); }

   private:
    SqliteStore* store_;
    std::unique_ptr<SqliteConnection> conn_;
  };

  // `wal_limit_bytes`: how far WalPreallocator may extend the WAL.
  SqliteStore(std::string path, Durability durability, std::unique_ptr<SqliteConnection> writer,
              int64_t wal_limit_bytes);

  // Returns `written`, or in strict mode, if it is OK, Sync()'s outcome: a
  // write other than ApplyHits is durable when it returns OK.
  Status SyncIfStrict(Status written);
  Result<std::string> SyncIfStrict(Result<std::string> written);

  Status ApplyHitsLocked(std::span<const HitDelta> deltas, std::span<CounterTotals> totals);
  // Forgets every counter's numbers held in memory. Under writer_mu_.
  void ForgetCounterTotals() noexcept;
  // Held, under writer_mu_, by a write that changes counters other than by
  // adding hits: forgets the writer's running sums before it (they must not
  // outlive a failure), and PeekCounter's numbers after it, whatever its
  // outcome (until then they are still what a reader sees; reads may have
  // put back numbers from before it meanwhile).
  class CountersRewrite {
   public:
    explicit CountersRewrite(SqliteStore& store) : store_(store) { store_.totals_cache_.Clear(); }
    ~CountersRewrite() { store_.published_.Clear(); }
    CountersRewrite(const CountersRewrite&) = delete;
    CountersRewrite& operator=(const CountersRewrite&) = delete;

   private:
    SqliteStore& store_;
  };
  // Forgets the markers and counters held in memory if another connection
  // (another process) committed since we last looked. Under writer_mu_.
  Status ForgetIfAnotherConnectionWrote();
  // If PeekCounter no longer answers because no commit of ours renewed it,
  // checks for other connections' commits and renews it. Skips if the writer
  // lock is busy or anything fails.
  void RefreshPeeksIfStale() noexcept;
  // wal_fd_, opening it if the WAL exists: -1 if it does not yet.
  Result<int> WalDescriptor();
  Result<std::unique_ptr<SqliteConnection>> OpenReader();
  Result<ReaderLease> AcquireReader();
  void ReleaseReader(std::unique_ptr<SqliteConnection> reader);

  // About 2 MiB of markers; when full, the cache starts over.
  static constexpr size_t kVisitorMarkCacheCapacity = 16384;
  // About 2.5 MiB of counters; when full, the cache starts over.
  static constexpr size_t kCounterTotalsCacheCapacity = 16384;

  const std::string path_;
  const Durability durability_;
  std::string wal_path_;  // set in the constructor, then constant
  // A descriptor of the WAL for Sync() and WalPreallocator, opened (and its directory
  // entry made durable) by the first Sync that finds the file; -1 until
  // then. Set once under wal_fd_mu_, closed by the destructor.
  std::mutex wal_fd_mu_;
  std::atomic<int> wal_fd_{-1};

  // Declared before the readers so that it is destroyed last: the last
  // connection to close checkpoints the WAL into the main file.
  std::mutex writer_mu_;
  std::unique_ptr<SqliteConnection> writer_;  // guarded by writer_mu_
  // Visitor markers known to be committed, and the PRAGMA data_version at
  // our last write (another connection's commit changes it). Guarded by
  // writer_mu_.
  VisitorMarkCache marks_{kVisitorMarkCacheCapacity};
  // Totals as this writer last wrote them (see counter_totals_cache.h).
  // Guarded by writer_mu_.
  CounterTotalsCache totals_cache_{kCounterTotalsCacheCapacity};
  // Committed numbers for PeekCounter; locked on its own.
  PublishedCounters published_{kCounterTotalsCacheCapacity, kPeekFreshFor};
  int64_t data_version_ = -1;
  // Keeps the WAL ahead of the commits' frames. Guarded by writer_mu_.
  WalPreallocator wal_preallocator_;
  // ApplyHits' markers of the current batch: (delta index, hash). Reused.
  std::vector<std::pair<size_t, std::string_view>> batch_marks_;

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_readers_;  // guarded by readers_mu_
};

}  // namespace tally

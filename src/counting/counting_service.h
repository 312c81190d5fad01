// CountingService: durable, exactly numbered hits through group commit.
//
// Network threads Submit() hits; one writer thread takes everything queued,
// merges hits on the same counter into one delta (+n), applies the whole
// batch with one Store::ApplyHits, and only then completes each hit. A delta
// of +n that leaves a counter at T hands out T-n+1 ... T in arrival order, so
// every hit gets its own number, distinct and without gaps, and a hit is
// acknowledged only after the write that holds it succeeded (LevelDB's
// DBImpl::Write / BuildBatchGroup is the model).
//
// When "acknowledged" means "durable" depends on the store:
// - kStrict, !ApplyHitsNeedsSync() (DynamoDB): a hit is completed as soon as
//   ApplyHits returns OK.
// - kStrict, ApplyHitsNeedsSync() (SQLite): pipelined. After ApplyHits of
//   batch k returns, its completions wait, and a second thread, the syncer,
//   calls Store::Sync(); when Sync returns OK the syncer completes batch k.
//   Meanwhile the writer gathers hits and applies batch k+1, timed to be
//   done as Sync k is expected to end (moving averages of both durations),
//   so that one batch's fsync overlaps the next one's writes without
//   splitting the hits into more, smaller commits: at most one applied
//   batch waits for the next Sync, and hits that arrive while the syncer
//   answers a batch (mostly its clients, coming back) wait until all of
//   them can join the next one. While Syncs or commits are short (see
//   CountingOptions::overlap_min_sync), the writer calls Sync() itself
//   after each batch instead. Batches are completed in order. If Sync
//   fails, its batch's hits fail with Unavailable although they were
//   applied (a 503 hit may have counted, as with DynamoDB). A read may see
//   a count whose Sync is still pending; no acknowledged number depends on
//   it, because a later batch is acknowledged only after a Sync that also
//   covers every earlier batch.
// - kRelaxed: completed when ApplyHits returns OK. The syncer thread calls
//   Sync() about sync_interval after the first write it has not synced, off
//   the writer: hits keep being written and answered while the disk works,
//   and for SQLite the checkpoints find little WAL left to fsync.
//
// Thread safety: Submit may be called from any thread. Completions run on the
// writer thread, or for pipelined stores on the syncer thread, and must not
// block.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace tally {

class Metrics;

// Told the outcome of one submitted hit, exactly once, on the service's
// writer or syncer thread.
class HitCompletion {
 public:
  virtual ~HitCompletion() = default;
  // On success `totals.hits` / `totals.today_hits` are this hit's own numbers;
  // visitors are the counter's totals after the write. On failure `totals`
  // is zero and the hit was not written, except after a failed Sync of a
  // pipelined store, when it may have been (it is then not known durable).
  virtual void OnHitDone(const Status& status, const CounterTotals& totals) = 0;
};

// Told about every committed batch, on the writer thread, right after it was
// applied: after the hits' completions ran, or, for a pipelined store (see
// above), possibly before them, while their Sync is pending. Must be quick
// and must not block (live streams use it).
class CountObserver {
 public:
  virtual ~CountObserver() = default;
  virtual void OnCommitted(std::span<const HitDelta> deltas,
                           std::span<const CounterTotals> totals) = 0;
};

struct CountingOptions {
  // Hits waiting for the writer, at most; beyond it Submit refuses (back-pressure).
  size_t max_queued_hits = 65536;
  // Hits in one Store::ApplyHits, at most.
  size_t max_batch_hits = 8192;
  // For relaxed stores: how long an applied write may stay unsynced, about.
  // Short, because a Sync runs off the writer and the less it has to write
  // the less it delays what must wait for it (SQLite's checkpoints fsync the
  // WAL first): relaxed Zipf p99 7.5-7.9 ms syncing every 1 s on the writer,
  // 4.8-5.0 ms every 50 ms in the background (docs/benchmarks.md). The
  // promise to users is "at most 1 s later", like Redis's everysec.
  std::chrono::milliseconds sync_interval{50};
  // For pipelined stores: overlap a Sync with the next batch only while a
  // Sync takes at least overlap_min_sync and a commit overlap_min_commit
  // (moving averages); otherwise the writer syncs each batch itself.
  // Overlapping saves at most the shorter of the two per batch and costs
  // two threads' wake-ups. Measured on 2 shared cores (docs/benchmarks.md):
  // with ~0.2 ms Syncs (an idle disk) the hits wait for the CPU, not the
  // disk, and always overlapping cost a quarter of the throughput; with
  // ~4 ms Syncs (a busy disk) and ~0.5 ms commits (many counters) it gained
  // 12% and cut the p99; with ~0.05 ms commits (one hot counter) there is
  // little to overlap.
  std::chrono::microseconds overlap_min_sync{500};
  std::chrono::microseconds overlap_min_commit{100};
};

class CountingService {
 public:
  // `store` and `metrics` (may be null) must outlive the service.
  CountingService(Store& store, CountingOptions options, Metrics* metrics);
  ~CountingService();  // Stop()s.

  CountingService(const CountingService&) = delete;
  CountingService& operator=(const CountingService&) = delete;

  // Queues one hit on counter (site, key) on `day` by the visitor with hash
  // `visitor` (see visitor_hasher.h; empty: not counted as a visitor). On OK,
  // `done` will be called exactly once; the strings are copied. Returns
  // ResourceExhausted if the queue is full and Unavailable after Stop(); then
  // `done` is not called. `amount` > 1 adds that many hits at once (an
  // admin's increment); the completion then gets the last of its numbers.
  Status Submit(std::string_view site, std::string_view key, std::string_view day,
                std::string_view visitor, HitCompletion* done, int64_t amount = 1);

  // Sets the observer of committed batches (null: none). Call before hits
  // are submitted; `observer` must outlive the service.
  void SetObserver(CountObserver* observer) { observer_.store(observer); }

  // Commits everything queued, completes it, syncs, and stops the writer
  // and the syncer. Later Submits fail. Idempotent.
  void Stop();

 private:
  // A visitor hash, inline up to VisitorHasher's 32 bytes: as a std::string
  // (over the 15-byte small-string buffer) it cost an allocation per hit.
  class QueuedVisitor {
   public:
    QueuedVisitor() = default;
    explicit QueuedVisitor(std::string_view hash);
    std::string_view view() const {
      return long_.empty() ? std::string_view(inline_.data(), inline_size_) : long_;
    }

   private:
    std::array<char, 32> inline_{};
    uint8_t inline_size_ = 0;
    std::string long_;  // a hash longer than inline_ (not VisitorHasher's)
  };

  struct PendingHit {
    std::string site;
    std::string key;
    std::string day;
    QueuedVisitor visitor;
    HitCompletion* done = nullptr;
    int64_t amount = 1;
  };

  // One hit's outcome, kept until its batch's Sync (pipelined stores).
  struct HitAnswer {
    HitCompletion* done;
    CounterTotals totals;
  };
  // An applied batch waiting for a Sync, or a failed one (`failure` not
  // OK: no Sync needed) waiting for its turn to be answered.
  struct UnsyncedBatch {
    Status failure;
    std::vector<HitAnswer> answers;
  };

  void WriterLoop();
  // Applies `batch` (all of it, or defers hits it cannot take into `deferred`).
  void CommitBatch(std::vector<PendingHit>& batch, std::vector<PendingHit>& deferred);
  // Relaxed stores: a write was applied; the syncer will Sync it.
  void MarkUnsynced();
  void RelaxedSyncerLoop();
  // Pipelined stores: returns when the writer should apply its next batch,
  // having set sync_inline_ for it.
  void WaitForCommitTurn();
  // Pipelined stores: returns once the syncer is not answering a batch.
  void WaitWhileAnswering();
  // Pipelined stores: a batch applied (or failed), to be answered after
  // its Sync: now, on the writer (sync_inline_), or by the syncer.
  void HandOver(Status failure, std::vector<HitAnswer> answers);
  // Syncs an applied batch; returns how its hits are to be answered.
  Status SyncBatch(const UnsyncedBatch& batch);
  // Completes the batch's hits with `outcome` and empties it.
  void Answer(UnsyncedBatch& batch, const Status& outcome);
  // Pipelined stores: a vector for a batch's answers, reused if possible.
  std::vector<HitAnswer> TakeAnswerVector();
  void SyncerLoop();

  Store& store_;
  const Durability durability_;
  const bool pipelined_;  // kStrict and store_.ApplyHitsNeedsSync()
  const CountingOptions options_;
  Metrics* const metrics_;
  std::atomic<CountObserver*> observer_{nullptr};

  std::mutex mu_;
  std::condition_variable work_ready_;
  std::vector<PendingHit> queue_;  // guarded by mu_
  bool stopping_ = false;          // guarded by mu_

  // Writer-thread state, reused across batches to avoid allocation.
  std::vector<int32_t> group_slots_;  // (site, key) -> index in deltas_, -1 empty
  std::vector<HitDelta> deltas_;
  std::vector<CounterTotals> totals_;
  std::vector<int32_t> group_of_hit_;
  std::vector<int64_t> handed_out_;
  std::vector<std::pair<int32_t, std::string_view>> visitor_refs_;  // (delta, hash)
  std::vector<std::string_view> visitor_hashes_;

  // Writer -> syncer. Pipelined stores: while one batch is being synced, at
  // most one more waits for the next Sync. Relaxed stores: unsynced_.
  std::mutex sync_mu_;
  std::condition_variable sync_ready_;  // to the syncer: next_ filled, unsynced_, or writer_done_
  std::condition_variable sync_turn_;   // to the writer: next_ taken, or a Sync ended
  std::optional<UnsyncedBatch> next_;   // guarded by sync_mu_
  bool syncing_ = false;                // guarded by sync_mu_; also while answering
  bool answering_ = false;              // guarded by sync_mu_
  bool writer_done_ = false;            // guarded by sync_mu_
  bool unsynced_ = false;               // guarded by sync_mu_; relaxed stores
  std::chrono::steady_clock::time_point sync_started_;  // guarded by sync_mu_
  // Moving averages of how long one Sync and one ApplyHits take: when to
  // apply the next batch so that it is ready as the running Sync ends.
  std::chrono::nanoseconds sync_estimate_{0};    // guarded by sync_mu_
  std::chrono::nanoseconds commit_estimate_{0};  // writer thread only
  bool sync_inline_ = false;                     // writer thread only
  // Emptied answer vectors, kept for reuse; guarded by sync_mu_.
  std::vector<std::vector<HitAnswer>> spare_answers_;

  std::thread writer_;
  std::thread syncer_;  // pipelined and relaxed stores
};

}  // namespace tally

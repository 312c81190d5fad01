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
// Thread safety: Submit may be called from any thread. Completions run on the
// writer thread and must not block.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "store/store.h"

namespace tally {

class Metrics;

// Told the outcome of one submitted hit, exactly once, on the writer thread.
class HitCompletion {
 public:
  virtual ~HitCompletion() = default;
  // On success `totals.hits` / `totals.today_hits` are this hit's own numbers;
  // visitors are the counter's totals after the write. On failure nothing of
  // this hit was written and `totals` is zero.
  virtual void OnHitDone(const Status& status, const CounterTotals& totals) = 0;
};

// Told about every committed batch, on the writer thread, after the hits'
// completions ran. Must be quick and must not block (live streams use it).
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
  // For relaxed stores: how long an applied write may stay unsynced.
  std::chrono::milliseconds sync_interval{1000};
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

  // Commits everything queued, completes it, syncs, and stops the writer.
  // Later Submits fail. Idempotent.
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

  void WriterLoop();
  // Applies `batch` (all of it, or defers hits it cannot take into `deferred`).
  void CommitBatch(std::vector<PendingHit>& batch, std::vector<PendingHit>& deferred);
  void SyncIfDue(bool force);

  Store& store_;
  const Durability durability_;
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
  bool unsynced_ = false;
  std::chrono::steady_clock::time_point last_sync_;

  std::thread writer_;
};

}  // namespace tally

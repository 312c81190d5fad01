#include "counting/counting_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <utility>

#include "api/metrics.h"
#include "common/thread_name.h"

namespace tally {
namespace {

struct CounterRef {
  std::string_view site;
  std::string_view key;
};

struct CounterRefHash {
  size_t operator()(const CounterRef& r) const {
    size_t h = std::hash<std::string_view>()(r.site);
    return h ^ (std::hash<std::string_view>()(r.key) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  }
};

}  // namespace

CountingService::QueuedVisitor::QueuedVisitor(std::string_view hash) {
  if (hash.size() <= inline_.size()) {
    std::copy(hash.begin(), hash.end(), inline_.begin());
    inline_size_ = static_cast<uint8_t>(hash.size());
  } else {
    long_.assign(hash);
  }
}

CountingService::CountingService(Store& store, CountingOptions options, Metrics* metrics)
    : store_(store),
      durability_(store.durability()),
      pipelined_(durability_ == Durability::kStrict && store.ApplyHitsNeedsSync()),
      options_(options),
      metrics_(metrics) {
  queue_.reserve(1024);
  if (pipelined_) {
    syncer_ = std::thread([this] {
      NameThisThread("tally-sync");
      SyncerLoop();
    });
  } else if (durability_ == Durability::kRelaxed) {
    syncer_ = std::thread([this] {
      NameThisThread("tally-sync");
      RelaxedSyncerLoop();
    });
  }
  writer_ = std::thread([this] {
    NameThisThread("tally-writer");
    WriterLoop();
  });
}

CountingService::~CountingService() { Stop(); }

Status CountingService::Submit(std::string_view site, std::string_view key, std::string_view day,
                               std::string_view visitor, HitCompletion* done, int64_t amount) {
  if (amount < 1) return Status::InvalidArgument("a hit adds at least 1");
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Status::Unavailable("the server is shutting down");
    if (queue_.size() >= options_.max_queued_hits) {
      if (metrics_) metrics_->hits_failed.fetch_add(1, std::memory_order_relaxed);
      return Status::ResourceExhausted("too many hits waiting to be written");
    }
    queue_.push_back(PendingHit{std::string(site), std::string(key), std::string(day),
                                QueuedVisitor(visitor), done, amount});
    if (metrics_) {
      metrics_->writer_queue_depth.store(static_cast<int64_t>(queue_.size()),
                                         std::memory_order_relaxed);
    }
  }
  work_ready_.notify_one();
  return Status::Ok();
}

void CountingService::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !writer_.joinable()) return;
    stopping_ = true;
  }
  work_ready_.notify_one();
  if (writer_.joinable()) writer_.join();
  // The writer told the syncer it is done; the syncer answers (pipelined)
  // or syncs (relaxed) what is left.
  if (syncer_.joinable()) syncer_.join();
}

void CountingService::WriterLoop() {
  std::vector<PendingHit> batch;
  std::vector<PendingHit> deferred;
  batch.reserve(1024);
  for (;;) {
    // Meanwhile hits gather in the queue (bounded: Submit refuses beyond it).
    if (pipelined_) WaitForCommitTurn();
    {
      std::unique_lock lock(mu_);
      work_ready_.wait(lock, [&] { return !queue_.empty() || !deferred.empty() || stopping_; });
      if (pipelined_ && deferred.empty() && !stopping_) {
        // Hits that arrive while the syncer answers a batch are mostly its
        // clients coming back: let all of them join this batch rather than
        // apply the first few alone.
        lock.unlock();
        WaitWhileAnswering();
        lock.lock();
      }
      if (queue_.empty() && deferred.empty() && stopping_) break;
      // Deferred hits (a second day of one counter in the last batch) go first
      // to keep arrival order.
      batch.swap(deferred);
      deferred.clear();
      size_t room =
          options_.max_batch_hits > batch.size() ? options_.max_batch_hits - batch.size() : 0;
      if (queue_.size() <= room) {
        if (batch.empty()) {
          batch.swap(queue_);
        } else {
          std::move(queue_.begin(), queue_.end(), std::back_inserter(batch));
          queue_.clear();
        }
      } else {
        auto room_end = queue_.begin() + static_cast<std::ptrdiff_t>(room);
        std::move(queue_.begin(), room_end, std::back_inserter(batch));
        queue_.erase(queue_.begin(), room_end);
      }
      if (metrics_) {
        metrics_->writer_queue_depth.store(static_cast<int64_t>(queue_.size()),
                                           std::memory_order_relaxed);
      }
    }
    CommitBatch(batch, deferred);
    batch.clear();
  }
  // Told, the syncer syncs (or answers) what is left and ends.
  if (pipelined_ || durability_ == Durability::kRelaxed) {
    {
      std::lock_guard lock(sync_mu_);
      writer_done_ = true;
    }
    sync_ready_.notify_one();
  }
}

void CountingService::CommitBatch(std::vector<PendingHit>& batch,
                                  std::vector<PendingHit>& deferred) {
  // Coalesce: one delta per counter. A counter's hits on a second day (the
  // batch straddles midnight) wait for the next batch, because a store takes
  // each counter once per ApplyHits.
  // The index is open addressing over deltas_, at most half full, kept
  // across batches: a std::unordered_map allocated a node per counter per
  // batch, on the thread every hit waits for.
  size_t slots = 16;
  while (slots < 2 * batch.size()) slots <<= 1;
  group_slots_.assign(slots, -1);
  const size_t mask = slots - 1;
  deltas_.clear();
  group_of_hit_.clear();
  visitor_refs_.clear();
  size_t kept_count = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    PendingHit& hit = batch[i];
    size_t slot = CounterRefHash()(CounterRef{hit.site, hit.key}) & mask;
    int32_t group = group_slots_[slot];
    while (group >= 0 && (deltas_[group].site != hit.site || deltas_[group].key != hit.key)) {
      slot = (slot + 1) & mask;
      group = group_slots_[slot];
    }
    if (group < 0) {
      group = static_cast<int32_t>(deltas_.size());
      group_slots_[slot] = group;
      deltas_.push_back(HitDelta{hit.site, hit.key, hit.day, 0, {}});
    } else if (deltas_[group].day != hit.day) {
      deferred.push_back(std::move(hit));
      group_of_hit_.push_back(-1);
      continue;
    }
    deltas_[group].hits += hit.amount;
    group_of_hit_.push_back(group);
    // The view stays valid: `batch` does not change until the commit is done.
    if (!hit.visitor.view().empty()) visitor_refs_.emplace_back(group, hit.visitor.view());
    ++kept_count;
  }
  // Each delta gets its distinct visitors as one contiguous span.
  std::sort(visitor_refs_.begin(), visitor_refs_.end());
  visitor_refs_.erase(std::unique(visitor_refs_.begin(), visitor_refs_.end()), visitor_refs_.end());
  visitor_hashes_.clear();
  for (const auto& ref : visitor_refs_) visitor_hashes_.push_back(ref.second);
  for (size_t i = 0; i < visitor_refs_.size();) {
    size_t j = i;
    while (j < visitor_refs_.size() && visitor_refs_[j].first == visitor_refs_[i].first) ++j;
    deltas_[visitor_refs_[i].first].visitor_hashes =
        std::span<const std::string_view>(visitor_hashes_.data() + i, j - i);
    i = j;
  }

  totals_.assign(deltas_.size(), CounterTotals{});
  auto start = std::chrono::steady_clock::now();
  Status status = store_.ApplyHits(deltas_, totals_);
  auto took = std::chrono::steady_clock::now() - start;
  double seconds = std::chrono::duration<double>(took).count();
  if (pipelined_) commit_estimate_ += (took - commit_estimate_) / 4;

  if (metrics_) {
    metrics_->commit_seconds.Observe(seconds);
    metrics_->batch_hits.Observe(static_cast<double>(kept_count));
    metrics_->batch_counters.Observe(static_cast<double>(deltas_.size()));
    if (status.ok()) {
      // A pipelined batch is counted once it is synced (SyncBatch).
      if (!pipelined_) metrics_->hits_counted.fetch_add(kept_count, std::memory_order_relaxed);
    } else {
      metrics_->hits_failed.fetch_add(kept_count, std::memory_order_relaxed);
    }
  }
  if (!status.ok()) {
    spdlog::error("commit of {} hits failed: {}", kept_count, status.ToString());
    if (pipelined_) {
      // Answered by the syncer after the batches before it: in order.
      std::vector<HitAnswer> answers = TakeAnswerVector();
      for (size_t i = 0; i < batch.size(); ++i) {
        if (group_of_hit_[i] >= 0) answers.push_back(HitAnswer{batch[i].done, CounterTotals{}});
      }
      HandOver(status, std::move(answers));
      return;
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (group_of_hit_[i] >= 0) batch[i].done->OnHitDone(status, CounterTotals{});
    }
    return;
  }
  if (durability_ == Durability::kRelaxed) MarkUnsynced();

  // Hand out T-n+1 ... T in arrival order. A pipelined batch keeps the
  // answers until its Sync.
  std::vector<HitAnswer> answers;
  if (pipelined_) answers = TakeAnswerVector();
  handed_out_.assign(deltas_.size(), 0);
  for (size_t i = 0; i < batch.size(); ++i) {
    int32_t g = group_of_hit_[i];
    if (g < 0) continue;
    const CounterTotals& after = totals_[g];
    // Hits before this one in the batch took numbers up to T - n + handed_out;
    // this one takes the next `amount` and reports the last.
    int64_t n = deltas_[g].hits;
    int64_t& handed = handed_out_[g];
    handed += batch[i].amount;
    CounterTotals mine = after;
    mine.hits = after.hits - n + handed;
    mine.today_hits = after.today_hits - n + handed;
    if (pipelined_) {
      answers.push_back(HitAnswer{batch[i].done, mine});
    } else {
      batch[i].done->OnHitDone(Status::Ok(), mine);
    }
  }
  if (pipelined_) HandOver(Status::Ok(), std::move(answers));
  if (CountObserver* observer = observer_.load(std::memory_order_acquire)) {
    observer->OnCommitted(deltas_, totals_);
  }
}

void CountingService::MarkUnsynced() {
  bool first = false;
  {
    std::lock_guard lock(sync_mu_);
    first = !std::exchange(unsynced_, true);
  }
  // Once per interval at most: the syncer waits out the interval before it
  // takes unsynced_ back.
  if (first) sync_ready_.notify_one();
}

void CountingService::RelaxedSyncerLoop() {
  std::unique_lock lock(sync_mu_);
  for (;;) {
    sync_ready_.wait(lock, [&] { return unsynced_ || writer_done_; });
    if (!unsynced_) return;  // the writer is done, and all it wrote is synced
    // Let one interval's writes gather: a burst costs one Sync, not one per
    // commit. Stop() cuts the wait short.
    sync_ready_.wait_for(lock, options_.sync_interval, [&] { return writer_done_; });
    // Sync covers every write that returned before it begins; a commit
    // during it marks the store unsynced again.
    unsynced_ = false;
    const bool last = writer_done_;
    lock.unlock();
    Status status = store_.Sync();
    lock.lock();
    if (!status.ok()) {
      spdlog::error("sync failed: {}", status.ToString());
      unsynced_ = true;  // again after the next interval
      if (last) return;  // stopping: give up, as a crash would
    }
  }
}

void CountingService::WaitForCommitTurn() {
  std::unique_lock lock(sync_mu_);
  sync_inline_ =
      sync_estimate_ < options_.overlap_min_sync || commit_estimate_ < options_.overlap_min_commit;
  for (;;) {
    if (next_ || (sync_inline_ && syncing_)) {
      // A batch already waits for the next Sync: another one now would be
      // a commit of its own for hits that can as well join a later, larger
      // one. Or this batch will be synced here, after the syncer's: in order.
      sync_turn_.wait(lock);
      continue;
    }
    if (!syncing_) return;  // the disk is idle: apply and sync at once
    // Apply as late as lets the batch be ready when the running Sync ends;
    // if that Sync ends sooner, it wakes us.
    auto due = sync_started_ + sync_estimate_ - commit_estimate_;
    if (std::chrono::steady_clock::now() >= due) return;
    sync_turn_.wait_until(lock, due);
  }
}

void CountingService::WaitWhileAnswering() {
  std::unique_lock lock(sync_mu_);
  sync_turn_.wait(lock, [&] { return !answering_; });
}

std::vector<CountingService::HitAnswer> CountingService::TakeAnswerVector() {
  std::lock_guard lock(sync_mu_);
  if (spare_answers_.empty()) return {};
  std::vector<HitAnswer> answers = std::move(spare_answers_.back());
  spare_answers_.pop_back();
  return answers;
}

void CountingService::HandOver(Status failure, std::vector<HitAnswer> answers) {
  UnsyncedBatch batch{std::move(failure), std::move(answers)};
  if (sync_inline_) {
    Answer(batch, SyncBatch(batch));
    std::lock_guard lock(sync_mu_);
    spare_answers_.push_back(std::move(batch.answers));
    return;
  }
  {
    std::lock_guard lock(sync_mu_);
    next_.emplace(std::move(batch));
  }
  sync_ready_.notify_one();
}

Status CountingService::SyncBatch(const UnsyncedBatch& batch) {
  // The batch was applied before this Sync begins, so it covers it
  // (Store::ApplyHitsNeedsSync), and every batch before it. A failed batch
  // needs none; it waited only to be answered in order.
  if (!batch.failure.ok()) return batch.failure;
  const auto started = std::chrono::steady_clock::now();
  Status synced = store_.Sync();
  const auto took = std::chrono::steady_clock::now() - started;
  {
    std::lock_guard lock(sync_mu_);
    sync_estimate_ += (took - sync_estimate_) / 4;
  }
  if (metrics_) {
    // Before the answers, so that whoever sees an answer sees it counted.
    (synced.ok() ? metrics_->hits_counted : metrics_->hits_failed)
        .fetch_add(batch.answers.size(), std::memory_order_relaxed);
  }
  if (synced.ok()) return synced;
  spdlog::error("sync failed: {}", synced.ToString());
  // Applied but not known durable: refused like a failed commit (503).
  return Status::Unavailable("the write could not be made durable: " + synced.message());
}

void CountingService::Answer(UnsyncedBatch& batch, const Status& outcome) {
  for (const HitAnswer& a : batch.answers) {
    a.done->OnHitDone(outcome, outcome.ok() ? a.totals : CounterTotals{});
  }
  batch.answers.clear();
}

void CountingService::SyncerLoop() {
  std::unique_lock lock(sync_mu_);
  for (;;) {
    sync_ready_.wait(lock, [&] { return next_ || writer_done_; });
    if (!next_) break;  // the writer is done, and so are we
    UnsyncedBatch batch = std::move(*next_);
    next_.reset();
    syncing_ = true;
    sync_started_ = std::chrono::steady_clock::now();
    lock.unlock();
    sync_turn_.notify_one();  // the writer may prepare the next batch
    Status outcome = SyncBatch(batch);
    lock.lock();
    answering_ = true;
    lock.unlock();
    Answer(batch, outcome);
    lock.lock();
    syncing_ = answering_ = false;
    spare_answers_.push_back(std::move(batch.answers));
    // The writer waits for the running Sync only while it has no batch
    // ready; if it has one, we take it right away and wake it then.
    if (!next_) sync_turn_.notify_one();
  }
}

}  // namespace tally

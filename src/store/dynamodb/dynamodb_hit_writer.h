// DynamoDbHitWriter: ApplyHits for DynamoDB — coalesced, parallel, and safe
// to retry although `ADD` is not idempotent.
//
// Per batch, for each counter (one HitDelta; the counting service has
// already merged concurrent hits into +n):
//   1. one conditional PutItem per visitor hash not known to be seen
//      (attribute_not_exists): the visitor marker; those that succeed are
//      the counter's new visitors (v);
//   2. two UpdateItems, total and day item, in parallel with every other
//      counter's: hits += n, visitors += v (as SET x = if_not_exists(x, 0)
//      + :n, which is ADD's atomic increment), returning the new values, so
//      the batch's hits get T-n+1 ... T.
// At most `max_in_flight` requests are on the wire at once.
//
// Exactly-once under retries. Each writer (one per process) has a random
// id; each batch takes a sequence number `seq`, unique and increasing per
// writer. Every update also does `SET w:{id} = seq, b:{id} = hits-before`
// under the condition `w:{id} <> seq`. A retry of an update that DynamoDB
// had applied (the answer was lost: timeout, reset) therefore fails its
// condition instead of adding twice, and the writer reads the item to
// learn `b:{id}`, i.e. the numbers its hits got (T = b + n). Updates of one
// counter by one writer are serialized, so `w:{id}` cannot move on between
// an attempt and its retry. Visitor markers carry the same token, so a
// retried marker put is recognised as our own. Writer attributes older than
// 15 minutes (long past any retry) are removed by later writes to the item.
//
// Not atomic across counters: if some updates of a batch fail (DynamoDB
// unreachable until the deadline), others may have been applied. The batch
// then fails as a whole, so no hit is acknowledged without its write, but
// hits answered with an error may have been counted (never counted twice).
// The total and the day item of one counter are two writes as well.
//
// Thread safety: ApplyHits may be called from any thread, concurrently.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "store/dynamodb/dynamodb_client.h"
#include "store/dynamodb/recent_set.h"
#include "store/store.h"

namespace tally {

class DynamoDbHitWriter {
 public:
  // `client` must outlive the writer.
  DynamoDbHitWriter(DynamoDbClient& client, std::string table);

  // Store::ApplyHits (see store.h), with the caveats above: Unavailable if
  // any counter's write could not be done before the deadline.
  Status ApplyHits(std::span<const HitDelta> deltas, std::span<CounterTotals> totals);

  // This writer's id (the {id} of its w:/b: attributes).
  const std::string& writer_id() const { return writer_id_; }

  // For tests: the next batch's sequence number will be `seq` (which must
  // be above every one used), to replay a batch as if it were a retry.
  void SetNextSeqForTesting(int64_t seq) { last_seq_.store(seq - 1); }
  int64_t LastSeqForTesting() const { return last_seq_.load(); }

 private:
  int64_t NextSeq();
  // Attribute names of other writers, found stale on `item_key`'s last
  // write, to REMOVE in our next write of it.
  std::vector<std::string> TakeStale(const std::string& item_key);
  void NoteStale(const std::string& item_key, const nlohmann::json& attributes, int64_t now_us);

  DynamoDbClient& client_;
  const std::string table_;
  const std::string writer_id_;
  const std::string seq_attr_;   // "w:{id}"
  const std::string base_attr_;  // "b:{id}"
  std::atomic<int64_t> last_seq_{0};

  std::array<std::mutex, 64> stripes_;  // serialize one counter's writes

  std::mutex stale_mu_;
  std::unordered_map<std::string, std::vector<std::string>> stale_;  // guarded by stale_mu_

  RecentSet seen_markers_;
};

}  // namespace tally

#include "store/dynamodb/dynamodb_hit_writer.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>

#include "store/dynamodb/dynamodb_json.h"
#include "store/dynamodb/dynamodb_layout.h"

namespace tally {
namespace {

using dynamodb::GetN;
using dynamodb::ItemKey;
using dynamodb::N;
using dynamodb::S;

// A writer attribute untouched this long belongs to a writer that is gone
// or no longer retrying: any retry ends within the client's deadline.
constexpr int64_t kStaleMicros = int64_t{15} * 60 * 1000 * 1000;
// Stale attributes removed per write, at most.
constexpr size_t kMaxRemovesPerWrite = 8;
// Visitor markers remembered as existing.
constexpr size_t kSeenMarkerCapacity = 200000;
// Markers live this long after the start of their day (UTC): past the end
// of that day in every time zone, plus slack for late hits.
constexpr int64_t kMarkerTtlSeconds = int64_t{3} * 86400;

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string RandomWriterId() {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<uint64_t>(NowMicros()));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(12, '0');
  for (char& c : id) c = kHex[rng() % 16];
  return id;
}

// What one request of the batch is for.
struct Work {
  enum Kind { kMarker, kTotal, kDay } kind;
  size_t delta;
  std::string item_key;  // pk + '\n' + sk, or the marker's cache key
};

}  // namespace

DynamoDbHitWriter::DynamoDbHitWriter(DynamoDbClient& client, std::string table)
    : client_(client),
      table_(std::move(table)),
      writer_id_(RandomWriterId()),
      seq_attr_("w:" + writer_id_),
      base_attr_("b:" + writer_id_),
      seen_markers_(kSeenMarkerCapacity) {}

int64_t DynamoDbHitWriter::NextSeq() {
  // Unique and increasing per writer, and close to wall-clock microseconds,
  // so that other writers can tell how old our attributes are.
  int64_t now = NowMicros();
  int64_t last = last_seq_.load();
  int64_t next;
  do {
    next = std::max(now, last + 1);
  } while (!last_seq_.compare_exchange_weak(last, next));
  return next;
}

std::vector<std::string> DynamoDbHitWriter::TakeStale(const std::string& item_key) {
  std::lock_guard<std::mutex> lock(stale_mu_);
  auto it = stale_.find(item_key);
  if (it == stale_.end()) return {};
  std::vector<std::string> names = std::move(it->second);
  stale_.erase(it);
  return names;
}

void DynamoDbHitWriter::NoteStale(const std::string& item_key, const nlohmann::json& attributes,
                                  int64_t now_us) {
  if (!attributes.is_object()) return;
  std::vector<std::string> names;
  for (auto it = attributes.begin(); it != attributes.end(); ++it) {
    const std::string& name = it.key();
    if (!name.starts_with("w:") || name == seq_attr_) continue;
    if (GetN(attributes, name, now_us) < now_us - kStaleMicros) {
      names.push_back(name);
      names.push_back("b:" + name.substr(2));
      if (names.size() >= kMaxRemovesPerWrite) break;
    }
  }
  if (names.empty()) return;
  std::lock_guard<std::mutex> lock(stale_mu_);
  if (stale_.size() > 100000) stale_.clear();  // bounded; they are found again
  stale_[item_key] = std::move(names);
}

Status DynamoDbHitWriter::ApplyHits(std::span<const HitDelta> deltas,
                                    std::span<CounterTotals> totals) {
  if (totals.size() != deltas.size()) {
    return Status::InvalidArgument("ApplyHits: totals and deltas differ in size");
  }
  for (const HitDelta& d : deltas) {
    if (d.hits < 0) return Status::InvalidArgument("ApplyHits: negative delta");
    if (dynamodb::DayStartUnixSeconds(d.day) < 0) {
      return Status::InvalidArgument("ApplyHits: bad day '" + std::string(d.day) + "'");
    }
  }
  if (deltas.empty()) return Status::Ok();

  // One writer's updates of one counter, one at a time (see the header).
  std::vector<size_t> stripes;
  std::vector<std::string> pks;
  pks.reserve(deltas.size());
  for (const HitDelta& d : deltas) {
    pks.push_back(dynamodb::CounterPk(d.site, d.key));
    stripes.push_back(std::hash<std::string>()(pks.back()) % stripes_.size());
  }
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(stripes.size());
  for (size_t s : stripes) locks.emplace_back(stripes_[s]);
  // The time budget starts once the counters are ours.
  const auto deadline = std::chrono::steady_clock::now() + client_.options().deadline;

  const int64_t seq = NextSeq();
  const std::string token = writer_id_ + ":" + std::to_string(seq);

  // 1. Visitor markers.
  std::vector<int64_t> new_visitors(deltas.size(), 0);
  {
    std::vector<DynamoRequest> requests;
    std::vector<Work> work;
    for (size_t i = 0; i < deltas.size(); ++i) {
      const HitDelta& d = deltas[i];
      const int64_t ttl = dynamodb::DayStartUnixSeconds(d.day) + kMarkerTtlSeconds;
      for (std::string_view hash : d.visitor_hashes) {
        std::string pk = dynamodb::VisitorPk(d.site, d.day, hash);
        std::string cache_key = pk + '\n' + std::string(d.key);
        if (seen_markers_.Contains(cache_key)) continue;
        nlohmann::json body = {
            {"TableName", table_},
            {"Item", {{"pk", S(pk)}, {"sk", S(d.key)}, {"ttl", N(ttl)}, {"tok", S(token)}}},
            {"ConditionExpression", "attribute_not_exists(#pk) OR #tok = :tok"},
            {"ExpressionAttributeNames", {{"#pk", "pk"}, {"#tok", "tok"}}},
            {"ExpressionAttributeValues", {{":tok", S(token)}}},
        };
        requests.push_back({"PutItem", body.dump()});
        work.push_back({Work::kMarker, i, std::move(cache_key)});
      }
    }
    std::vector<DynamoResult> results(requests.size());
    client_.CallAllUntil(requests, results, deadline);
    for (size_t r = 0; r < results.size(); ++r) {
      if (results[r].ok()) {
        ++new_visitors[work[r].delta];
      } else if (!results[r].condition_failed()) {
        return results[r].status;  // nothing counted yet
      }
      seen_markers_.Insert(work[r].item_key);
    }
  }

  // 2. The counters' total and day items.
  std::vector<DynamoRequest> requests;
  std::vector<Work> work;
  requests.reserve(2 * deltas.size());
  for (size_t i = 0; i < deltas.size(); ++i) {
    const HitDelta& d = deltas[i];
    for (Work::Kind kind : {Work::kTotal, Work::kDay}) {
      const std::string sk =
          kind == Work::kTotal ? std::string(dynamodb::kTotalSk) : dynamodb::DaySk(d.day);
      std::string item_key = pks[i] + '\n' + sk;
      nlohmann::json names = {
          {"#h", "hits"}, {"#v", "visitors"}, {"#w", seq_attr_}, {"#b", base_attr_}};
      nlohmann::json values = {
          {":n", N(d.hits)}, {":v", N(new_visitors[i])}, {":seq", N(seq)}, {":zero", N(0)}};
      // SET x = x + n rather than ADD: the same atomic increment, but with
      // every operand read from the item before the update whatever order
      // an implementation applies actions in (dynalite applies ADD first
      // and would hand #b the new value). #b is listed first for the same
      // reason.
      std::string update =
          "SET #b = if_not_exists(#h, :zero), #h = if_not_exists(#h, :zero) + :n, "
          "#v = if_not_exists(#v, :zero) + :v, #w = :seq";
      if (kind == Work::kTotal) {
        update += ", #ls = if_not_exists(#ls, :site), #lk = if_not_exists(#lk, :key)";
        names["#ls"] = "ls";
        names["#lk"] = "lk";
        values[":site"] = S(d.site);
        values[":key"] = S(d.key);
        std::vector<std::string> stale = TakeStale(item_key);
        for (size_t r = 0; r < stale.size(); ++r) {
          update += (r == 0 ? " REMOVE " : ", ") + ("#r" + std::to_string(r));
          names["#r" + std::to_string(r)] = stale[r];
        }
      }
      nlohmann::json body = {
          {"TableName", table_},
          {"Key", ItemKey(pks[i], sk)},
          {"UpdateExpression", update},
          {"ConditionExpression", "attribute_not_exists(#w) OR #w <> :seq"},
          {"ExpressionAttributeNames", names},
          {"ExpressionAttributeValues", values},
          // ALL_NEW rather than UPDATED_NEW: the same numbers, plus the
          // other writers' attributes, to find stale ones.
          {"ReturnValues", kind == Work::kTotal ? "ALL_NEW" : "UPDATED_NEW"},
      };
      requests.push_back({"UpdateItem", body.dump()});
      work.push_back({kind, i, std::move(item_key)});
    }
  }
  std::vector<DynamoResult> results(requests.size());
  client_.CallAllUntil(requests, results, deadline);

  // 3. Updates whose condition failed had been applied by an earlier
  // attempt whose answer was lost: read what they did.
  std::vector<DynamoRequest> reads;
  std::vector<size_t> read_of;
  Status failure;
  for (size_t r = 0; r < results.size(); ++r) {
    if (results[r].condition_failed()) {
      const Work& w = work[r];
      const HitDelta& d = deltas[w.delta];
      const std::string sk =
          w.kind == Work::kTotal ? std::string(dynamodb::kTotalSk) : dynamodb::DaySk(d.day);
      nlohmann::json body = {
          {"TableName", table_},
          {"Key", ItemKey(pks[w.delta], sk)},
          {"ConsistentRead", true},
          {"ProjectionExpression", "#h, #v, #w, #b"},
          {"ExpressionAttributeNames",
           {{"#h", "hits"}, {"#v", "visitors"}, {"#w", seq_attr_}, {"#b", base_attr_}}},
      };
      reads.push_back({"GetItem", body.dump()});
      read_of.push_back(r);
    } else if (!results[r].ok() && failure.ok()) {
      failure = results[r].status;
    }
  }
  if (!failure.ok()) return failure;
  std::vector<DynamoResult> read_results(reads.size());
  client_.CallAllUntil(reads, read_results, deadline);
  for (size_t k = 0; k < reads.size(); ++k) {
    if (!read_results[k].ok()) return read_results[k].status;
    const nlohmann::json& item = read_results[k].body.value("Item", nlohmann::json::object());
    const size_t r = read_of[k];
    const HitDelta& d = deltas[work[r].delta];
    if (GetN(item, seq_attr_, -1) != seq) {
      return Status::Internal("ApplyHits: a retried write of '" + work[r].item_key +
                              "' was neither applied nor refused");
    }
    // Rebuild the answer the lost attempt would have had.
    nlohmann::json attrs = {{"hits", N(GetN(item, base_attr_) + d.hits)},
                            {"visitors", N(GetN(item, "visitors"))}};
    results[r].body = {{"Attributes", attrs}};
    results[r].status = Status::Ok();
  }

  const int64_t now_us = NowMicros();
  for (size_t r = 0; r < results.size(); ++r) {
    const nlohmann::json& attrs = results[r].body.value("Attributes", nlohmann::json::object());
    CounterTotals& out = totals[work[r].delta];
    if (work[r].kind == Work::kTotal) {
      out.hits = GetN(attrs, "hits");
      out.visitors = GetN(attrs, "visitors");
      NoteStale(work[r].item_key, attrs, now_us);
    } else {
      out.today_hits = GetN(attrs, "hits");
      out.today_visitors = GetN(attrs, "visitors");
    }
  }
  return Status::Ok();
}

}  // namespace tally

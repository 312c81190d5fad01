// Store: the one interface every storage backend implements.
//
// It is batch-oriented: ApplyHits takes the coalesced deltas of many hits
// and applies them in one write (one SQLite transaction, parallel DynamoDB
// updates), returning the totals after the write. That is what makes group
// commit and write coalescing possible.
//
// Thread safety: every method may be called from any thread, concurrently.
// Methods block (except PeekCounter); callers must not call them from network
// threads.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace tally {

// A site's settings as stored. Tokens appear only as hashes (auth/token.h).
struct SiteRecord {
  std::string name;                  // [a-z0-9][a-z0-9.-]{0,62}
  std::vector<std::string> origins;  // allowed CORS origins (see api/cors_policy.h)
  bool require_public_key = false;
  std::string public_key_hash;   // hex SHA-256 of the public key
  std::string admin_token_hash;  // hex SHA-256 of the admin token
  std::string timezone = "UTC";  // IANA name; days follow it
  int64_t created_at = 0;        // unix seconds
  // Hits counted per client (visitor) and minute, at most; 0 = the server's
  // default. Over it a hit is refused with 429, or, with
  // rate_limit_ignore, answered with the current numbers but not counted.
  int32_t rate_limit_per_minute = 0;
  bool rate_limit_ignore = false;
};

// The increments that one batch applies to one counter.
struct HitDelta {
  std::string_view site;
  std::string_view key;
  std::string_view day;  // "YYYY-MM-DD" in the site's time zone
  int64_t hits = 0;      // > 0
  // The visitors among these hits, as distinct opaque hashes (see
  // counting/visitor_hasher.h). The store keeps a seen-marker per (site,
  // day, hash, key) and adds to `visitors` (total and day) only the hashes
  // it had not seen for this counter on this day.
  std::span<const std::string_view> visitor_hashes;
};

// A counter's numbers. `today_*` refer to the day that was asked for.
struct CounterTotals {
  int64_t hits = 0;
  int64_t visitors = 0;
  int64_t today_hits = 0;
  int64_t today_visitors = 0;
};

struct CounterRow {
  std::string key;
  int64_t hits = 0;
  int64_t visitors = 0;
};

struct DayRow {
  std::string day;  // YYYY-MM-DD
  int64_t hits = 0;
  int64_t visitors = 0;
};

// One line of a site's export: a counter's totals (day empty) or one of its
// day rows. Export and import speak this, whatever the backend.
struct ExportRow {
  std::string key;
  std::string day;  // empty: the counter's totals
  int64_t hits = 0;
  int64_t visitors = 0;
};

// What an acknowledged hit is promised (the --durability mode);
// Store::durability() and Store::ApplyHitsNeedsSync() tell the counting
// service when it may acknowledge and whether it must call Sync().
enum class Durability {
  kStrict,   // acknowledged only once on stable storage
  kRelaxed,  // acknowledged once in the OS; Sync() makes it stable later
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies every delta. On success, totals[i] holds the numbers of
  // deltas[i]'s counter right after the write (today_* for deltas[i].day),
  // and every delta is applied exactly once. The same counter may appear at
  // most once in `deltas`. Creates counters and day rows as needed. Returns
  // Unavailable if the store cannot be written; then the caller must not
  // acknowledge any of the hits. Whether a failure applied nothing depends on
  // the backend: SQLite writes one transaction (all or none); DynamoDB writes
  // per counter and may have applied some (never twice; dynamodb_store.h).
  virtual Status ApplyHits(std::span<const HitDelta> deltas, std::span<CounterTotals> totals) = 0;

  // The promise this store was opened to keep for acknowledged hits.
  virtual Durability durability() const = 0;

  // When a successful ApplyHits of a kStrict store is on stable storage.
  // false (the default): when ApplyHits returns. true: ApplyHits returns
  // once its writes reached the OS (visible to reads, surviving a process
  // crash); they are on stable storage once a Sync() that began after
  // ApplyHits returned has returned OK, and the caller must not acknowledge
  // the hits before that. Splitting the two lets the caller apply the next
  // batch while Sync() waits for the disk. Meaningless for kRelaxed stores.
  virtual bool ApplyHitsNeedsSync() const { return false; }

  // Makes every write that returned before this call began durable. May run
  // concurrently with writes. A no-op for stores whose writes are durable
  // when they return. On failure, those writes may or may not be durable.
  virtual Status Sync() = 0;

  // Reads one counter; today_* for `day`. NotFound if it was never hit or set.
  virtual Result<CounterTotals> ReadCounter(std::string_view site, std::string_view key,
                                            std::string_view day) = 0;

  // What ReadCounter would answer, if the store holds it in memory: numbers
  // ReadCounter could have returned at some moment shortly before the call
  // (how shortly is the backend's; SqliteStore: kPeekFreshFor at most).
  // nullopt if not held (then call ReadCounter). Unlike every other method
  // it does no I/O and waits for nothing but a short lock: network threads
  // may call it. The default holds nothing.
  virtual std::optional<CounterTotals> PeekCounter(std::string_view /*site*/,
                                                   std::string_view /*key*/,
                                                   std::string_view /*day*/) {
    return std::nullopt;
  }

  // Sets a counter's total hits (creating it if needed), leaving visitors and
  // day rows alone.
  virtual Status SetCounter(std::string_view site, std::string_view key, int64_t hits) = 0;

  // Deletes a counter and its day rows. NotFound if it does not exist.
  virtual Status DeleteCounter(std::string_view site, std::string_view key) = 0;

  // Lists up to `limit` counters of `site` with keys greater than `after_key`
  // (byte order), ascending.
  virtual Result<std::vector<CounterRow>> ListCounters(std::string_view site,
                                                       std::string_view after_key, int limit) = 0;

  // Sites. CreateSite fails with AlreadyExists; UpdateSite and DeleteSite
  // with NotFound. DeleteSite removes the site's counters too.
  virtual Result<SiteRecord> GetSite(std::string_view name) = 0;
  virtual Status CreateSite(const SiteRecord& site) = 0;
  virtual Status UpdateSite(const SiteRecord& site) = 0;
  virtual Status DeleteSite(std::string_view name) = 0;
  virtual Result<std::vector<SiteRecord>> ListSites() = 0;

  // Day rows from `from_day` to `to_day` (inclusive, YYYY-MM-DD), ascending,
  // of one counter, or with `key` empty-optional of all the site's counters
  // summed per day. Days without hits are absent (the api fills them in).
  virtual Result<std::vector<DayRow>> ReadSeries(std::string_view site,
                                                 std::optional<std::string_view> key,
                                                 std::string_view from_day,
                                                 std::string_view to_day) = 0;

  // The secret salt of `day` for visitor hashing. If the store has none for
  // that day it keeps `candidate`; either way it returns the one it keeps, so
  // every process sharing the store hashes alike. A `day` that is no date
  // (e.g. "countapi-admin-secret") names a secret kept until the store is
  // deleted: ForgetVisitorsBefore only destroys days.
  virtual Result<std::string> DailySalt(std::string_view day, std::string_view candidate) = 0;

  // Destroys the salts and visitor seen-markers of all days before `day`:
  // after that, nobody can tell whether a visitor of those days came back.
  virtual Status ForgetVisitorsBefore(std::string_view day) = 0;

  // Calls `emit` for every counter of `site` (totals, then its day rows in
  // day order), counters in key order; stops early, with OK, if `emit`
  // returns false.
  virtual Status ExportSite(std::string_view site,
                            const std::function<bool(const ExportRow&)>& emit) = 0;

  // Writes `rows` into `site`, replacing (not adding to) the totals and day
  // rows they name, atomically per call where the backend can.
  virtual Status ImportRows(std::string_view site, std::span<const ExportRow> rows) = 0;

  // Cheap check that the store answers (for /readyz).
  virtual Status Ping() = 0;
};

}  // namespace tally

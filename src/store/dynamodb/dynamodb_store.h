// DynamoDbStore: the Store on one DynamoDB table (layout: dynamodb_layout.h),
// shared by any number of `tally serve` processes and the Lambda.
//
// Durability is kStrict: DynamoDB acknowledges a write once it is stored
// durably (replicated across availability zones); Sync() is a no-op.
//
// Where it differs from store.h's promises (see docs/scale-out.md):
// - ApplyHits is not atomic across counters (see dynamodb_hit_writer.h):
//   after a failure some counters may have been written; none of the
//   batch's hits is acknowledged, none is counted twice.
// - ListCounters, ListSites, DeleteSite and the site-wide ReadSeries go
//   through a global secondary index, which DynamoDB updates eventually: a
//   counter created a moment ago may be missing for a moment.
// - ForgetVisitorsBefore deletes the salts of those days at once; the
//   visitor markers expire through DynamoDB TTL, which deletes lazily
//   (usually within a few days). Without the salt they no longer tell
//   whether a given person came back.
// - ImportRows writes rows in batches of 25, not in one transaction.
//
// Thread safety: every method may be called from any thread, concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "aws/aws_config.h"
#include "store/dynamodb/dynamodb_client.h"
#include "store/dynamodb/dynamodb_hit_writer.h"
#include "store/store.h"

namespace tally {

class DynamoDbStore : public Store {
 public:
  // Opens the store on `table` and checks that the table exists (a
  // DescribeTable). Unavailable if DynamoDB cannot be reached or the table
  // does not exist (the message says how to create it).
  static Result<std::unique_ptr<DynamoDbStore>> Open(std::string table, AwsConfig config,
                                                     DynamoDbClientOptions options = {});

  // Store. Unreachable DynamoDB (after retries until the client's deadline)
  // is Unavailable; nothing here throws.
  Status ApplyHits(std::span<const HitDelta> deltas, std::span<CounterTotals> totals) override;
  Durability durability() const override { return Durability::kStrict; }
  Status Sync() override { return Status::Ok(); }
  Result<CounterTotals> ReadCounter(std::string_view site, std::string_view key,
                                    std::string_view day) override;
  Status SetCounter(std::string_view site, std::string_view key, int64_t hits) override;
  Status DeleteCounter(std::string_view site, std::string_view key) override;
  Result<std::vector<CounterRow>> ListCounters(std::string_view site, std::string_view after_key,
                                               int limit) override;
  Result<SiteRecord> GetSite(std::string_view name) override;
  Status CreateSite(const SiteRecord& site) override;
  // Replaces every setting except created_at.
  Status UpdateSite(const SiteRecord& site) override;
  Status DeleteSite(std::string_view name) override;
  Result<std::vector<SiteRecord>> ListSites() override;
  Result<std::vector<DayRow>> ReadSeries(std::string_view site, std::optional<std::string_view> key,
                                         std::string_view from_day,
                                         std::string_view to_day) override;
  Result<std::string> DailySalt(std::string_view day, std::string_view candidate) override;
  Status ForgetVisitorsBefore(std::string_view day) override;
  Status ExportSite(std::string_view site,
                    const std::function<bool(const ExportRow&)>& emit) override;
  Status ImportRows(std::string_view site, std::span<const ExportRow> rows) override;
  Status Ping() override;

  const std::string& table() const { return table_; }
  DynamoDbClient& client() { return *client_; }
  DynamoDbHitWriter& hit_writer() { return hit_writer_; }

 private:
  DynamoDbStore(std::string table, std::unique_ptr<DynamoDbClient> client);

  // Every item a Query returns, page after page (at most `max_items`).
  Result<std::vector<nlohmann::json>> QueryAll(nlohmann::json query, size_t max_items);
  // Up to `limit` keys of `site`'s counters after `after_key`, in order.
  Result<std::vector<std::string>> ListCounterKeys(std::string_view site,
                                                   std::string_view after_key, size_t limit);
  // BatchWriteItem for any number of Put/DeleteRequests, 25 per request,
  // in parallel, re-sending unprocessed ones until the deadline.
  Status BatchWrite(std::vector<nlohmann::json> write_requests);
  // Deletes every item under `pk`; NotFound if there was none.
  Status DeletePartition(const std::string& pk);
  // GetItem of many keys (consistent reads), in parallel; missing items are
  // null.
  Result<std::vector<nlohmann::json>> GetItems(const std::vector<nlohmann::json>& keys);

  const std::string table_;
  std::unique_ptr<DynamoDbClient> client_;
  DynamoDbHitWriter hit_writer_;
};

}  // namespace tally

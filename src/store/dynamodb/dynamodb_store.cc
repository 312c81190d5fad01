#include "store/dynamodb/dynamodb_store.h"

#include <algorithm>
#include <random>
#include <thread>

#include "store/dynamodb/dynamodb_json.h"
#include "store/dynamodb/dynamodb_layout.h"
#include "store/no_throw.h"

namespace tally {

using dynamodb::GetN;
using dynamodb::GetS;
using dynamodb::ItemKey;
using dynamodb::N;
using dynamodb::S;

namespace {

SiteRecord SiteFromItem(const nlohmann::json& item) {
  SiteRecord site;
  site.name = GetS(item, "name");
  if (auto it = item.find("origins"); it != item.end() && it->contains("L")) {
    for (const nlohmann::json& origin : (*it)["L"]) {
      if (origin.contains("S")) site.origins.push_back(origin["S"].get<std::string>());
    }
  }
  if (auto it = item.find("require_public_key"); it != item.end() && it->contains("BOOL")) {
    site.require_public_key = (*it)["BOOL"].get<bool>();
  }
  site.public_key_hash = GetS(item, "public_key_hash");
  site.admin_token_hash = GetS(item, "admin_token_hash");
  site.timezone = GetS(item, "timezone");
  if (site.timezone.empty()) site.timezone = "UTC";
  site.created_at = GetN(item, "created_at");
  site.rate_limit_per_minute = static_cast<int32_t>(GetN(item, "rate_limit_per_minute"));
  if (auto it = item.find("rate_limit_ignore"); it != item.end() && it->contains("BOOL")) {
    site.rate_limit_ignore = (*it)["BOOL"].get<bool>();
  }
  return site;
}

// The settings of `site` as DynamoDB attributes, for an
// UpdateExpression or an item.
nlohmann::json SiteSettings(const SiteRecord& site) {
  nlohmann::json origins = nlohmann::json::array();
  for (const std::string& origin : site.origins) origins.push_back(S(origin));
  nlohmann::json settings = {
      {"origins", {{"L", origins}}},
      {"require_public_key", {{"BOOL", site.require_public_key}}},
      {"public_key_hash", S(site.public_key_hash)},
      {"admin_token_hash", S(site.admin_token_hash)},
      {"timezone", S(site.timezone)},
      {"rate_limit_per_minute", N(site.rate_limit_per_minute)},
      {"rate_limit_ignore", {{"BOOL", site.rate_limit_ignore}}},
  };
  return settings;
}

bool ValidUtf8Json(const nlohmann::json& j) {
  try {
    (void)j.dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

std::string RandomToken() {
  std::random_device rd;
  return std::to_string(rd()) + "-" + std::to_string(rd());
}

}  // namespace

Result<std::unique_ptr<DynamoDbStore>> DynamoDbStore::Open(std::string table, AwsConfig config,
                                                           DynamoDbClientOptions options) {
  return NoThrow("open dynamodb store", [&]() -> Result<std::unique_ptr<DynamoDbStore>> {
    if (table.size() < 3 || table.size() > 255) {
      return Status::InvalidArgument("dynamodb store: table name '" + table +
                                     "' must be 3 to 255 characters");
    }
    Result<std::unique_ptr<DynamoDbClient>> client =
        DynamoDbClient::Create(std::move(config), options);
    if (!client.ok()) return client.status();
    std::unique_ptr<DynamoDbStore> store(new DynamoDbStore(table, std::move(*client)));
    DynamoResult described = store->client().Call("DescribeTable", {{"TableName", table}});
    if (described.error_type == "ResourceNotFoundException") {
      return Status::Unavailable("dynamodb store: table '" + table + "' does not exist at " +
                                 store->client().config().endpoint +
                                 "; create it with `tally dynamodb create-table " + table + "`");
    }
    if (!described.ok()) {
      return Status::Unavailable("dynamodb store: " + described.status.message());
    }
    return store;
  });
}

DynamoDbStore::DynamoDbStore(std::string table, std::unique_ptr<DynamoDbClient> client)
    : table_(std::move(table)), client_(std::move(client)), hit_writer_(*client_, table_) {}

Status DynamoDbStore::ApplyHits(std::span<const HitDelta> deltas, std::span<CounterTotals> totals) {
  return NoThrow("ApplyHits", [&] { return hit_writer_.ApplyHits(deltas, totals); });
}

Result<std::vector<nlohmann::json>> DynamoDbStore::GetItems(
    const std::vector<nlohmann::json>& keys) {
  std::vector<DynamoRequest> requests;
  requests.reserve(keys.size());
  for (const nlohmann::json& key : keys) {
    nlohmann::json body = {{"TableName", table_}, {"Key", key}, {"ConsistentRead", true}};
    requests.push_back({"GetItem", body.dump()});
  }
  std::vector<DynamoResult> results(requests.size());
  client_->CallAll(requests, results);
  std::vector<nlohmann::json> items;
  items.reserve(results.size());
  for (DynamoResult& r : results) {
    if (!r.ok()) return r.status;
    auto it = r.body.find("Item");
    items.push_back(it != r.body.end() ? std::move(*it) : nlohmann::json());
  }
  return items;
}

Result<CounterTotals> DynamoDbStore::ReadCounter(std::string_view site, std::string_view key,
                                                 std::string_view day) {
  return NoThrow("ReadCounter", [&]() -> Result<CounterTotals> {
    const std::string pk = dynamodb::CounterPk(site, key);
    Result<std::vector<nlohmann::json>> items =
        GetItems({ItemKey(pk, dynamodb::kTotalSk), ItemKey(pk, dynamodb::DaySk(day))});
    if (!items.ok()) return items.status();
    const nlohmann::json& total = (*items)[0];
    if (total.is_null()) return Status::NotFound("counter not found");
    const nlohmann::json& today = (*items)[1];
    return CounterTotals{GetN(total, "hits"), GetN(total, "visitors"), GetN(today, "hits"),
                         GetN(today, "visitors")};
  });
}

Status DynamoDbStore::SetCounter(std::string_view site, std::string_view key, int64_t hits) {
  if (hits < 0) return Status::InvalidArgument("SetCounter: negative hits");
  return NoThrow("SetCounter", [&]() -> Status {
    nlohmann::json body = {
        {"TableName", table_},
        {"Key", ItemKey(dynamodb::CounterPk(site, key), dynamodb::kTotalSk)},
        {"UpdateExpression", "SET #h = :h, #v = if_not_exists(#v, :zero), #ls = :site, #lk = :key"},
        {"ExpressionAttributeNames",
         {{"#h", "hits"}, {"#v", "visitors"}, {"#ls", "ls"}, {"#lk", "lk"}}},
        {"ExpressionAttributeValues",
         {{":h", N(hits)}, {":zero", N(0)}, {":site", S(site)}, {":key", S(key)}}},
    };
    return client_->Call("UpdateItem", body).status;
  });
}

Result<std::vector<nlohmann::json>> DynamoDbStore::QueryAll(nlohmann::json query,
                                                            size_t max_items) {
  query["TableName"] = table_;
  std::vector<nlohmann::json> items;
  for (;;) {
    if (max_items != SIZE_MAX) {
      query["Limit"] = static_cast<int64_t>(std::min<size_t>(max_items - items.size(), 1000));
    }
    DynamoResult r = client_->Call("Query", query);
    if (!r.ok()) return r.status;
    for (nlohmann::json& item : r.body.value("Items", nlohmann::json::array())) {
      items.push_back(std::move(item));
    }
    auto last = r.body.find("LastEvaluatedKey");
    if (last == r.body.end() || items.size() >= max_items) break;
    query["ExclusiveStartKey"] = *last;
  }
  return items;
}

Status DynamoDbStore::BatchWrite(std::vector<nlohmann::json> pending) {
  const auto deadline = std::chrono::steady_clock::now() + client_->options().deadline;
  std::mt19937_64 rng(std::random_device{}());
  for (int round = 1; !pending.empty(); ++round) {
    std::vector<DynamoRequest> requests;
    for (size_t i = 0; i < pending.size(); i += 25) {
      nlohmann::json chunk = nlohmann::json::array();
      for (size_t j = i; j < std::min(pending.size(), i + 25); ++j) chunk.push_back(pending[j]);
      nlohmann::json body = {{"RequestItems", {{table_, chunk}}}};
      requests.push_back({"BatchWriteItem", body.dump()});
    }
    std::vector<DynamoResult> results(requests.size());
    client_->CallAllUntil(requests, results, deadline);
    pending.clear();
    for (DynamoResult& r : results) {
      if (!r.ok()) return r.status;
      auto unprocessed = r.body.find("UnprocessedItems");
      if (unprocessed == r.body.end() || !unprocessed->contains(table_)) continue;
      for (nlohmann::json& w : (*unprocessed)[table_]) pending.push_back(std::move(w));
    }
    if (pending.empty()) break;
    // Unprocessed items mean throttling: back off as for any retry.
    const auto wait = client_->options().retry.BackoffDelay(round, rng);
    if (std::chrono::steady_clock::now() + wait >= deadline) {
      return Status::Unavailable("BatchWriteItem: " + std::to_string(pending.size()) +
                                 " items still unprocessed at the deadline");
    }
    std::this_thread::sleep_for(wait);
  }
  return Status::Ok();
}

Status DynamoDbStore::DeletePartition(const std::string& pk) {
  nlohmann::json query = {
      {"KeyConditionExpression", "#pk = :pk"},
      {"ExpressionAttributeNames", {{"#pk", "pk"}, {"#sk", "sk"}}},
      {"ExpressionAttributeValues", {{":pk", S(pk)}}},
      {"ProjectionExpression", "#pk, #sk"},
      {"ConsistentRead", true},
  };
  Result<std::vector<nlohmann::json>> items = QueryAll(std::move(query), SIZE_MAX);
  if (!items.ok()) return items.status();
  if (items->empty()) return Status::NotFound("counter not found");
  std::vector<nlohmann::json> deletes;
  for (const nlohmann::json& item : *items) {
    deletes.push_back({{"DeleteRequest", {{"Key", item}}}});
  }
  return BatchWrite(std::move(deletes));
}

Status DynamoDbStore::DeleteCounter(std::string_view site, std::string_view key) {
  return NoThrow("DeleteCounter",
                 [&]() -> Status { return DeletePartition(dynamodb::CounterPk(site, key)); });
}

Result<std::vector<std::string>> DynamoDbStore::ListCounterKeys(std::string_view site,
                                                                std::string_view after_key,
                                                                size_t limit) {
  nlohmann::json query = {
      {"IndexName", dynamodb::kListIndex},
      {"ExpressionAttributeNames", {{"#ls", "ls"}}},
      {"ExpressionAttributeValues", {{":site", S(site)}}},
  };
  // An empty string is not allowed as a key value: no range condition then.
  if (after_key.empty()) {
    query["KeyConditionExpression"] = "#ls = :site";
  } else {
    query["KeyConditionExpression"] = "#ls = :site AND #lk > :after";
    query["ExpressionAttributeNames"]["#lk"] = "lk";
    query["ExpressionAttributeValues"][":after"] = S(after_key);
  }
  Result<std::vector<nlohmann::json>> items = QueryAll(std::move(query), limit);
  if (!items.ok()) return items.status();
  std::vector<std::string> keys;
  for (const nlohmann::json& item : *items) keys.push_back(GetS(item, "lk"));
  return keys;
}

Result<std::vector<CounterRow>> DynamoDbStore::ListCounters(std::string_view site,
                                                            std::string_view after_key, int limit) {
  if (limit < 0) return Status::InvalidArgument("ListCounters: negative limit");
  return NoThrow("ListCounters", [&]() -> Result<std::vector<CounterRow>> {
    std::vector<CounterRow> rows;
    std::string after(after_key);
    // The index is keys only (so that counting does not rewrite it): read
    // the numbers from the items; skip keys deleted since the index saw them.
    while (rows.size() < static_cast<size_t>(limit)) {
      Result<std::vector<std::string>> keys = ListCounterKeys(site, after, limit - rows.size());
      if (!keys.ok()) return keys.status();
      if (keys->empty()) break;
      std::vector<nlohmann::json> item_keys;
      for (const std::string& key : *keys) {
        item_keys.push_back(ItemKey(dynamodb::CounterPk(site, key), dynamodb::kTotalSk));
      }
      Result<std::vector<nlohmann::json>> items = GetItems(item_keys);
      if (!items.ok()) return items.status();
      for (size_t i = 0; i < keys->size(); ++i) {
        const nlohmann::json& item = (*items)[i];
        if (item.is_null()) continue;
        rows.push_back(CounterRow{(*keys)[i], GetN(item, "hits"), GetN(item, "visitors")});
      }
      after = keys->back();
    }
    return rows;
  });
}

Result<SiteRecord> DynamoDbStore::GetSite(std::string_view name) {
  return NoThrow("GetSite", [&]() -> Result<SiteRecord> {
    Result<std::vector<nlohmann::json>> items =
        GetItems({ItemKey(dynamodb::SitePk(name), dynamodb::kSiteSk)});
    if (!items.ok()) return items.status();
    if ((*items)[0].is_null())
      return Status::NotFound("site '" + std::string(name) + "' not found");
    return SiteFromItem((*items)[0]);
  });
}

Status DynamoDbStore::CreateSite(const SiteRecord& site) {
  return NoThrow("CreateSite", [&]() -> Status {
    nlohmann::json item = SiteSettings(site);
    if (!ValidUtf8Json(item)) return Status::InvalidArgument("site origins: invalid UTF-8");
    // The token makes a retried create (its first answer lost) succeed
    // instead of reporting that the site exists.
    const std::string token = RandomToken();
    item["pk"] = S(dynamodb::SitePk(site.name));
    item["sk"] = S(dynamodb::kSiteSk);
    item["ls"] = S(dynamodb::kSitesPartition);
    item["lk"] = S(site.name);
    item["name"] = S(site.name);
    item["created_at"] = N(site.created_at);
    item["ctok"] = S(token);
    nlohmann::json body = {
        {"TableName", table_},
        {"Item", item},
        {"ConditionExpression", "attribute_not_exists(#pk) OR #ctok = :ctok"},
        {"ExpressionAttributeNames", {{"#pk", "pk"}, {"#ctok", "ctok"}}},
        {"ExpressionAttributeValues", {{":ctok", S(token)}}},
    };
    DynamoResult r = client_->Call("PutItem", body);
    if (r.condition_failed()) {
      return Status::AlreadyExists("site '" + site.name + "' already exists");
    }
    return r.status;
  });
}

Status DynamoDbStore::UpdateSite(const SiteRecord& site) {
  return NoThrow("UpdateSite", [&]() -> Status {
    nlohmann::json settings = SiteSettings(site);
    if (!ValidUtf8Json(settings)) return Status::InvalidArgument("site origins: invalid UTF-8");
    std::string update = "SET ";
    nlohmann::json names = {{"#pk", "pk"}};
    nlohmann::json values = nlohmann::json::object();
    int i = 0;
    for (auto it = settings.begin(); it != settings.end(); ++it, ++i) {
      const std::string n = "#a" + std::to_string(i), v = ":a" + std::to_string(i);
      update.append(i == 0 ? "" : ", ").append(n).append(" = ").append(v);
      names[n] = it.key();
      values[v] = it.value();
    }
    nlohmann::json body = {
        {"TableName", table_},
        {"Key", ItemKey(dynamodb::SitePk(site.name), dynamodb::kSiteSk)},
        {"UpdateExpression", update},
        {"ConditionExpression", "attribute_exists(#pk)"},
        {"ExpressionAttributeNames", names},
        {"ExpressionAttributeValues", values},
    };
    DynamoResult r = client_->Call("UpdateItem", body);
    if (r.condition_failed()) return Status::NotFound("site '" + site.name + "' not found");
    return r.status;
  });
}

Status DynamoDbStore::DeleteSite(std::string_view name) {
  return NoThrow("DeleteSite", [&]() -> Status {
    Result<SiteRecord> site = GetSite(name);
    if (!site.ok()) return site.status();
    // Counters first, the site last: if this fails half way, the site is
    // still there and deleting it again finishes the job.
    for (;;) {
      Result<std::vector<std::string>> keys = ListCounterKeys(name, "", 100);
      if (!keys.ok()) return keys.status();
      if (keys->empty()) break;
      for (const std::string& key : *keys) {
        Status s = DeletePartition(dynamodb::CounterPk(name, key));
        if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
      }
      if (keys->size() < 100) break;
    }
    nlohmann::json body = {{"TableName", table_},
                           {"Key", ItemKey(dynamodb::SitePk(name), dynamodb::kSiteSk)}};
    return client_->Call("DeleteItem", body).status;
  });
}

Result<std::vector<SiteRecord>> DynamoDbStore::ListSites() {
  return NoThrow("ListSites", [&]() -> Result<std::vector<SiteRecord>> {
    nlohmann::json query = {
        {"IndexName", dynamodb::kListIndex},
        {"KeyConditionExpression", "#ls = :sites"},
        {"ExpressionAttributeNames", {{"#ls", "ls"}}},
        {"ExpressionAttributeValues", {{":sites", S(dynamodb::kSitesPartition)}}},
    };
    Result<std::vector<nlohmann::json>> entries = QueryAll(std::move(query), SIZE_MAX);
    if (!entries.ok()) return entries.status();
    std::vector<nlohmann::json> keys;
    for (const nlohmann::json& e : *entries) {
      keys.push_back(ItemKey(GetS(e, "pk"), dynamodb::kSiteSk));
    }
    Result<std::vector<nlohmann::json>> items = GetItems(keys);
    if (!items.ok()) return items.status();
    std::vector<SiteRecord> sites;
    for (const nlohmann::json& item : *items) {
      if (!item.is_null()) sites.push_back(SiteFromItem(item));
    }
    std::sort(sites.begin(), sites.end(),
              [](const SiteRecord& a, const SiteRecord& b) { return a.name < b.name; });
    return sites;
  });
}

Status DynamoDbStore::Ping() {
  return NoThrow("Ping", [&]() -> Status {
    nlohmann::json body = {{"TableName", table_}, {"Key", ItemKey("ping", "ping")}};
    return client_->Call("GetItem", body).status;
  });
}

}  // namespace tally

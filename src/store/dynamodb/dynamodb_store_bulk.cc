// DynamoDbStore: the operations over many items — series, salts, export and
// import. (Single-item operations are in dynamodb_store.cc.)
#include <map>

#include "common/local_day.h"
#include "store/dynamodb/dynamodb_json.h"
#include "store/dynamodb/dynamodb_layout.h"
#include "store/dynamodb/dynamodb_store.h"
#include "store/no_throw.h"

namespace tally {

using dynamodb::GetN;
using dynamodb::GetS;
using dynamodb::ItemKey;
using dynamodb::N;
using dynamodb::S;

namespace {

// Salts are deleted explicitly this many days back from the day given to
// ForgetVisitorsBefore (it runs daily, so this covers long outages); TTL
// removes any older one.
constexpr int kSaltDaysToDelete = 370;
// A salt's TTL: long enough to hash all of its day's hits in every zone.
constexpr int64_t kSaltTtlSeconds = int64_t{3} * 86400;
// Counters whose items are read in parallel during an export or series.
constexpr size_t kCountersPerRound = 32;

// Query of one counter's day items between two days (inclusive), or all of
// its items if `from_day` is empty.
nlohmann::json CounterItemsQuery(const std::string& pk, std::string_view from_day,
                                 std::string_view to_day) {
  nlohmann::json q = {
      {"ExpressionAttributeNames", {{"#pk", "pk"}}},
      {"ExpressionAttributeValues", {{":pk", S(pk)}}},
      {"ConsistentRead", true},
  };
  if (from_day.empty()) {
    q["KeyConditionExpression"] = "#pk = :pk";
  } else {
    q["KeyConditionExpression"] = "#pk = :pk AND #sk BETWEEN :from AND :to";
    q["ExpressionAttributeNames"]["#sk"] = "sk";
    q["ExpressionAttributeValues"][":from"] = S(dynamodb::DaySk(from_day));
    q["ExpressionAttributeValues"][":to"] = S(dynamodb::DaySk(to_day));
  }
  return q;
}

}  // namespace

Result<std::vector<DayRow>> DynamoDbStore::ReadSeries(std::string_view site,
                                                      std::optional<std::string_view> key,
                                                      std::string_view from_day,
                                                      std::string_view to_day) {
  if (dynamodb::DayStartUnixSeconds(from_day) < 0 || dynamodb::DayStartUnixSeconds(to_day) < 0) {
    return Status::InvalidArgument("ReadSeries: days must be YYYY-MM-DD");
  }
  return NoThrow("ReadSeries", [&]() -> Result<std::vector<DayRow>> {
    std::map<std::string, DayRow> by_day;
    if (from_day > to_day) return std::vector<DayRow>{};
    std::vector<std::string> keys;
    if (key.has_value()) {
      keys.emplace_back(*key);
    } else {
      Result<std::vector<std::string>> all = ListCounterKeys(site, "", SIZE_MAX);
      if (!all.ok()) return all.status();
      keys = std::move(*all);
    }
    for (const std::string& k : keys) {
      Result<std::vector<nlohmann::json>> items =
          QueryAll(CounterItemsQuery(dynamodb::CounterPk(site, k), from_day, to_day), SIZE_MAX);
      if (!items.ok()) return items.status();
      for (const nlohmann::json& item : *items) {
        std::string day = GetS(item, "sk").substr(dynamodb::kDaySkPrefix.size());
        DayRow& row = by_day[day];
        row.day = day;
        row.hits += GetN(item, "hits");
        row.visitors += GetN(item, "visitors");
      }
    }
    std::vector<DayRow> rows;
    rows.reserve(by_day.size());
    for (auto& [day, row] : by_day) rows.push_back(std::move(row));
    return rows;
  });
}

Result<std::string> DynamoDbStore::DailySalt(std::string_view day, std::string_view candidate) {
  if (day.empty() || day.size() > 64) return Status::InvalidArgument("DailySalt: bad name");
  // A day's salt expires with the day; a secret under another name (see
  // store.h) is kept.
  const int64_t start = dynamodb::DayStartUnixSeconds(day);
  return NoThrow("DailySalt", [&]() -> Result<std::string> {
    // First writer wins; everyone then reads the winner.
    nlohmann::json salt_item = {
        {"pk", S(dynamodb::SaltPk(day))}, {"sk", S(dynamodb::kSaltSk)}, {"salt", S(candidate)}};
    if (start >= 0) salt_item["ttl"] = N(start + kSaltTtlSeconds);
    nlohmann::json put = {
        {"TableName", table_},
        {"Item", std::move(salt_item)},
        {"ConditionExpression", "attribute_not_exists(#pk)"},
        {"ExpressionAttributeNames", {{"#pk", "pk"}}},
    };
    DynamoResult r = client_->Call("PutItem", put);
    if (!r.ok() && !r.condition_failed()) return r.status;
    Result<std::vector<nlohmann::json>> item =
        GetItems({ItemKey(dynamodb::SaltPk(day), dynamodb::kSaltSk)});
    if (!item.ok()) return item.status();
    if ((*item)[0].is_null()) return Status::Unavailable("DailySalt: salt vanished; retry");
    return GetS((*item)[0], "salt");
  });
}

Status DynamoDbStore::ForgetVisitorsBefore(std::string_view day) {
  if (dynamodb::DayStartUnixSeconds(day) < 0) {
    return Status::InvalidArgument("ForgetVisitorsBefore: day must be YYYY-MM-DD");
  }
  return NoThrow("ForgetVisitorsBefore", [&]() -> Status {
    // Markers carry a TTL and go on their own; the salts go now, which is
    // what makes the markers meaningless.
    std::vector<nlohmann::json> deletes;
    for (int back = 1; back <= kSaltDaysToDelete; ++back) {
      deletes.push_back(
          {{"DeleteRequest",
            {{"Key", ItemKey(dynamodb::SaltPk(AddDays(day, -back)), dynamodb::kSaltSk)}}}});
    }
    return BatchWrite(std::move(deletes));
  });
}

Status DynamoDbStore::ExportSite(std::string_view site,
                                 const std::function<bool(const ExportRow&)>& emit) {
  return NoThrow("ExportSite", [&]() -> Status {
    std::string after;
    for (;;) {
      Result<std::vector<std::string>> keys = ListCounterKeys(site, after, kCountersPerRound);
      if (!keys.ok()) return keys.status();
      if (keys->empty()) return Status::Ok();
      for (const std::string& key : *keys) {
        Result<std::vector<nlohmann::json>> items =
            QueryAll(CounterItemsQuery(dynamodb::CounterPk(site, key), "", ""), SIZE_MAX);
        if (!items.ok()) return items.status();
        // Items come in sk order: "d#..." days, then "total".
        const nlohmann::json* total = nullptr;
        for (const nlohmann::json& item : *items) {
          if (GetS(item, "sk") == dynamodb::kTotalSk) total = &item;
        }
        if (total == nullptr) continue;  // deleted since the index listed it
        if (!emit(ExportRow{key, "", GetN(*total, "hits"), GetN(*total, "visitors")})) {
          return Status::Ok();
        }
        for (const nlohmann::json& item : *items) {
          const std::string sk = GetS(item, "sk");
          if (!sk.starts_with(dynamodb::kDaySkPrefix)) continue;
          ExportRow row{key, sk.substr(dynamodb::kDaySkPrefix.size()), GetN(item, "hits"),
                        GetN(item, "visitors")};
          if (!emit(row)) return Status::Ok();
        }
      }
      after = keys->back();
    }
  });
}

Status DynamoDbStore::ImportRows(std::string_view site, std::span<const ExportRow> rows) {
  for (const ExportRow& row : rows) {
    if (row.key.empty()) return Status::InvalidArgument("ImportRows: empty key");
    if (row.hits < 0 || row.visitors < 0) return Status::InvalidArgument("ImportRows: negative");
    if (!row.day.empty() && dynamodb::DayStartUnixSeconds(row.day) < 0) {
      return Status::InvalidArgument("ImportRows: bad day '" + row.day + "'");
    }
  }
  return NoThrow("ImportRows", [&]() -> Status {
    // One request may not name an item twice: the last row for it wins.
    std::map<std::pair<std::string, std::string>, nlohmann::json> puts;
    for (const ExportRow& row : rows) {
      const std::string pk = dynamodb::CounterPk(site, row.key);
      const std::string sk =
          row.day.empty() ? std::string(dynamodb::kTotalSk) : dynamodb::DaySk(row.day);
      nlohmann::json item = {
          {"pk", S(pk)}, {"sk", S(sk)}, {"hits", N(row.hits)}, {"visitors", N(row.visitors)}};
      if (row.day.empty()) {
        item["ls"] = S(site);
        item["lk"] = S(row.key);
      }
      puts[{pk, sk}] = {{"PutRequest", {{"Item", std::move(item)}}}};
    }
    // A day row needs its counter's total item to be listed and exported.
    for (const ExportRow& row : rows) {
      if (row.day.empty()) continue;
      const std::string pk = dynamodb::CounterPk(site, row.key);
      if (puts.contains({pk, std::string(dynamodb::kTotalSk)})) continue;
      Result<CounterTotals> existing = ReadCounter(site, row.key, row.day);
      if (existing.ok()) continue;
      if (existing.status().code() != StatusCode::kNotFound) return existing.status();
      nlohmann::json item = {{"pk", S(pk)},   {"sk", S(dynamodb::kTotalSk)},
                             {"hits", N(0)},  {"visitors", N(0)},
                             {"ls", S(site)}, {"lk", S(row.key)}};
      puts[{pk, std::string(dynamodb::kTotalSk)}] = {{"PutRequest", {{"Item", std::move(item)}}}};
    }
    std::vector<nlohmann::json> writes;
    writes.reserve(puts.size());
    for (auto& [k, w] : puts) writes.push_back(std::move(w));
    return BatchWrite(std::move(writes));
  });
}

}  // namespace tally

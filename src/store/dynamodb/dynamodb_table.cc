#include "store/dynamodb/dynamodb_table.h"

#include <thread>

#include <nlohmann/json.hpp>

#include "store/dynamodb/dynamodb_layout.h"

namespace tally {
namespace {

// True once the table and all its global secondary indexes are ACTIVE.
Result<bool> IsActive(DynamoDbClient& client, const std::string& table) {
  DynamoResult r = client.Call("DescribeTable", {{"TableName", table}});
  if (!r.ok()) return r.status;
  const nlohmann::json& t = r.body["Table"];
  if (t.value("TableStatus", "") != "ACTIVE") return false;
  for (const nlohmann::json& index : t.value("GlobalSecondaryIndexes", nlohmann::json::array())) {
    if (index.value("IndexStatus", "ACTIVE") != "ACTIVE") return false;
  }
  return true;
}

}  // namespace

Result<CreateTableReport> CreateTallyTable(DynamoDbClient& client, const std::string& table,
                                           std::chrono::seconds wait) {
  CreateTableReport report;
  const nlohmann::json create = {
      {"TableName", table},
      {"BillingMode", "PAY_PER_REQUEST"},
      {"AttributeDefinitions",
       {{{"AttributeName", "pk"}, {"AttributeType", "S"}},
        {{"AttributeName", "sk"}, {"AttributeType", "S"}},
        {{"AttributeName", "ls"}, {"AttributeType", "S"}},
        {{"AttributeName", "lk"}, {"AttributeType", "S"}}}},
      {"KeySchema",
       {{{"AttributeName", "pk"}, {"KeyType", "HASH"}},
        {{"AttributeName", "sk"}, {"KeyType", "RANGE"}}}},
      {"GlobalSecondaryIndexes",
       {{{"IndexName", dynamodb::kListIndex},
         {"KeySchema",
          {{{"AttributeName", "ls"}, {"KeyType", "HASH"}},
           {{"AttributeName", "lk"}, {"KeyType", "RANGE"}}}},
         // Keys only: counting changes no indexed attribute, so a hit
         // costs no index write.
         {"Projection", {{"ProjectionType", "KEYS_ONLY"}}}}}},
  };
  DynamoResult created = client.Call("CreateTable", create);
  if (created.ok()) {
    report.created = true;
  } else if (created.error_type != "ResourceInUseException") {
    return created.status;
  }

  const auto until = std::chrono::steady_clock::now() + wait;
  for (;;) {
    Result<bool> active = IsActive(client, table);
    if (!active.ok() && active.status().code() != StatusCode::kUnavailable) return active.status();
    if (active.ok() && *active) break;
    if (std::chrono::steady_clock::now() >= until) {
      return Status::Unavailable("table '" + table + "' is not ACTIVE after " +
                                 std::to_string(wait.count()) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }

  const nlohmann::json ttl = {
      {"TableName", table},
      {"TimeToLiveSpecification", {{"Enabled", true}, {"AttributeName", "ttl"}}},
  };
  DynamoResult r = client.Call("UpdateTimeToLive", ttl);
  if (r.ok() || (r.error_type == "ValidationException" &&
                 r.status.message().find("already enabled") != std::string::npos)) {
    report.ttl_enabled = true;
  } else if (r.error_type == "UnknownOperationException" ||
             r.status.message().find("UnknownOperation") != std::string::npos) {
    report.note =
        "this endpoint does not support TTL (dynalite?): visitor markers and salts "
        "will not expire by themselves";
  } else {
    return r.status;
  }
  return report;
}

}  // namespace tally

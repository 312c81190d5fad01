#include "store/store_factory.h"

#include <exception>
#include <filesystem>
#include <string>
#include <system_error>

#include "aws/aws_config.h"
#include "store/dynamodb/dynamodb_store.h"
#include "store/sqlite/sqlite_store.h"

namespace tally {
namespace {

constexpr std::string_view kSupported =
    "supported: sqlite:PATH, dynamodb:TABLE (postgres:URL is not built in this version)";

Result<std::unique_ptr<Store>> OpenSqlite(std::string_view path_text, Durability durability) {
  if (path_text.empty()) {
    return Status::InvalidArgument("--store sqlite: needs a file path, e.g. sqlite:data/tally.db");
  }
  std::filesystem::path path(path_text);
  // First run: `--store sqlite:data/tally.db` should just work.
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return Status::Unavailable("cannot create directory '" + path.parent_path().string() +
                                 "' for the sqlite store: " + ec.message());
    }
  }
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path.string(), durability);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

// DynamoDB acknowledges only durable writes: `durability` has no effect.
Result<std::unique_ptr<Store>> OpenDynamoDb(std::string_view table) {
  if (table.empty()) {
    return Status::InvalidArgument("--store dynamodb: needs a table name, e.g. dynamodb:tally");
  }
  Result<AwsConfig> config = AwsConfig::FromEnvironment();
  if (!config.ok()) return config.status();
  Result<std::unique_ptr<DynamoDbStore>> store =
      DynamoDbStore::Open(std::string(table), std::move(*config));
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace

Result<std::unique_ptr<Store>> OpenStore(std::string_view spec, Durability durability) {
  try {
    const size_t colon = spec.find(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument("--store '" + std::string(spec) + "' has no scheme; " +
                                     std::string(kSupported));
    }
    const std::string_view scheme = spec.substr(0, colon);
    const std::string_view rest = spec.substr(colon + 1);
    if (scheme == "sqlite") return OpenSqlite(rest, durability);
    if (scheme == "dynamodb") return OpenDynamoDb(rest);
    if (scheme == "postgres" || scheme == "postgresql") {
      return Status::InvalidArgument("--store " + std::string(scheme) +
                                     ": is not built in this version; " + std::string(kSupported));
    }
    return Status::InvalidArgument("--store '" + std::string(spec) + "': unknown scheme '" +
                                   std::string(scheme) + "'; " + std::string(kSupported));
  } catch (const std::exception& e) {
    // std::filesystem and std::string may throw; nothing crosses the boundary.
    return Status::Internal(std::string("OpenStore: ") + e.what());
  }
}

}  // namespace tally

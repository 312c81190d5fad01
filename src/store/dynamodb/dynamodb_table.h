// Creating the Tally table: what `tally dynamodb create-table TABLE` does,
// and what tests do against dynalite.
//
// Thread safety: free functions; they only use the (thread-safe) client.
#pragma once

#include <chrono>
#include <string>

#include "common/status.h"
#include "store/dynamodb/dynamodb_client.h"

namespace tally {

struct CreateTableReport {
  bool created = false;      // false: it existed already (and is active)
  bool ttl_enabled = false;  // false: the endpoint does not support TTL (dynalite)
  std::string note;          // a line for the operator, or ""
};

// Creates `table` in the layout of dynamodb_layout.h (pk/sk strings, the
// keys-only index), with on-demand billing, waits until the table and its
// index are ACTIVE (at most `wait`), and turns on TTL on attribute `ttl`.
// A table of that name that exists already is accepted as it is (the call
// is idempotent). Unavailable if DynamoDB cannot be reached or the table
// does not become active in time.
Result<CreateTableReport> CreateTallyTable(DynamoDbClient& client, const std::string& table,
                                           std::chrono::seconds wait = std::chrono::seconds(120));

}  // namespace tally

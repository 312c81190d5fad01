// OpenStore: picks and opens a storage backend from a --store spec, so that
// the backend is chosen by configuration, never by recompiling.
//
// Thread safety: OpenStore may be called from any thread; the returned Store
// follows store.h.
#pragma once

#include <memory>
#include <string_view>

#include "common/status.h"
#include "store/store.h"

namespace tally {

// Opens the store that `spec` names, with the given durability:
//   sqlite:PATH  a SQLite file (created if missing, with its parent
//                directories); PATH may be relative to the working directory.
//   dynamodb:TABLE  a DynamoDB table made by `tally dynamodb create-table`,
//                reached with the AWS_* environment (aws/aws_config.h);
//                always strict (DynamoDB acknowledges durable writes only).
//                InvalidArgument if credentials or region are missing,
//                Unavailable if DynamoDB or the table cannot be reached.
// `postgres:URL` is recognised but not built in this version. Returns
// InvalidArgument for a malformed spec or an unknown or unavailable backend
// (the message lists the supported ones), otherwise whatever the backend's
// Open returns.
Result<std::unique_ptr<Store>> OpenStore(std::string_view spec, Durability durability);

}  // namespace tally

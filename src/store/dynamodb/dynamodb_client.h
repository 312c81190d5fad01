// DynamoDbClient: DynamoDB's JSON protocol over HTTP(S) (aws/http_client.h),
// signed with AWS SigV4 (aws/sigv4.h).
//
// CallAll sends many requests in parallel over kept-alive connections, at
// most `max_in_flight` at once, and retries those that failed in a way worth
// retrying (connection errors, timeouts, 5xx, throttling) with exponential
// backoff and jitter until the call's deadline: every round sends what is
// left, then waits one backoff. A retried write may therefore reach DynamoDB
// more than once: callers make their writes idempotent (conditions, tokens;
// see dynamodb_hit_writer.h).
//
// Thread safety: every method may be called from any thread, concurrently
// (the HTTP client keeps one set of connections per concurrent call).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "aws/aws_config.h"
#include "aws/http_client.h"
#include "common/status.h"
#include "store/dynamodb/retry_policy.h"

namespace tally {

struct DynamoDbClientOptions {
  // Requests on the wire at once, per CallAll.
  int max_in_flight = 32;
  // One attempt's limit (connect + send + answer).
  std::chrono::milliseconds attempt_timeout{3000};
  std::chrono::milliseconds connect_timeout{1000};
  // A call, retries included, ends by then; what is not done is Unavailable.
  std::chrono::milliseconds deadline{5000};
  RetryPolicy retry;
};

// One DynamoDB API call: the operation ("UpdateItem") and its JSON body.
struct DynamoRequest {
  std::string operation;
  std::string body;
};

// nlohmann::json's destructor may allocate (it destroys nested values without
// recursion), so clang-tidy takes the implicit noexcept destructor for throwing.
struct DynamoResult {  // NOLINT(bugprone-exception-escape): json's destructor, see above
  // OK for HTTP 200. Otherwise Unavailable (DynamoDB unreachable, throttled
  // or failing until the deadline; the table missing; credentials refused)
  // or Internal (DynamoDB refused the request as malformed).
  Status status;
  // When DynamoDB answered with an error: its type without the namespace,
  // e.g. "ConditionalCheckFailedException". Empty otherwise.
  std::string error_type;
  // The parsed answer on OK (an object; may be empty).
  nlohmann::json body;
  int attempts = 0;

  bool ok() const { return status.ok(); }
  bool condition_failed() const { return error_type == "ConditionalCheckFailedException"; }
};

// Counts of what went over the wire, for benchmarks and /metrics.
struct DynamoDbClientStats {
  int64_t requests = 0;  // attempts sent, retries included
  int64_t retries = 0;
  int64_t writes = 0;  // attempts of write operations (Put/Update/Delete/BatchWrite)
};

class DynamoDbClient {
 public:
  // Makes a client for `config`; no request is sent yet.
  static Result<std::unique_ptr<DynamoDbClient>> Create(AwsConfig config,
                                                        DynamoDbClientOptions options = {});
  ~DynamoDbClient();

  DynamoDbClient(const DynamoDbClient&) = delete;
  DynamoDbClient& operator=(const DynamoDbClient&) = delete;

  // Sends every request, in parallel, and fills results[i] for requests[i]
  // (the spans must have equal sizes). Returns when all are done or the
  // deadline has passed; each result then tells its own outcome.
  void CallAll(std::span<const DynamoRequest> requests, std::span<DynamoResult> results);

  // CallAll with the caller's deadline, so several rounds of requests that
  // make up one operation share one time budget.
  void CallAllUntil(std::span<const DynamoRequest> requests, std::span<DynamoResult> results,
                    std::chrono::steady_clock::time_point deadline);

  // One request, with the same retries.
  DynamoResult Call(std::string_view operation, const nlohmann::json& body);

  const AwsConfig& config() const { return config_; }
  const DynamoDbClientOptions& options() const { return options_; }
  DynamoDbClientStats stats() const;

 private:
  DynamoDbClient(AwsConfig config, DynamoDbClientOptions options, std::unique_ptr<HttpClient> http);

  const AwsConfig config_;
  const DynamoDbClientOptions options_;
  const std::unique_ptr<HttpClient> http_;

  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> retries_{0};
  std::atomic<int64_t> writes_{0};
};

}  // namespace tally

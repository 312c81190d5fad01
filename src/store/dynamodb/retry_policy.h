// RetryPolicy: which failed DynamoDB calls are worth repeating, and how long
// to wait before the next attempt (exponential backoff with full jitter, the
// AWS recommendation: sleep = random(0, min(cap, base * 2^attempt))).
//
// Thread safety: RetryPolicy is immutable; BackoffDelay takes the random
// generator from the caller, so callers on different threads use their own.
#pragma once

#include <chrono>
#include <random>
#include <string_view>

namespace tally {

struct RetryPolicy {
  std::chrono::milliseconds base{25};
  std::chrono::milliseconds cap{1000};

  // The wait before attempt number `attempt` + 1, given that `attempt`
  // attempts (>= 1) have failed: uniformly random in [0, min(cap, base *
  // 2^(attempt-1))], never negative, never above `cap`.
  std::chrono::milliseconds BackoffDelay(int attempt, std::mt19937_64& rng) const;
};

// True for DynamoDB error types (the part of `__type` after '#') that mean
// "not done, try again later": throttling and server-side failures.
bool IsRetryableErrorType(std::string_view error_type);

// True for HTTP status codes that mean the same (5xx; DynamoDB reports
// throttling as 400 with an error type, see IsRetryableErrorType).
bool IsRetryableHttpStatus(long http_status);

}  // namespace tally

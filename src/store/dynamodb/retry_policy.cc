#include "store/dynamodb/retry_policy.h"

#include <algorithm>
#include <cstdint>

namespace tally {

std::chrono::milliseconds RetryPolicy::BackoffDelay(int attempt, std::mt19937_64& rng) const {
  const int64_t cap_ms = std::max<int64_t>(0, cap.count());
  int64_t ceiling = std::max<int64_t>(0, base.count());
  // Double (attempt - 1) times, stopping at the cap (and long before overflow).
  for (int i = 1; i < attempt && ceiling < cap_ms; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap_ms);
  std::uniform_int_distribution<int64_t> jitter(0, ceiling);
  return std::chrono::milliseconds(jitter(rng));
}

bool IsRetryableErrorType(std::string_view error_type) {
  for (std::string_view retryable :
       {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
        "InternalServerError", "InternalFailure", "ServiceUnavailable",
        "TransactionInProgressException", "LimitExceededException"}) {
    if (error_type == retryable) return true;
  }
  return false;
}

bool IsRetryableHttpStatus(long http_status) { return http_status >= 500 && http_status <= 599; }

}  // namespace tally

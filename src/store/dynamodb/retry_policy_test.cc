#include "store/dynamodb/retry_policy.h"

#include <gtest/gtest.h>

namespace tally {
namespace {

TEST(RetryPolicyTest, BackoffGrowsExponentiallyWithJitterUpToTheCap) {
  RetryPolicy policy{std::chrono::milliseconds(10), std::chrono::milliseconds(300)};
  std::mt19937_64 rng(42);
  for (int attempt = 1; attempt <= 12; ++attempt) {
    int64_t ceiling = std::min<int64_t>(300, 10LL << (attempt - 1));
    int64_t max_seen = 0;
    int64_t min_seen = 1 << 30;
    for (int i = 0; i < 2000; ++i) {
      int64_t d = policy.BackoffDelay(attempt, rng).count();
      ASSERT_GE(d, 0);
      ASSERT_LE(d, ceiling) << "attempt " << attempt;
      max_seen = std::max(max_seen, d);
      min_seen = std::min(min_seen, d);
    }
    // Full jitter: the whole range is used.
    EXPECT_GE(max_seen, ceiling * 9 / 10) << "attempt " << attempt;
    EXPECT_LE(min_seen, ceiling / 10 + 1) << "attempt " << attempt;
  }
}

TEST(RetryPolicyTest, ClassifiesErrors) {
  EXPECT_TRUE(IsRetryableErrorType("ProvisionedThroughputExceededException"));
  EXPECT_TRUE(IsRetryableErrorType("ThrottlingException"));
  EXPECT_TRUE(IsRetryableErrorType("InternalServerError"));
  EXPECT_FALSE(IsRetryableErrorType("ConditionalCheckFailedException"));
  EXPECT_FALSE(IsRetryableErrorType("ValidationException"));
  EXPECT_FALSE(IsRetryableErrorType("ResourceNotFoundException"));
  EXPECT_TRUE(IsRetryableHttpStatus(500));
  EXPECT_TRUE(IsRetryableHttpStatus(503));
  EXPECT_FALSE(IsRetryableHttpStatus(400));
  EXPECT_FALSE(IsRetryableHttpStatus(200));
}

}  // namespace
}  // namespace tally

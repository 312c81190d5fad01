#include "api/rate_limiter.h"

#include <gtest/gtest.h>

namespace tally {
namespace {

TEST(RateLimiterTest, AllowsABurstThenRefusesThenRefills) {
  RateLimiter limiter(60);
  int64_t now = 1000;
  for (int i = 0; i < 60; ++i) {
    RateDecision d = limiter.Take("s", "1.2.3.4", 0, now);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 60);
    EXPECT_EQ(d.remaining, 59 - i);
  }
  RateDecision refused = limiter.Take("s", "1.2.3.4", 0, now);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after_seconds, 1);
  EXPECT_TRUE(limiter.Take("s", "5.6.7.8", 0, now).allowed) << "other clients have own buckets";
  EXPECT_TRUE(limiter.Take("t", "1.2.3.4", 0, now).allowed) << "other sites have own buckets";
  EXPECT_TRUE(limiter.Take("s", "1.2.3.4", 0, now + 1000).allowed) << "one hit a second refills";
  EXPECT_FALSE(limiter.Take("s", "1.2.3.4", 0, now + 1000).allowed);
}

TEST(RateLimiterTest, PerSiteLimitOverridesTheDefaultAndZeroTurnsItOff) {
  RateLimiter limiter(1000);
  EXPECT_TRUE(limiter.Take("s", "c", 2, 0).allowed);
  EXPECT_TRUE(limiter.Take("s", "c", 2, 0).allowed);
  RateDecision third = limiter.Take("s", "c", 2, 0);
  EXPECT_FALSE(third.allowed);
  EXPECT_EQ(third.retry_after_seconds, 30);
  RateLimiter off(0);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(off.Take("s", "c", 0, 0).allowed);
}

}  // namespace
}  // namespace tally

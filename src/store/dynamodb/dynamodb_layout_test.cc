#include "store/dynamodb/dynamodb_layout.h"

#include <gtest/gtest.h>

namespace tally::dynamodb {
namespace {

TEST(DynamoDbLayoutTest, KeysAreTheDesignedOnes) {
  EXPECT_EQ(CounterPk("example.com", "/blog/"), "c#example.com#/blog/");
  EXPECT_EQ(DaySk("2024-03-01"), "d#2024-03-01");
  EXPECT_EQ(SitePk("example.com"), "s#example.com");
  EXPECT_EQ(VisitorPk("example.com", "2024-03-01", "abc"), "v#example.com#2024-03-01#abc");
  EXPECT_EQ(SaltPk("2024-03-01"), "salt#2024-03-01");
  EXPECT_EQ(kTotalSk, "total");
  EXPECT_EQ(kSiteSk, "site");
  // Days sort before the total under one counter's pk.
  EXPECT_LT(DaySk("9999-12-31"), std::string(kTotalSk));
}

TEST(DynamoDbLayoutTest, DayArithmetic) {
  EXPECT_EQ(DayStartUnixSeconds("1970-01-01"), 0);
  EXPECT_EQ(DayStartUnixSeconds("2026-11-26"), 1795651200);
  EXPECT_EQ(DayStartUnixSeconds("2024-13-01"), -1);
  EXPECT_EQ(DayStartUnixSeconds("2024-1-01"), -1);
  EXPECT_EQ(DayStartUnixSeconds("abcd-01-01"), -1);
}

}  // namespace
}  // namespace tally::dynamodb

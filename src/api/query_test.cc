#include "api/query.h"

#include <gtest/gtest.h>

namespace tally {
namespace {

TEST(QueryTest, DecodesParameters) {
  auto q = QueryParams::Parse("key=%2Fblog%2Fa+b&label=Visits&flag&key=second");
  ASSERT_TRUE(q.ok());
  ASSERT_NE(q->Find("key"), nullptr);
  EXPECT_EQ(*q->Find("key"), "/blog/a b") << "the first of repeated parameters wins";
  EXPECT_EQ(*q->Find("label"), "Visits");
  EXPECT_EQ(*q->Find("flag"), "");
  EXPECT_EQ(q->Find("missing"), nullptr);
}

TEST(QueryTest, EmptyAndStrayAmpersands) {
  auto q = QueryParams::Parse("&&a=1&");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q->Find("a"), "1");
  EXPECT_TRUE(QueryParams::Parse("").ok());
}

TEST(QueryTest, RefusesBadEscapes) {
  EXPECT_FALSE(QueryParams::Parse("key=%").ok());
  EXPECT_FALSE(QueryParams::Parse("key=%4").ok());
  EXPECT_FALSE(QueryParams::Parse("key=%zz").ok());
  EXPECT_FALSE(QueryParams::Parse("k%g0=1").ok());
}

TEST(QueryTest, BoundsTheNumberOfParameters) {
  std::string many;
  for (int i = 0; i < 40; ++i) many += "p" + std::to_string(i) + "=1&";
  EXPECT_FALSE(QueryParams::Parse(many).ok());
}

TEST(QueryTest, FindsParametersBeyondTheFirstFew) {
  auto q = QueryParams::Parse("a=1&b=2&c=3&d=4&e=5&a=6&f=7");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q->Find("a"), "1");
  EXPECT_EQ(*q->Find("d"), "4");
  EXPECT_EQ(*q->Find("e"), "5");
  EXPECT_EQ(*q->Find("f"), "7");
  EXPECT_EQ(q->Find("g"), nullptr);
  auto limit = QueryParams::Parse("a=1&b=2&c=3&d=4&e=5&f=6", /*max_params=*/6);
  ASSERT_TRUE(limit.ok());
  EXPECT_EQ(*limit->Find("f"), "6");
  EXPECT_FALSE(QueryParams::Parse("a=1&b=2&c=3&d=4&e=5&f=6&g=7", /*max_params=*/6).ok());
}

TEST(QueryTest, PercentDecodeKeepsPlusInPaths) {
  auto d = PercentDecode("a+b%20c", /*plus_is_space=*/false);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "a+b c");
}

}  // namespace
}  // namespace tally

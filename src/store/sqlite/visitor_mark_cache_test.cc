#include "store/sqlite/visitor_mark_cache.h"

#include <string>

#include <gtest/gtest.h>

namespace tally {
namespace {

TEST(VisitorMarkCacheTest, HoldsWhatWasInsertedUntilCleared) {
  VisitorMarkCache cache(16);
  EXPECT_FALSE(cache.Contains("s", "2026-11-25", "h1", "/a"));
  cache.Insert("s", "2026-11-25", "h1", "/a");
  EXPECT_TRUE(cache.Contains("s", "2026-11-25", "h1", "/a"));
  cache.Insert("s", "2026-11-25", "h1", "/a");  // twice is once
  EXPECT_EQ(cache.size(), 1u);
  cache.Clear();
  EXPECT_FALSE(cache.Contains("s", "2026-11-25", "h1", "/a"));
}

TEST(VisitorMarkCacheTest, EveryFieldTellsMarkersApart) {
  VisitorMarkCache cache(16);
  cache.Insert("s", "2026-11-25", "h1", "/a");
  EXPECT_FALSE(cache.Contains("t", "2026-11-25", "h1", "/a"));
  EXPECT_FALSE(cache.Contains("s", "2026-11-26", "h1", "/a"));
  EXPECT_FALSE(cache.Contains("s", "2026-11-25", "h2", "/a"));
  EXPECT_FALSE(cache.Contains("s", "2026-11-25", "h1", "/b"));
}

TEST(VisitorMarkCacheTest, FieldBoundariesCannotBeShifted) {
  VisitorMarkCache cache(16);
  cache.Insert("ab", "c", "h", "k");
  EXPECT_FALSE(cache.Contains("a", "bc", "h", "k"));
  cache.Insert("s", "d", "h", std::string("k\0x", 3));
  EXPECT_FALSE(cache.Contains("s", "d", "h", "k"));
  EXPECT_TRUE(cache.Contains("s", "d", "h", std::string("k\0x", 3)));
}

TEST(VisitorMarkCacheTest, StaysWithinItsCapacity) {
  VisitorMarkCache cache(3);
  for (int i = 0; i < 10; ++i) {
    cache.Insert("s", "d", "h" + std::to_string(i), "/a");
    EXPECT_LE(cache.size(), 3u);
    EXPECT_TRUE(cache.Contains("s", "d", "h" + std::to_string(i), "/a"))
        << "the newest marker is always kept";
  }
  VisitorMarkCache none(0);
  none.Insert("s", "d", "h", "/a");
  EXPECT_FALSE(none.Contains("s", "d", "h", "/a"));
}

}  // namespace
}  // namespace tally

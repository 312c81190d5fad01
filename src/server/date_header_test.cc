#include "server/date_header.h"

#include <chrono>
#include <ctime>
#include <string>

#include <gtest/gtest.h>

namespace tally::http {
namespace {

TEST(FormatHttpDateTest, FormatsImfFixdate) {
  char out[kHttpDateLength];
  FormatHttpDate(784111777, out);  // RFC 9110's example
  EXPECT_EQ(std::string(out, kHttpDateLength), "Sun, 06 Nov 1994 08:49:37 GMT");
  FormatHttpDate(0, out);
  EXPECT_EQ(std::string(out, kHttpDateLength), "Thu, 01 Jan 1970 00:00:00 GMT");
  FormatHttpDate(4102444799, out);
  EXPECT_EQ(std::string(out, kHttpDateLength), "Thu, 31 Dec 2099 23:59:59 GMT");
}

TEST(CurrentHttpDateTest, IsNowAndCached) {
  // The same clock CurrentHttpDate reads: std::time() uses the coarse clock,
  // which can still show the previous second when system_clock shows the next.
  auto now = [] { return std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()); };
  std::time_t before = now();
  std::string first(CurrentHttpDate());
  std::time_t after = now();
  char expected_before[kHttpDateLength], expected_after[kHttpDateLength];
  FormatHttpDate(before, expected_before);
  FormatHttpDate(after, expected_after);
  EXPECT_TRUE(first == std::string(expected_before, kHttpDateLength) ||
              first == std::string(expected_after, kHttpDateLength))
      << first;
  // Same second (almost always): same cached text.
  EXPECT_EQ(CurrentHttpDate().size(), kHttpDateLength);
}

}  // namespace
}  // namespace tally::http

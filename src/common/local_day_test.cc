#include "common/local_day.h"

#include <gtest/gtest.h>

namespace tally {
namespace {

TEST(LocalDayTest, UtcAndUnknownZones) {
  EXPECT_EQ(LocalDay("UTC", 0), "1970-01-01");
  EXPECT_EQ(LocalDay("UTC", 1795651199), "2026-11-25");
  EXPECT_EQ(LocalDay("Not/AZone", 1795651199), "2026-11-25");
  EXPECT_TRUE(IsKnownTimeZone("UTC"));
  EXPECT_FALSE(IsKnownTimeZone("Not/AZone"));
  EXPECT_FALSE(IsKnownTimeZone("../../etc/passwd"));
  EXPECT_FALSE(IsKnownTimeZone(""));
}

TEST(LocalDayTest, DaysFollowTheZoneIncludingDst) {
  // 2026-03-29 01:00 UTC: Berlin switches from CET (+1) to CEST (+2).
  // 2026-03-28 23:30 UTC is 00:30 CET on the 29th in Berlin.
  EXPECT_EQ(LocalDay("Europe/Berlin", 1774740600), "2026-03-29");
  EXPECT_EQ(LocalDay("UTC", 1774740600), "2026-03-28");
  // 2026-10-24 22:30 UTC is 00:30 CEST on the 25th; a week later (after the
  // switch back to CET) 22:30 UTC is only 23:30 on the 31st.
  EXPECT_EQ(LocalDay("Europe/Berlin", 1792881000), "2026-10-25");
  EXPECT_EQ(LocalDay("Europe/Berlin", 1793485800), "2026-10-31");
  // West of UTC the day starts later.
  EXPECT_EQ(LocalDay("America/New_York", 1795651200), "2026-11-25");
  EXPECT_TRUE(IsKnownTimeZone("Pacific/Kiritimati"));
}

// LocalDay remembers its last answer per thread: repeats, and calls that
// change only the zone or only the second, must each get their own day.
TEST(LocalDayTest, RepeatedCallsAndSmallChangesGetTheirOwnDay) {
  for (int repeat = 0; repeat < 3; ++repeat) {
    EXPECT_EQ(LocalDay("UTC", 86399), "1970-01-01");
  }
  EXPECT_EQ(LocalDay("UTC", 86400), "1970-01-02");
  EXPECT_EQ(LocalDay("America/New_York", 86400), "1970-01-01");
  EXPECT_EQ(LocalDay("America/New_York", 86400), "1970-01-01");
  EXPECT_EQ(LocalDay("UTC", 86400), "1970-01-02");
  EXPECT_EQ(LocalDay("Not/AZone", 86400), "1970-01-02");
  EXPECT_EQ(LocalDay("Pacific/Kiritimati", 86399), "1970-01-01");  // UTC-10:40 until 1979
}

TEST(LocalDayTest, DayArithmeticAndValidation) {
  EXPECT_EQ(AddDays("2026-02-28", 1), "2026-03-01");
  EXPECT_EQ(AddDays("2028-02-28", 1), "2028-02-29");
  EXPECT_EQ(AddDays("2026-01-01", -1), "2025-12-31");
  EXPECT_EQ(AddDays("nope", 1), "");
  EXPECT_EQ(UtcDayStart("1970-01-01"), 0);
  EXPECT_EQ(UtcDayStart("2026-11-26"), 1795651200);
  EXPECT_EQ(UtcDayStart("2026-02-30"), -1);
  EXPECT_TRUE(IsValidDay("2026-11-25"));
  EXPECT_FALSE(IsValidDay("2026-02-30"));
  EXPECT_FALSE(IsValidDay("2026-13-01"));
  EXPECT_FALSE(IsValidDay("2026-1-01"));
  EXPECT_FALSE(IsValidDay("2026/11/25"));
}

// Days are written YYYY-MM-DD with leading zeros in every field; years past
// 9999 (no clock gives them) still come out whole.
TEST(LocalDayTest, FormatPadsEveryField) {
  EXPECT_EQ(LocalDay("UTC", 0), "1970-01-01");
  EXPECT_EQ(LocalDay("UTC", 1795651200 + 86399), "2026-11-26");
  EXPECT_EQ(AddDays("0999-12-31", 1), "1000-01-01");
  EXPECT_EQ(AddDays("0001-01-10", -1), "0001-01-09");
  EXPECT_EQ(AddDays("2026-09-30", 10), "2026-10-10");
  EXPECT_EQ(AddDays("9999-12-31", 1), "10000-01-01");
}

}  // namespace
}  // namespace tally

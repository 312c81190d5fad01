#include "cli/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace tally {
namespace {

TEST(ConfigTest, ParsesNameValueLinesWithCommentsAndQuotes) {
  auto file =
      ConfigFile::Parse("# tally\nlisten = 0.0.0.0:9000\n\nstore=\"sqlite:/var/lib/t.db\"\n");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->Get("listen"), "0.0.0.0:9000");
  EXPECT_EQ(file->Get("store"), "sqlite:/var/lib/t.db");
  EXPECT_FALSE(file->Get("durability").has_value());
}

TEST(ConfigTest, RejectsLinesWithoutEquals) {
  auto file = ConfigFile::Parse("listen 0.0.0.0:9000\n");
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find("line 1"), std::string::npos);
}

TEST(ConfigTest, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  auto file = ConfigFile::Parse("listen = file:1\n");
  ASSERT_TRUE(file.ok());
  ::setenv("TALLY_TEST_LISTEN", "env:1", 1);
  EXPECT_EQ(ResolveSetting(std::string("flag:1"), "TALLY_TEST_LISTEN", *file, "listen", "def:1"),
            "flag:1");
  EXPECT_EQ(ResolveSetting(std::nullopt, "TALLY_TEST_LISTEN", *file, "listen", "def:1"), "env:1");
  ::unsetenv("TALLY_TEST_LISTEN");
  EXPECT_EQ(ResolveSetting(std::nullopt, "TALLY_TEST_LISTEN", *file, "listen", "def:1"), "file:1");
  EXPECT_EQ(ResolveSetting(std::nullopt, "TALLY_TEST_LISTEN", ConfigFile(), "listen", "def:1"),
            "def:1");
}

}  // namespace
}  // namespace tally

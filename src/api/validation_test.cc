#include "api/validation.h"

#include <gtest/gtest.h>

namespace tally {
namespace {

TEST(ValidationTest, Utf8) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xf0\x9f\x8e\x89"));
  EXPECT_FALSE(IsValidUtf8("\xc3\x28"));          // bad continuation
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

TEST(ValidationTest, SiteNames) {
  for (const char* ok : {"a", "demo", "example.com", "my-site.example.org", "0day"}) {
    EXPECT_TRUE(IsValidSiteName(ok)) << ok;
  }
  EXPECT_TRUE(IsValidSiteName(std::string(63, 'a')));
  EXPECT_FALSE(IsValidSiteName(std::string(64, 'a')));
  for (const char* bad : {"", "-a", ".a", "Example.com", "a_b", "a b", "a/b", "ä"}) {
    EXPECT_FALSE(IsValidSiteName(bad)) << bad;
  }
}

TEST(ValidationTest, Keys) {
  EXPECT_TRUE(ValidateKey("/").ok());
  EXPECT_TRUE(ValidateKey("/caf\xc3\xa9").ok());
  EXPECT_TRUE(ValidateKey(std::string(256, 'k')).ok());
  EXPECT_FALSE(ValidateKey("").ok());
  EXPECT_FALSE(ValidateKey(std::string(257, 'k')).ok());
  EXPECT_FALSE(ValidateKey("a\nb").ok());
  EXPECT_FALSE(ValidateKey(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(ValidateKey("\x7f").ok());
  EXPECT_FALSE(ValidateKey("\xc2\x85").ok());  // NEL, a C1 control
  EXPECT_FALSE(ValidateKey("\xc3\x28").ok());
}

}  // namespace
}  // namespace tally

#include "auth/token.h"

#include <gtest/gtest.h>

#include <set>

namespace tally {
namespace {

TEST(TokenTest, NewTokenIsPrefixedRandomAndUrlSafe) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto token = NewToken("tly_");
    ASSERT_TRUE(token.ok());
    EXPECT_EQ(token->rfind("tly_", 0), 0u);
    EXPECT_EQ(token->size(), 4u + 43u);  // 256 bits in base64url without padding
    EXPECT_EQ(token->find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 4),
              std::string::npos);
    EXPECT_TRUE(seen.insert(*token).second) << "token repeated";
  }
}

TEST(TokenTest, HashIsSha256Hex) {
  // SHA-256("abc") from FIPS 180-2.
  EXPECT_EQ(HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TokenTest, MatchesOnlyTheRightToken) {
  std::string hash = HashToken("secret-one");
  EXPECT_TRUE(TokenMatches("secret-one", hash));
  EXPECT_FALSE(TokenMatches("secret-two", hash));
  EXPECT_FALSE(TokenMatches("", hash));
  EXPECT_FALSE(TokenMatches("secret-one", ""));
  EXPECT_FALSE(TokenMatches("secret-one", hash.substr(0, 63)));
}

}  // namespace
}  // namespace tally

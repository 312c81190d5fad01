#include "api/cors_policy.h"

#include <gtest/gtest.h>

namespace tally {
namespace {

TEST(CorsPolicyTest, ExactOriginMatchesOnlyItself) {
  std::vector<std::string> p = {"https://example.com"};
  EXPECT_TRUE(OriginAllowed(p, "https://example.com"));
  EXPECT_FALSE(OriginAllowed(p, "http://example.com"));
  EXPECT_FALSE(OriginAllowed(p, "https://example.com:8443"));
  EXPECT_FALSE(OriginAllowed(p, "https://evil-example.com"));
  EXPECT_FALSE(OriginAllowed(p, "https://example.com.evil.org"));
  EXPECT_FALSE(OriginAllowed(p, "null"));
}

TEST(CorsPolicyTest, SubdomainWildcardExcludesTheApex) {
  std::vector<std::string> p = {"https://*.example.com"};
  EXPECT_TRUE(OriginAllowed(p, "https://www.example.com"));
  EXPECT_TRUE(OriginAllowed(p, "https://a.b.example.com"));
  EXPECT_FALSE(OriginAllowed(p, "https://example.com"));
  EXPECT_FALSE(OriginAllowed(p, "https://badexample.com"));
}

TEST(CorsPolicyTest, AnyPortAndAnyOrigin) {
  std::vector<std::string> p = {"http://localhost:*"};
  EXPECT_TRUE(OriginAllowed(p, "http://localhost:5173"));
  EXPECT_TRUE(OriginAllowed(p, "http://localhost")) << "* includes the default port";
  EXPECT_FALSE(OriginAllowed(p, "https://localhost:5173"));
  EXPECT_TRUE(OriginAllowed({"http://[::1]:*"}, "http://[::1]:8080"));
  EXPECT_FALSE(OriginAllowed({"http://[::1]:*"}, "http://[::2]:8080"));
  EXPECT_TRUE(OriginAllowed({"*"}, "https://anything.example"));
  EXPECT_FALSE(OriginAllowed({}, "https://anything.example"));
}

TEST(CorsPolicyTest, ValidatesPatterns) {
  for (const char* ok : {"*", "https://example.com", "https://*.example.com", "http://localhost:*",
                         "http://127.0.0.1:8080", "http://[::1]:*"}) {
    EXPECT_TRUE(ValidateOriginPattern(ok).ok()) << ok;
  }
  for (const char* bad :
       {"example.com", "ftp://example.com", "https://example.com/path", "https://ex*ample.com",
        "https://*.*.example.com", "https://x.com:80a", ""}) {
    EXPECT_FALSE(ValidateOriginPattern(bad).ok()) << bad;
  }
}

TEST(CorsPolicyTest, PreflightAnswer) {
  Response r;
  SetPreflightAnswer(r, "https://example.com", "POST, OPTIONS");
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.Header("Access-Control-Allow-Origin"), "https://example.com");
  EXPECT_EQ(r.Header("Access-Control-Allow-Methods"), "POST, OPTIONS");
  EXPECT_FALSE(r.Header("Access-Control-Max-Age").empty());
}

}  // namespace
}  // namespace tally

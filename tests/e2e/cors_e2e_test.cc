// CORS and public keys: which browser origins may count, and what a site that
// requires an x-api-key accepts. A refused call must count nothing.
#include <gtest/gtest.h>

#include "e2e/tally_process.h"

namespace tally::e2e {
namespace {

using nlohmann::json;

class CorsE2eTest : public TallyServerTest {
 protected:
  void SetUp() override {
    TallyServerTest::SetUp();
    if (HasFatalFailure()) return;
    site_ = CreateSite({{"site", "cors.example"},
                        {"origins", {"https://cors.example", "https://*.cors.example"}}});
  }
  json site_;
};

TEST_F(CorsE2eTest, AllowedOriginGetsAllowOriginHeader) {
  for (const char* origin : {"https://cors.example", "https://blog.cors.example"}) {
    HttpResponse hit = Hit("cors.example", "/", {{"Origin", origin}});
    ASSERT_EQ(hit.status, 200) << hit.body;
    EXPECT_EQ(hit.Header("Access-Control-Allow-Origin").value_or(""), origin);
    EXPECT_NE(hit.Header("Vary").value_or("").find("Origin"), std::string::npos);
    HttpResponse read = Call("GET", "/v1/sites/cors.example/counters?key=/", {{"Origin", origin}});
    EXPECT_EQ(read.status, 200);
    EXPECT_EQ(read.Header("Access-Control-Allow-Origin").value_or(""), origin);
  }
  EXPECT_EQ(ReadHits("cors.example", "/"), 2);
}

TEST_F(CorsE2eTest, ErrorAnswersToAllowedOriginsCarryCorsHeaders) {
  // Without the header a browser page could not even read why it failed.
  HttpResponse bad_key = Hit("cors.example", "%C3%28", {{"Origin", "https://cors.example"}});
  EXPECT_TRUE(IsJsonError(bad_key, 400, "invalid_key"));
  EXPECT_EQ(bad_key.Header("Access-Control-Allow-Origin").value_or(""), "https://cors.example");
  HttpResponse not_found = Call("GET", "/v1/sites/cors.example/counters?key=/none",
                                {{"Origin", "https://cors.example"}});
  EXPECT_TRUE(IsJsonError(not_found, 404, "counter_not_found"));
  EXPECT_EQ(not_found.Header("Access-Control-Allow-Origin").value_or(""), "https://cors.example");
}

TEST_F(CorsE2eTest, DisallowedOriginIs403AndCountsNothing) {
  const char* refused[] = {
      "https://evil.example",
      "http://cors.example",        // wrong scheme
      "https://cors.example:8443",  // wrong port
      "https://cors.example.evil",  // suffix trick
      "https://xcors.example",      // not a subdomain
      "null",                       // sandboxed iframe / file://
  };
  for (const char* origin : refused) {
    HttpResponse hit = Hit("cors.example", "/c", {{"Origin", origin}});
    EXPECT_TRUE(IsJsonError(hit, 403, "origin_not_allowed")) << origin;
    EXPECT_FALSE(hit.HasHeader("Access-Control-Allow-Origin")) << origin;
  }
  EXPECT_EQ(ReadHits("cors.example", "/c"), -1);
  HttpResponse read =
      Call("GET", "/v1/sites/cors.example/counters?key=/c", {{"Origin", "https://evil.example"}});
  EXPECT_TRUE(IsJsonError(read, 403, "origin_not_allowed"));
}

TEST_F(CorsE2eTest, PreflightFromAllowedOriginIs204) {
  HttpResponse pre = Call("OPTIONS", "/v1/sites/cors.example/hits?key=/",
                          {{"Origin", "https://cors.example"},
                           {"Access-Control-Request-Method", "POST"},
                           {"Access-Control-Request-Headers", "x-api-key"}});
  ASSERT_EQ(pre.status, 204) << pre.body;
  EXPECT_EQ(pre.Header("Access-Control-Allow-Origin").value_or(""), "https://cors.example");
  EXPECT_NE(pre.Header("Access-Control-Allow-Methods").value_or("").find("POST"),
            std::string::npos);
  std::string allow_headers = pre.Header("Access-Control-Allow-Headers").value_or("");
  std::transform(allow_headers.begin(), allow_headers.end(), allow_headers.begin(), ::tolower);
  EXPECT_NE(allow_headers.find("x-api-key"), std::string::npos);
  EXPECT_TRUE(pre.body.empty());
  // A preflight counts nothing.
  EXPECT_EQ(ReadHits("cors.example", "/"), -1);

  HttpResponse admin_pre =
      Call("OPTIONS", "/v1/sites/cors.example",
           {{"Origin", "https://cors.example"}, {"Access-Control-Request-Method", "PATCH"}});
  EXPECT_EQ(admin_pre.status, 204);
  EXPECT_NE(admin_pre.Header("Access-Control-Allow-Methods").value_or("").find("PATCH"),
            std::string::npos);
}

TEST_F(CorsE2eTest, PreflightFromDisallowedOriginIs403) {
  HttpResponse pre =
      Call("OPTIONS", "/v1/sites/cors.example/hits?key=/",
           {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_TRUE(IsJsonError(pre, 403, "origin_not_allowed"));
  EXPECT_FALSE(pre.HasHeader("Access-Control-Allow-Origin"));
  EXPECT_TRUE(IsJsonError(
      Call("OPTIONS", "/v1/sites/ghost.example/hits", {{"Origin", "https://cors.example"}}), 404,
      "site_not_found"));
}

TEST_F(CorsE2eTest, RequirePublicKey) {
  json locked =
      CreateSite({{"site", "locked.example"}, {"origins", {"*"}}, {"require_public_key", true}});
  const std::string key = locked.value("public_key", "");
  ASSERT_FALSE(key.empty());
  EXPECT_TRUE(IsJsonError(Hit("locked.example", "/"), 403, "public_key_required"));
  EXPECT_TRUE(IsJsonError(Hit("locked.example", "/", {{"x-api-key", "pk_wrong"}}), 403,
                          "invalid_public_key"));
  // The admin token is not the public key.
  EXPECT_TRUE(
      IsJsonError(Hit("locked.example", "/", {{"x-api-key", locked.value("admin_token", "")}}), 403,
                  "invalid_public_key"));
  EXPECT_TRUE(IsJsonError(Call("GET", "/v1/sites/locked.example/counters?key=/"), 403,
                          "public_key_required"));
  EXPECT_EQ(ReadHits("locked.example", "/", {{"X-Api-Key", key}}), -1);  // nothing counted yet

  HttpResponse ok = Hit("locked.example", "/", {{"X-Api-Key", key}, {"Origin", "https://a.b"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ParseJson(ok.body)["hits"], 1);
  EXPECT_EQ(ok.Header("Access-Control-Allow-Origin").value_or(""), "https://a.b");
  EXPECT_EQ(ReadHits("locked.example", "/", {{"x-api-key", key}}), 1);
}

}  // namespace
}  // namespace tally::e2e

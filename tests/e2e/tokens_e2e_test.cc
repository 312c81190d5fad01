// Token rotation over HTTP: the new secret works, the old one stops working
// at once, and only the right holders may rotate.
#include <gtest/gtest.h>

#include "e2e/tally_process.h"

namespace tally::e2e {
namespace {

using nlohmann::json;

class TokensE2eTest : public TallyServerTest {};

TEST_F(TokensE2eTest, RotateAdminTokenRetiresTheOldOne) {
  json site = CreateSite({{"site", "rot.example"}});
  const std::string old_token = site.value("admin_token", "");
  ASSERT_EQ(Call("GET", "/v1/sites/rot.example", Bearer(old_token)).status, 200);

  HttpResponse rotated = Call("POST", "/v1/sites/rot.example/tokens:rotate", Bearer(old_token));
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const std::string new_token = ParseJson(rotated.body).value("admin_token", "");
  ASSERT_FALSE(new_token.empty()) << rotated.body;
  EXPECT_NE(new_token, old_token);

  EXPECT_TRUE(
      IsJsonError(Call("GET", "/v1/sites/rot.example", Bearer(old_token)), 401, "unauthorized"));
  EXPECT_TRUE(IsJsonError(Call("POST", "/v1/sites/rot.example/tokens:rotate", Bearer(old_token)),
                          401, "unauthorized"));
  EXPECT_EQ(Call("GET", "/v1/sites/rot.example", Bearer(new_token)).status, 200);

  // Root may rotate too, which retires the token just made.
  HttpResponse by_root = Call("POST", "/v1/sites/rot.example/tokens:rotate?kind=admin", RootAuth());
  ASSERT_EQ(by_root.status, 200) << by_root.body;
  EXPECT_TRUE(
      IsJsonError(Call("GET", "/v1/sites/rot.example", Bearer(new_token)), 401, "unauthorized"));
  EXPECT_EQ(
      Call("GET", "/v1/sites/rot.example", Bearer(ParseJson(by_root.body).value("admin_token", "")))
          .status,
      200);
}

TEST_F(TokensE2eTest, RotatedTokenSurvivesRestart) {
  json site = CreateSite({{"site", "rot.example"}});
  HttpResponse rotated =
      Call("POST", "/v1/sites/rot.example/tokens:rotate", Bearer(site.value("admin_token", "")));
  ASSERT_EQ(rotated.status, 200);
  const std::string token = ParseJson(rotated.body).value("admin_token", "");
  ASSERT_EQ(server_.Terminate(), 0);
  ASSERT_EQ(server_.Restart(), "");
  EXPECT_EQ(Call("GET", "/v1/sites/rot.example", Bearer(token)).status, 200);
  EXPECT_EQ(Call("GET", "/v1/sites/rot.example", Bearer(site.value("admin_token", ""))).status,
            401);
}

TEST_F(TokensE2eTest, RotatePublicKey) {
  json site = CreateSite({{"site", "pk.example"}, {"require_public_key", true}});
  const std::string old_key = site.value("public_key", "");
  ASSERT_EQ(Hit("pk.example", "/", {{"x-api-key", old_key}}).status, 200);

  HttpResponse rotated = Call("POST", "/v1/sites/pk.example/tokens:rotate?kind=public",
                              Bearer(site.value("admin_token", "")));
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const std::string new_key = ParseJson(rotated.body).value("public_key", "");
  ASSERT_FALSE(new_key.empty()) << rotated.body;
  EXPECT_TRUE(
      IsJsonError(Hit("pk.example", "/", {{"x-api-key", old_key}}), 403, "invalid_public_key"));
  HttpResponse hit = Hit("pk.example", "/", {{"x-api-key", new_key}});
  ASSERT_EQ(hit.status, 200) << hit.body;
  EXPECT_EQ(ParseJson(hit.body)["hits"], 2);
  // The admin token was not touched.
  EXPECT_EQ(Call("GET", "/v1/sites/pk.example", Bearer(site.value("admin_token", ""))).status, 200);
}

TEST_F(TokensE2eTest, RotateRefusals) {
  json a = CreateSite({{"site", "a.example"}});
  json b = CreateSite({{"site", "b.example"}});
  EXPECT_TRUE(IsJsonError(Call("POST", "/v1/sites/a.example/tokens:rotate"), 401, "unauthorized"));
  EXPECT_TRUE(IsJsonError(
      Call("POST", "/v1/sites/a.example/tokens:rotate", Bearer(b.value("admin_token", ""))), 401,
      "unauthorized"));
  EXPECT_TRUE(IsJsonError(Call("POST", "/v1/sites/a.example/tokens:rotate?kind=root",
                               Bearer(a.value("admin_token", ""))),
                          400, "invalid_query"));
  EXPECT_TRUE(IsJsonError(Call("POST", "/v1/sites/ghost.example/tokens:rotate", RootAuth()), 404,
                          "site_not_found"));
  // a's token still works: none of the refusals rotated it.
  EXPECT_EQ(Call("GET", "/v1/sites/a.example", Bearer(a.value("admin_token", ""))).status, 200);
}

}  // namespace
}  // namespace tally::e2e

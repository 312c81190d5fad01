#include "lambda/lambda_app.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lambda/test_events.h"
#include "store/store_factory.h"

namespace tally::lambda {
namespace {

using nlohmann::json;

class LambdaAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tally-lambda-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    LambdaSettings settings;
    settings.store_spec = "sqlite:" + (dir_ / "tally.db").string();
    settings.root_token = "root-secret-token";
    auto app = LambdaApp::Create(
        settings, [](std::string_view spec) { return OpenStore(spec, Durability::kStrict); });
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    app_ = std::move(app).value();
    json created =
        Handle(RestEvent("POST", "/v1/sites", {}, {{"Authorization", "Bearer root-secret-token"}},
                         R"({"site":"example.com","origins":["https://example.com"]})"));
    ASSERT_EQ(created["statusCode"], 201) << created.dump();
  }
  void TearDown() override {
    app_.reset();
    std::filesystem::remove_all(dir_);
  }
  json Handle(const std::string& event) {
    auto result = app_->HandleEvent(event);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? json::parse(*result) : json();
  }
  static json Body(const json& result) { return json::parse(result["body"].get<std::string>()); }

  std::filesystem::path dir_;
  std::unique_ptr<LambdaApp> app_;
};

TEST_F(LambdaAppTest, HitThenReadThroughRestApiEvents) {
  json hit = Handle(RestEvent("POST", "/v1/sites/example.com/hits", {{"key", {"/about"}}},
                              {{"Origin", "https://example.com"}}));
  ASSERT_EQ(hit["statusCode"], 200) << hit.dump();
  EXPECT_EQ(Body(hit)["hits"], 1);
  EXPECT_EQ(hit["headers"]["Access-Control-Allow-Origin"], "https://example.com");
  EXPECT_EQ(hit["isBase64Encoded"], false);
  json read = Handle(RestEvent("GET", "/v1/sites/example.com/counters", {{"key", {"/about"}}}));
  ASSERT_EQ(read["statusCode"], 200) << read.dump();
  EXPECT_EQ(Body(read)["hits"], 1);
}

TEST_F(LambdaAppTest, HitThroughHttpApiEvent) {
  json hit = Handle(HttpEvent("POST", "/v1/sites/example.com/hits", "key=%2Fblog%2F",
                              {{"origin", "https://example.com"}}));
  ASSERT_EQ(hit["statusCode"], 200) << hit.dump();
  EXPECT_EQ(Body(hit)["key"], "/blog/");
  EXPECT_EQ(Body(hit)["visitors"], 1);
}

TEST_F(LambdaAppTest, CorsPreflight) {
  json ok = Handle(
      RestEvent("OPTIONS", "/v1/sites/example.com/hits", {},
                {{"Origin", "https://example.com"}, {"Access-Control-Request-Method", "POST"}}));
  EXPECT_EQ(ok["statusCode"], 204);
  EXPECT_EQ(ok["headers"]["Access-Control-Allow-Origin"], "https://example.com");
  json denied = Handle(
      RestEvent("OPTIONS", "/v1/sites/example.com/hits", {}, {{"Origin", "https://evil.example"}}));
  EXPECT_EQ(denied["statusCode"], 403);
}

TEST_F(LambdaAppTest, HttpErrorsAreResponses) {
  json bad = Handle(RestEvent("POST", "/v1/sites/Not_A_Site!/hits", {{"key", {"/"}}}));
  EXPECT_EQ(bad["statusCode"], 400) << bad.dump();
  EXPECT_TRUE(Body(bad).contains("error"));
  json unknown = Handle(RestEvent("GET", "/no/such/route", {}));
  EXPECT_EQ(unknown["statusCode"], 404);
  json no_token = Handle(RestEvent("POST", "/v1/sites", {}, {}, R"({"site":"x.com"})"));
  EXPECT_EQ(no_token["statusCode"], 401);
}

TEST_F(LambdaAppTest, NonApiGatewayEventIsAnInvocationError) {
  EXPECT_EQ(app_->HandleEvent("{\"Records\":[]}").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(app_->HandleEvent("not json").status().code(), StatusCode::kInvalidArgument);
  app_->Upkeep();  // and the app carries on
  json read = Handle(RestEvent("GET", "/healthz", {}));
  EXPECT_EQ(read["statusCode"], 200);
}

TEST(LambdaSettingsTest, FromEnvironment) {
  unsetenv("TABLE_NAME");
  unsetenv("TALLY_STORE");
  unsetenv("TALLY_ADMIN_TOKEN_PARAMETER");
  EXPECT_EQ(SettingsFromEnvironment().status().code(), StatusCode::kInvalidArgument);
  setenv("TABLE_NAME", "tally-prod", 1);
  setenv("TALLY_ADMIN_TOKEN", "t0ken", 1);
  auto settings = SettingsFromEnvironment();
  ASSERT_TRUE(settings.ok());
  EXPECT_EQ(settings->store_spec, "dynamodb:tally-prod");
  EXPECT_EQ(settings->root_token, "t0ken");
  setenv("TALLY_RATE_LIMIT_PER_MINUTE", "lots", 1);
  EXPECT_EQ(SettingsFromEnvironment().status().code(), StatusCode::kInvalidArgument);
  unsetenv("TALLY_RATE_LIMIT_PER_MINUTE");
  // An SSM parameter without AWS credentials cannot be read: init must fail.
  setenv("TALLY_ADMIN_TOKEN_PARAMETER", "/tally/admin-token", 1);
  unsetenv("AWS_ACCESS_KEY_ID");
  EXPECT_FALSE(SettingsFromEnvironment().ok());
  unsetenv("TALLY_ADMIN_TOKEN_PARAMETER");
  unsetenv("TABLE_NAME");
  unsetenv("TALLY_ADMIN_TOKEN");
}

}  // namespace
}  // namespace tally::lambda

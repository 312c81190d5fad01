#include "aws/aws_config.h"

#include <stdlib.h>

#include <gtest/gtest.h>

namespace tally {
namespace {

class AwsConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVars) unsetenv(name);
  }
  void TearDown() override { SetUp(); }
  static constexpr const char* kVars[] = {
      "AWS_ACCESS_KEY_ID",  "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",        "AWS_REGION",
      "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",      "AWS_ENDPOINT_URL_DYNAMODB"};
};

TEST_F(AwsConfigTest, ReadsTheStandardVariables) {
  setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
  setenv("AWS_SESSION_TOKEN", "token", 1);
  setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
  Result<AwsConfig> c = AwsConfig::FromEnvironment();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKID");
  EXPECT_EQ(c->secret_access_key, "secret");
  EXPECT_EQ(c->session_token, "token");
  EXPECT_EQ(c->region, "eu-west-1");
  EXPECT_EQ(c->endpoint, "https://dynamodb.eu-west-1.amazonaws.com");

  setenv("AWS_REGION", "us-east-2", 1);  // beats AWS_DEFAULT_REGION
  setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9/", 1);
  EXPECT_EQ(AwsConfig::FromEnvironment()->region, "us-east-2");
  EXPECT_EQ(AwsConfig::FromEnvironment()->endpoint, "http://127.0.0.1:9");
  setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://localhost:4567", 1);  // beats the generic one
  EXPECT_EQ(AwsConfig::FromEnvironment()->endpoint, "http://localhost:4567");
}

TEST_F(AwsConfigTest, SaysWhatIsMissing) {
  Result<AwsConfig> none = AwsConfig::FromEnvironment();
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(none.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
  setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
  Result<AwsConfig> no_region = AwsConfig::FromEnvironment();
  EXPECT_NE(no_region.status().message().find("AWS_REGION"), std::string::npos);
  setenv("AWS_REGION", "eu-west-1", 1);
  setenv("AWS_ENDPOINT_URL", "ftp://x", 1);
  EXPECT_EQ(AwsConfig::FromEnvironment().status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AwsConfigTest, FindsTheCaBundleOfThisSystem) {
  // Debian has it at the first place tried; Amazon Linux at the second.
  EXPECT_FALSE(FindCaBundle().empty());
}

}  // namespace
}  // namespace tally

// SignV4 against AWS's published Signature Version 4 test suite
// (aws-sig-v4-test-suite: credentials AKIDEXAMPLE, 2015-08-30T12:36:00Z,
// us-east-1, service "service"). The comparison with the AWS SDK's own
// signer on real DynamoDB requests is tests/dynamodb/sigv4_test.cc.
#include "aws/sigv4.h"

#include <gtest/gtest.h>

namespace tally {
namespace {

AwsConfig SuiteConfig() {
  AwsConfig config;
  config.access_key_id = "AKIDEXAMPLE";
  config.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  config.region = "us-east-1";
  return config;
}

std::chrono::system_clock::time_point SuiteTime() {
  // 2015-08-30T12:36:00Z
  return std::chrono::system_clock::time_point(std::chrono::seconds(1440938160));
}

std::string Header(const HttpRequest& request, std::string_view name) {
  for (const auto& [n, v] : request.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

std::string Sign(HttpRequest request, const AwsConfig& config = SuiteConfig()) {
  SignV4(config, "service", "example.amazonaws.com", SuiteTime(), &request);
  EXPECT_EQ(Header(request, "X-Amz-Date"), "20150830T123600Z");
  return Header(request, "Authorization");
}

std::string Expected(std::string_view signed_headers, std::string_view signature) {
  return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
         "SignedHeaders=" +
         std::string(signed_headers) + ", Signature=" + std::string(signature);
}

TEST(SigV4Test, GetVanilla) {
  HttpRequest request;
  request.method = "GET";
  EXPECT_EQ(Sign(request),
            Expected("host;x-amz-date",
                     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"));
}

TEST(SigV4Test, PostVanilla) {
  HttpRequest request;
  EXPECT_EQ(Sign(request),
            Expected("host;x-amz-date",
                     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"));
}

TEST(SigV4Test, QueryParametersAreSorted) {
  HttpRequest request;
  request.method = "GET";
  request.target = "/?Param2=value2&Param1=value1";
  EXPECT_EQ(Sign(request),
            Expected("host;x-amz-date",
                     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
}

TEST(SigV4Test, PostVanillaQuery) {
  HttpRequest request;
  request.target = "/?Param1=value1";
  EXPECT_EQ(Sign(request),
            Expected("host;x-amz-date",
                     "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"));
}

TEST(SigV4Test, BodyAndContentTypeAreSigned) {
  HttpRequest request;
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.body = "Param1=value1";
  EXPECT_EQ(Sign(request),
            Expected("content-type;host;x-amz-date",
                     "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"));
}

TEST(SigV4Test, HeaderValuesAreTrimmedAndBlanksCollapsed) {
  HttpRequest request;
  request.method = "GET";
  request.headers.emplace_back("My-Header1", " value1");
  request.headers.emplace_back("My-Header2", "\"a   b   c\"");
  EXPECT_EQ(Sign(request),
            Expected("host;my-header1;my-header2;x-amz-date",
                     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"));
}

TEST(SigV4Test, SessionTokenIsSentAndSigned) {
  AwsConfig config = SuiteConfig();
  config.session_token = "AQoDYXdzEXAMPLE";
  HttpRequest request;
  SignV4(config, "service", "example.amazonaws.com", SuiteTime(), &request);
  EXPECT_EQ(Header(request, "X-Amz-Security-Token"), "AQoDYXdzEXAMPLE");
  EXPECT_NE(
      Header(request, "Authorization").find("SignedHeaders=host;x-amz-date;x-amz-security-token,"),
      std::string::npos);
}

TEST(SigV4Test, AnyChangeChangesTheSignature) {
  HttpRequest base;
  base.body = "{}";
  const std::string reference = Sign(base);
  HttpRequest other_body = base;
  other_body.body = "{ }";
  EXPECT_NE(Sign(other_body), reference);
  AwsConfig other_key = SuiteConfig();
  other_key.secret_access_key.back() = 'X';
  EXPECT_NE(Sign(base, other_key), reference);
  HttpRequest other_target = base;
  other_target.target = "/x";
  EXPECT_NE(Sign(other_target), reference);
}

}  // namespace
}  // namespace tally

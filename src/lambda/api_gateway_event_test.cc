#include "lambda/api_gateway_event.h"

#include <gtest/gtest.h>

#include "lambda/test_events.h"

namespace tally::lambda {
namespace {

using nlohmann::json;

TEST(ApiGatewayEventTest, DecodesAwsRestApiSample) {
  auto decoded = DecodeEvent(LoadFixture("apigw-request.json"));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const Request& r = decoded->request;
  EXPECT_EQ(decoded->format, PayloadFormat::kRestV1);
  EXPECT_EQ(r.method, Method::kPost);
  EXPECT_EQ(r.path, "/hello/world");
  EXPECT_EQ(r.query, "name=me");
  EXPECT_EQ(r.Header("user-agent"), "PostmanRuntime/2.4.5");
  EXPECT_EQ(r.Header("x-forwarded-for"), "54.240.196.186, 54.182.214.83");
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.Header("headername"), "headerValue");
  EXPECT_EQ(r.client_ip, "192.168.196.186");
  EXPECT_EQ(r.body, "{\r\n\t\"a\": 1\r\n}");
  for (const auto& [name, value] : r.headers) {
    EXPECT_EQ(name, json(name).get<std::string>());
    for (char c : name) EXPECT_FALSE(c >= 'A' && c <= 'Z') << name;
  }
}

TEST(ApiGatewayEventTest, DecodesAwsHttpApiSample) {
  auto decoded = DecodeEvent(LoadFixture("apigw-v2-request-iam.json"));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const Request& r = decoded->request;
  EXPECT_EQ(decoded->format, PayloadFormat::kHttpV2);
  EXPECT_EQ(r.method, Method::kGet);
  EXPECT_EQ(r.path, "/my/path");
  EXPECT_EQ(r.query, "parameter1=value1&parameter1=value2&parameter2=value");
  EXPECT_EQ(r.Header("header1"), "value1");
  EXPECT_EQ(r.Header("cookie"), "cookie1; cookie2");
  EXPECT_EQ(r.client_ip, "IP");
  EXPECT_EQ(r.body, "{\r\n\t\"a\": 1\r\n}");
}

TEST(ApiGatewayEventTest, MultiValueQueryAndHeadersWinAndAreReEncoded) {
  json event = LoadFixture("apigw-request.json");
  event["path"] = "/v1/sites/example.com/hits";
  event["queryStringParameters"] = {{"key", "last"}};
  event["multiValueQueryStringParameters"] = {{"key", {"/blog/a b?&=ü"}}, {"x", {"1", "2"}}};
  event["multiValueHeaders"] = {{"Accept-Language", {"en", "fr"}}};
  auto decoded = DecodeEvent(event);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->request.query, "key=%2Fblog%2Fa%20b%3F%26%3D%C3%BC&x=1&x=2");
  ASSERT_EQ(decoded->request.headers.size(), 2u);
  EXPECT_EQ(decoded->request.headers[0],
            (std::pair<std::string, std::string>{"accept-language", "en"}));
  EXPECT_EQ(decoded->request.headers[1].second, "fr");
}

TEST(ApiGatewayEventTest, SingleValueFieldsWhenNoMultiValue) {
  json event = LoadFixture("apigw-request.json");
  event.erase("multiValueQueryStringParameters");
  event.erase("multiValueHeaders");
  event["queryStringParameters"] = {{"key", "/"}};
  auto decoded = DecodeEvent(event);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->request.query, "key=%2F");
  EXPECT_EQ(decoded->request.Header("user-agent"), "PostmanRuntime/2.4.5");
}

TEST(ApiGatewayEventTest, NullFieldsAreAbsent) {
  json event = LoadFixture("apigw-request.json");
  event["multiValueQueryStringParameters"] = nullptr;
  event["queryStringParameters"] = nullptr;
  event["body"] = nullptr;
  auto decoded = DecodeEvent(event);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->request.query, "");
  EXPECT_EQ(decoded->request.body, "");
}

TEST(ApiGatewayEventTest, Base64Bodies) {
  for (const char* fixture : {"apigw-request.json", "apigw-v2-request-iam.json"}) {
    json event = LoadFixture(fixture);
    event["isBase64Encoded"] = true;
    event["body"] = "eyJoaXRzIjo0Mn0=";
    auto decoded = DecodeEvent(event);
    ASSERT_TRUE(decoded.ok()) << fixture;
    EXPECT_EQ(decoded->request.body, "{\"hits\":42}");
    event["body"] = "not*base64";
    EXPECT_EQ(DecodeEvent(event).status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(ApiGatewayEventTest, RejectsWhatIsNotAProxyEvent) {
  EXPECT_FALSE(DecodeEvent(json::array()).ok());
  EXPECT_FALSE(DecodeEvent(json{{"Records", json::array()}}).ok());  // e.g. an SQS event
  json v1 = LoadFixture("apigw-request.json");
  v1["headers"] = json::array();
  v1.erase("multiValueHeaders");
  EXPECT_EQ(DecodeEvent(v1).status().code(), StatusCode::kInvalidArgument);
  json v2 = LoadFixture("apigw-v2-request-iam.json");
  v2["requestContext"].erase("http");
  EXPECT_EQ(DecodeEvent(v2).status().code(), StatusCode::kInvalidArgument);
  v2 = LoadFixture("apigw-v2-request-iam.json");
  v2["cookies"] = "a=b";
  EXPECT_EQ(DecodeEvent(v2).status().code(), StatusCode::kInvalidArgument);
}

TEST(ApiGatewayEventTest, MethodsAndPaths) {
  EXPECT_EQ(ParseMethod("OPTIONS"), Method::kOptions);
  EXPECT_EQ(ParseMethod("PATCH"), Method::kPatch);
  EXPECT_EQ(ParseMethod("get"), Method::kOther);
  json event = LoadFixture("apigw-request.json");
  event["path"] = "/hit/my ns/100%";
  auto decoded = DecodeEvent(event);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->request.path, "/hit/my%20ns/100%25");
}

Response SampleResponse() {
  Response r;
  r.status = 429;
  r.body = R"({"error":{"code":"rate_limited"}})";
  r.headers = {{"Retry-After", "3"},
               {"Vary", "Origin"},
               {"Vary", "Accept"},
               {"Set-Cookie", "a=1"},
               {"Set-Cookie", "b=2"}};
  return r;
}

TEST(ApiGatewayEventTest, EncodesRestApiResponse) {
  json out = EncodeResponse(SampleResponse(), PayloadFormat::kRestV1);
  EXPECT_EQ(out["statusCode"], 429);
  EXPECT_EQ(out["headers"]["Content-Type"], "application/json");
  EXPECT_EQ(out["headers"]["Retry-After"], "3");
  EXPECT_EQ(out["multiValueHeaders"]["Vary"], json({"Origin", "Accept"}));
  EXPECT_EQ(out["multiValueHeaders"]["Set-Cookie"], json({"a=1", "b=2"}));
  EXPECT_EQ(out["body"], R"({"error":{"code":"rate_limited"}})");
  EXPECT_EQ(out["isBase64Encoded"], false);
  EXPECT_FALSE(out.contains("cookies"));
}

TEST(ApiGatewayEventTest, EncodesHttpApiResponse) {
  json out = EncodeResponse(SampleResponse(), PayloadFormat::kHttpV2);
  EXPECT_EQ(out["statusCode"], 429);
  EXPECT_EQ(out["headers"]["Vary"], "Origin, Accept");
  EXPECT_FALSE(out["headers"].contains("Set-Cookie"));
  EXPECT_EQ(out["cookies"], json({"a=1", "b=2"}));
  EXPECT_FALSE(out.contains("multiValueHeaders"));
  EXPECT_EQ(out["isBase64Encoded"], false);
}

TEST(ApiGatewayEventTest, BinaryBodiesGoOutAsBase64) {
  Response r;
  r.content_type = "application/octet-stream";
  r.body = std::string("\xff\x00\x01", 3);
  json out = EncodeResponse(r, PayloadFormat::kRestV1);
  EXPECT_EQ(out["isBase64Encoded"], true);
  EXPECT_EQ(out["body"], "/wAB");
  r.body = "caf\xc3\xa9 \xe2\x82\xac";  // valid UTF-8 stays text
  EXPECT_EQ(EncodeResponse(r, PayloadFormat::kHttpV2)["isBase64Encoded"], false);
  r.body = "\xc3";  // truncated sequence
  EXPECT_EQ(EncodeResponse(r, PayloadFormat::kHttpV2)["isBase64Encoded"], true);
}

TEST(ApiGatewayEventTest, Base64RoundTrip) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    std::string back;
    ASSERT_TRUE(Base64Decode(Base64Encode(s), &back)) << s;
    EXPECT_EQ(back, s);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  std::string out;
  EXPECT_TRUE(Base64Decode("Zm9v\nYmE", &out));
  EXPECT_EQ(out, "fooba");
  EXPECT_FALSE(Base64Decode("Zm=9v", &out));
  EXPECT_FALSE(Base64Decode("Z", &out));
}

}  // namespace
}  // namespace tally::lambda

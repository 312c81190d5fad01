#include "lambda/test_events.h"

#include <fstream>
#include <sstream>

namespace tally::lambda {

using nlohmann::json;

json LoadFixture(const std::string& name) {
  std::ifstream in(std::string(TALLY_LAMBDA_TESTDATA) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

std::string RestEvent(const std::string& method, const std::string& path, const json& query,
                      json headers, const std::string& body) {
  json event = LoadFixture("apigw-request.json");
  event["httpMethod"] = method;
  event["path"] = path;
  event["multiValueQueryStringParameters"] = query.empty() ? json(nullptr) : query;
  event["queryStringParameters"] = nullptr;
  for (auto it = headers.begin(); it != headers.end(); ++it) {
    event["multiValueHeaders"][it.key()] = {*it};
  }
  event["body"] = body.empty() ? json(nullptr) : json(body);
  return event.dump();
}

std::string HttpEvent(const std::string& method, const std::string& path, const std::string& query,
                      json headers) {
  json event = LoadFixture("apigw-v2-request-iam.json");
  event["requestContext"]["http"]["method"] = method;
  event["requestContext"]["http"]["path"] = path;
  event["requestContext"]["http"]["sourceIp"] = "198.51.100.7";
  event["rawPath"] = path;
  event["rawQueryString"] = query;
  event["body"] = nullptr;
  for (auto it = headers.begin(); it != headers.end(); ++it) event["headers"][it.key()] = *it;
  return event.dump();
}

}  // namespace tally::lambda

#include "lambda/ssm_parameter.h"

#include <chrono>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "aws/http_client.h"
#include "aws/sigv4.h"

namespace tally::lambda {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

}  // namespace

std::string SsmEndpoint(const AwsConfig& config) {
  std::string endpoint = Env("AWS_ENDPOINT_URL_SSM");
  if (endpoint.empty()) endpoint = Env("AWS_ENDPOINT_URL");
  if (endpoint.empty()) endpoint = "https://ssm." + config.region + ".amazonaws.com";
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

Result<std::string> GetParameter(const AwsConfig& config, std::string_view endpoint,
                                 std::string_view name) {
  HttpClientOptions options;
  options.connect_timeout = std::chrono::seconds(2);
  options.ca_bundle = config.ca_bundle;
  auto client = HttpClient::Create(endpoint, options);
  if (!client.ok()) return Status::InvalidArgument("SSM endpoint: " + client.status().message());
  HttpRequest request;
  request.body = nlohmann::json{{"Name", std::string(name)}, {"WithDecryption", true}}.dump();
  request.headers.emplace_back("Content-Type", "application/x-amz-json-1.1");
  request.headers.emplace_back("X-Amz-Target", "AmazonSSM.GetParameter");
  SignV4(config, "ssm", (*client)->host_header(), std::chrono::system_clock::now(), &request);
  HttpResponse reply = (*client)->Send(request, HttpClient::Clock::now() + std::chrono::seconds(5));
  if (!reply.status.ok()) return Status::Unavailable("SSM unreachable: " + reply.status.message());
  const int http_status = reply.code;
  nlohmann::json answer = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (http_status != 200) {
    std::string type;
    if (answer.is_object() && answer.contains("__type") && answer["__type"].is_string()) {
      type = answer["__type"].get<std::string>();
      if (size_t hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
    }
    std::string what = "SSM GetParameter " + std::string(name) + " answered HTTP " +
                       std::to_string(http_status) + (type.empty() ? "" : " " + type);
    if (type == "ParameterNotFound") return Status::NotFound(what);
    if (type == "AccessDeniedException") return Status::PermissionDenied(what);
    return Status::Unavailable(what);
  }
  if (!answer.is_object() || !answer.contains("Parameter") || !answer["Parameter"].is_object() ||
      !answer["Parameter"].contains("Value") || !answer["Parameter"]["Value"].is_string()) {
    return Status::Unavailable("SSM GetParameter sent an unreadable answer");
  }
  return answer["Parameter"]["Value"].get<std::string>();
}

}  // namespace tally::lambda

#include "lambda/ssm_parameter.h"

#include <curl/curl.h>

#include <cstdlib>
#include <mutex>

#include <nlohmann/json.hpp>

namespace tally::lambda {
namespace {

size_t AppendToString(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

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
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return Status::Internal("curl_easy_init failed");

  const std::string url = std::string(endpoint) + "/";
  const std::string body =
      nlohmann::json{{"Name", std::string(name)}, {"WithDecryption", true}}.dump();
  const std::string provider = "aws:amz:" + config.region + ":ssm";
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/x-amz-json-1.1");
  headers = curl_slist_append(headers, "X-Amz-Target: AmazonSSM.GetParameter");
  // No "Expect:" override: libcurl would sign that empty header too, and
  // SSM would refuse the signature. The body is far below the size at which
  // libcurl sends Expect: 100-continue.
  if (!config.session_token.empty()) {
    const std::string token = "X-Amz-Security-Token: " + config.session_token;
    headers = curl_slist_append(headers, token.c_str());
  }
  std::string response;
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, provider.c_str());
  curl_easy_setopt(curl, CURLOPT_USERNAME, config.access_key_id.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, config.secret_access_key.c_str());
  if (!config.ca_bundle.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, config.ca_bundle.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &AppendToString);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  CURLcode code = curl_easy_perform(curl);
  long http_status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) {
    return Status::Unavailable("SSM unreachable: " +
                               std::string(error[0] != '\0' ? error : curl_easy_strerror(code)));
  }
  nlohmann::json answer = nlohmann::json::parse(response, nullptr, /*allow_exceptions=*/false);
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

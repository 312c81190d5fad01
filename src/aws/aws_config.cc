#include "aws/aws_config.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace tally {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

}  // namespace

std::string FindCaBundle() {
  for (const char* path : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                           "/etc/ssl/cert.pem"}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) return path;
  }
  return "";
}

Result<AwsConfig> AwsConfig::FromEnvironment() {
  AwsConfig config;
  config.access_key_id = Env("AWS_ACCESS_KEY_ID");
  config.secret_access_key = Env("AWS_SECRET_ACCESS_KEY");
  config.session_token = Env("AWS_SESSION_TOKEN");
  config.region = Env("AWS_REGION");
  if (config.region.empty()) config.region = Env("AWS_DEFAULT_REGION");
  if (config.access_key_id.empty() || config.secret_access_key.empty()) {
    return Status::InvalidArgument(
        "dynamodb store: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN "
        "for temporary credentials)");
  }
  if (config.region.empty()) {
    return Status::InvalidArgument("dynamodb store: set AWS_REGION (or AWS_DEFAULT_REGION)");
  }
  for (char c : config.region) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return Status::InvalidArgument("dynamodb store: AWS_REGION '" + config.region +
                                     "' is not a region name");
    }
  }
  config.endpoint = Env("AWS_ENDPOINT_URL_DYNAMODB");
  if (config.endpoint.empty()) config.endpoint = Env("AWS_ENDPOINT_URL");
  if (config.endpoint.empty()) {
    config.endpoint = "https://dynamodb." + config.region + ".amazonaws.com";
  }
  while (!config.endpoint.empty() && config.endpoint.back() == '/') config.endpoint.pop_back();
  if (!config.endpoint.starts_with("http://") && !config.endpoint.starts_with("https://")) {
    return Status::InvalidArgument("dynamodb store: endpoint '" + config.endpoint +
                                   "' must start with http:// or https://");
  }
  config.ca_bundle = FindCaBundle();
  return config;
}

}  // namespace tally

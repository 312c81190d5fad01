// AwsConfig: where and as whom to call DynamoDB, read the way AWS tools
// read it (environment variables), so that `tally serve`, the Lambda and the
// AWS CLI agree on one setup.
//
// Thread safety: plain values; FromEnvironment may be called from any thread
// (it only reads the environment).
#pragma once

#include <string>

#include "common/status.h"

namespace tally {

struct AwsConfig {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty: long-term keys, no X-Amz-Security-Token
  std::string region;
  // Scheme, host and optional port, no trailing slash, e.g.
  // "https://dynamodb.eu-west-1.amazonaws.com" or "http://127.0.0.1:4567".
  std::string endpoint;
  // PEM bundle of trusted CAs for https; empty: OpenSSL's default paths.
  std::string ca_bundle;

  // Reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
  // AWS_REGION (else AWS_DEFAULT_REGION), and the endpoint from
  // AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL, else the regional AWS
  // endpoint. Finds a CA bundle at the Debian or the Amazon Linux location.
  // Returns InvalidArgument naming what is missing (keys, region) or
  // malformed (an endpoint that is not http:// or https://).
  static Result<AwsConfig> FromEnvironment();
};

// The first of the known CA bundle locations that exists
// (/etc/ssl/certs/ca-certificates.crt on Debian,
// /etc/pki/tls/certs/ca-bundle.crt on Amazon Linux and Fedora), or "".
std::string FindCaBundle();

}  // namespace tally

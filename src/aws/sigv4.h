// AWS Signature Version 4, as specified in "Create a signed AWS API request"
// (AWS IAM user guide) and checked against AWS's published test suite
// (sigv4_test.cc) and the AWS SDK for JavaScript's signer
// (tests/dynamodb/sigv4_test.cc). The cryptography is OpenSSL's (SHA-256,
// HMAC-SHA256); only the canonical forms are ours.
//
// Thread safety: a free function on caller-owned values; call from any thread.
#pragma once

#include <chrono>
#include <string_view>

#include "aws/aws_config.h"
#include "aws/http_message.h"

namespace tally {

// Signs `request`, to be sent to `host` (the Host header, "name[:port]"), for
// `service` ("dynamodb", "ssm") in config.region at time `now` with config's
// credentials: appends X-Amz-Date, X-Amz-Security-Token (with a session
// token) and Authorization. Every header already in `request` is signed, as
// are the method, the target and the body. The target's path is signed as
// given (AWS services other than S3 expect it normalised and encoded once;
// ours are "/"); its query parameters are sorted, their encoding kept.
void SignV4(const AwsConfig& config, std::string_view service, std::string_view host,
            std::chrono::system_clock::time_point now, HttpRequest* request);

}  // namespace tally

// Reads one parameter from AWS Systems Manager Parameter Store
// (GetParameter, JSON 1.1 protocol, target AmazonSSM.GetParameter) with
// WithDecryption, so a SecureString comes back in plain text. Signed with
// SigV4 (service "ssm"), like the DynamoDB client.
//
// Thread safety: a free function; call from any thread.
#pragma once

#include <string>
#include <string_view>

#include "aws/aws_config.h"
#include "common/status.h"

namespace tally::lambda {

// The SSM endpoint for `config`: AWS_ENDPOINT_URL_SSM, else AWS_ENDPOINT_URL,
// else https://ssm.REGION.amazonaws.com (no trailing slash).
std::string SsmEndpoint(const AwsConfig& config);

// Returns the (decrypted) value of parameter `name`, fetched from
// `endpoint` with `config`'s credentials, region and CA bundle; one attempt,
// at most 5 s. NotFound if SSM says ParameterNotFound; PermissionDenied for
// AccessDenied; Unavailable if SSM cannot be reached or fails otherwise.
Result<std::string> GetParameter(const AwsConfig& config, std::string_view endpoint,
                                 std::string_view name);

}  // namespace tally::lambda

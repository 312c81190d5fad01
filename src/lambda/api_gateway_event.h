// Translation between API Gateway proxy events and Tally's transport-neutral
// Request/Response (src/api/request.h), for the Lambda adapter.
//
// Both proxy payload formats are understood:
//   - REST API, payload format 1.0: httpMethod, path, headers and
//     multiValueHeaders, queryStringParameters and
//     multiValueQueryStringParameters (decoded values), body,
//     isBase64Encoded, requestContext.identity.sourceIp.
//   - HTTP API, payload format 2.0 ("version": "2.0"): requestContext.http
//     {method, sourceIp}, rawPath, rawQueryString, headers (repeated values
//     joined by commas), cookies, body, isBase64Encoded.
//
// Thread safety: free functions on caller-owned values; call from any thread.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/request.h"
#include "api/response.h"
#include "common/status.h"

namespace tally::lambda {

enum class PayloadFormat { kRestV1, kHttpV2 };

struct DecodedEvent {
  PayloadFormat format = PayloadFormat::kRestV1;
  Request request;
};

// Decodes an API Gateway proxy event. Header names come out lower-case, in
// event order, one entry per value (v1 multiValueHeaders) or per header (v2);
// v2 cookies become one `cookie` header. The query is rebuilt as a raw,
// percent-encoded string (v1 gives decoded values; v2's rawQueryString is
// kept as sent). A base64 body is decoded. Returns InvalidArgument if `event`
// is not an object in either format or a field has the wrong type or a
// base64 body is malformed; never throws.
Result<DecodedEvent> DecodeEvent(const nlohmann::json& event);

// Encodes `response` as the Lambda result API Gateway expects for `format`:
// statusCode, headers (Content-Type included), body, and isBase64Encoded —
// false for valid UTF-8, otherwise the body is base64-encoded and it is true.
// v1 also gets multiValueHeaders with every value of repeated headers; v2
// joins repeated headers with ", " and puts Set-Cookie values in `cookies`.
nlohmann::json EncodeResponse(const Response& response, PayloadFormat format);

// Maps an HTTP method name to Method (kOther for unknown names).
Method ParseMethod(std::string_view name);

// Standard base64 (RFC 4648, with padding). Decode accepts missing padding
// and ignores whitespace; returns false on any other malformed input.
std::string Base64Encode(std::string_view data);
bool Base64Decode(std::string_view text, std::string* out);

// Percent-encodes everything outside RFC 3986's unreserved set.
std::string PercentEncode(std::string_view text);

}  // namespace tally::lambda

#include "api/error_response.h"

#include <cstdio>

namespace tally {

void AppendJsonEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
}

void SetError(Response& response, int http_status, std::string_view code,
              std::string_view message) {
  response.status = http_status;
  response.content_type = "application/json";
  response.body.clear();
  response.body += "{\"error\":{\"code\":\"";
  AppendJsonEscaped(response.body, code);
  response.body += "\",\"message\":\"";
  AppendJsonEscaped(response.body, message);
  response.body += "\"}}";
  if (http_status == 429 || http_status == 503) response.SetHeader("Retry-After", "1");
}

void SetErrorFromStatus(Response& response, const Status& status, std::string_view not_found_code) {
  switch (status.code()) {
    case StatusCode::kOk:
      SetError(response, 500, "internal", "an error was expected here");
      return;
    case StatusCode::kInvalidArgument:
      SetError(response, 400, "invalid_request", status.message());
      return;
    case StatusCode::kNotFound:
      SetError(response, 404, not_found_code, status.message());
      return;
    case StatusCode::kAlreadyExists:
      SetError(response, 409, "already_exists", status.message());
      return;
    case StatusCode::kUnauthenticated:
      SetError(response, 401, "unauthorized", status.message());
      return;
    case StatusCode::kPermissionDenied:
      SetError(response, 403, "forbidden", status.message());
      return;
    case StatusCode::kResourceExhausted:
      SetError(response, 503, "overloaded", status.message());
      return;
    case StatusCode::kUnavailable:
      // The store's own message may name files or hosts; keep it in the logs.
      SetError(response, 503, "store_unavailable", "the store is unavailable; try again shortly");
      return;
    case StatusCode::kInternal:
      SetError(response, 500, "internal", "internal error");
      return;
  }
}

}  // namespace tally

// The plain HTTP/1.1 request and response that HttpClient sends and
// receives and SignV4 signs: values, no I/O.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tally {

struct HttpRequest {
  std::string method = "POST";
  // Path and query as they go on the wire, already percent-encoded.
  std::string target = "/";
  // Headers besides Host and Content-Length, which the client adds.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpResponse {
  // OK when an answer arrived, whatever its HTTP status. Unavailable when
  // none did: no connection, a TLS failure, a timeout, a broken answer.
  Status status;
  int code = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The value of header `name` (ASCII case-insensitive), "" if absent.
  std::string_view Header(std::string_view name) const;
};

}  // namespace tally

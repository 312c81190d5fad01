// The transport-neutral request and response that the api layer works on.
//
// The HTTP server and the Lambda adapter translate their own representations
// into these and back; nothing in src/api knows about sockets or events.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tally {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

// One HTTP request. Header names are stored lower-case (the transport does
// that); values as received. Only the query string's raw form is kept; the
// api parses it.
struct Request {
  Method method = Method::kGet;
  std::string path;   // raw path, percent-encoded as received, no query
  std::string query;  // raw query string without '?', may be empty
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string body;
  std::string client_ip;  // peer address as seen by the transport

  // Returns the first header with `lower_name`, or an empty view.
  std::string_view Header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
      if (name == lower_name) return value;
    }
    return {};
  }
  bool HasHeader(std::string_view lower_name) const {
    for (const auto& h : headers) {
      if (h.first == lower_name) return true;
    }
    return false;
  }

  // Clears all fields but keeps their capacity, so a connection can reuse one
  // Request for every request it reads.
  void Clear() {
    method = Method::kGet;
    path.clear();
    query.clear();
    headers.clear();
    body.clear();
    client_ip.clear();
  }
};

}  // namespace tally

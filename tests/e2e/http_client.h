// A tiny blocking HTTP/1.1 client over raw loopback sockets, for the
// process-level tests. Raw sockets rather than a library because the tests
// also need to send bytes no library would send (malformed request lines,
// one byte at a time, headers of any size).
//
// One HttpClient is one TCP connection; it is not thread-safe (give each test
// thread its own).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tally::e2e {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::string reason;
  Headers headers;  // names as received
  std::string body;

  // The first header named `name` (case-insensitive), or nullopt.
  std::optional<std::string> Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const { return Header(name).has_value(); }
};

// What went wrong when no response could be read.
enum class ReadError { kNone, kTimeout, kClosed, kMalformed };

class HttpClient {
 public:
  explicit HttpClient(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpClient();

  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Connects to 127.0.0.1:port if not connected. False if that fails.
  bool Connect();
  void Close();
  bool connected() const { return fd_ >= 0; }

  // Writes `bytes` as they are. False if the connection is broken.
  bool SendRaw(std::string_view bytes);

  // Reads one response (status line, headers, a body framed by
  // Content-Length or chunked encoding, or up to EOF without either).
  // nullopt on timeout, EOF before a full response, or garbage; error() says
  // which.
  std::optional<HttpResponse> ReadResponse(bool head_request = false);
  ReadError error() const { return error_; }

  // True if the peer closes the connection (EOF or reset) within `timeout`
  // without sending anything more.
  bool WaitForClose(std::chrono::milliseconds timeout);

  // Sends a well-formed request on this connection (connecting first if
  // needed) and reads its response. Adds Host, and Content-Length when there
  // is a body or the method is POST/PUT/PATCH. On failure returns a response
  // with status 0 and the reason in `reason`.
  HttpResponse Request(std::string_view method, std::string_view target,
                       const Headers& headers = {}, std::string_view body = {});

  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

 private:
  // Reads more bytes into buffer_; false on EOF/error/timeout (sets error_).
  bool Fill(std::chrono::steady_clock::time_point deadline);
  // Reads until buffer_ holds `n` bytes beyond `from`.
  bool FillTo(size_t n, std::chrono::steady_clock::time_point deadline);
  std::optional<HttpResponse> Fail(ReadError error);

  uint16_t port_;
  std::chrono::milliseconds timeout_;
  int fd_ = -1;
  std::string buffer_;  // received and not yet consumed; kept across responses
  ReadError error_ = ReadError::kNone;
};

// One request on a fresh connection.
HttpResponse Fetch(uint16_t port, std::string_view method, std::string_view target,
                   const Headers& headers = {}, std::string_view body = {});

}  // namespace tally::e2e

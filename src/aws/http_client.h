// HttpClient: HTTP/1.1 to one origin (http:// or https://host[:port]) over
// kept-alive connections, many requests in parallel. Boost.Beast over Asio,
// TLS by OpenSSL with the peer's certificate and host name verified.
//
// Tally's own client for what it calls: DynamoDB, SSM Parameter Store and the
// Lambda Runtime API. It does no retries (callers know what is safe to
// repeat) except one: a request that fails on a kept-alive connection before
// any byte of an answer arrived is sent again on a new connection, because
// the server may have closed the idle connection meanwhile. A request may
// therefore reach the server twice; callers make writes idempotent.
//
// Thread safety: every method may be called from any thread, concurrently.
// Each call borrows a session (an io_context with its idle connections) from
// a pool, runs it on the calling thread, and gives it back.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aws/http_message.h"
#include "common/status.h"

namespace tally {

struct HttpClientOptions {
  // Connections used at once by one SendAll.
  int max_in_flight = 32;
  // Resolving the host and opening a connection (TLS handshake included).
  std::chrono::milliseconds connect_timeout{1000};
  // https: PEM file of trusted CAs; empty: OpenSSL's default locations.
  std::string ca_bundle;
  // An answer with a larger body is a failed request.
  size_t max_response_body = 16u << 20;
  // Idle connections older than this are closed rather than reused: load
  // balancers and NATs drop idle connections silently after about a minute.
  std::chrono::seconds max_idle{50};
};

class HttpClient {
 public:
  using Clock = std::chrono::steady_clock;

  // A client for `origin` ("http://127.0.0.1:4567",
  // "https://dynamodb.eu-west-1.amazonaws.com"); nothing is sent yet.
  // InvalidArgument if `origin` is not scheme://host[:port] with scheme http
  // or https, or if the CA bundle cannot be read.
  static Result<std::unique_ptr<HttpClient>> Create(std::string_view origin,
                                                    HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // The Host header sent: the host, with ":port" unless the scheme's default.
  const std::string& host_header() const { return host_header_; }

  // Sends requests[i] and fills responses[i] (the spans must have equal
  // sizes), at most max_in_flight at once. Returns when every request is
  // answered or has failed; whatever is not answered by `deadline` fails as
  // Unavailable. Clock::time_point::max() means no deadline. Name resolution
  // (getaddrinfo) is the one step the deadline cannot cut short.
  void SendAll(std::span<const HttpRequest> requests, std::span<HttpResponse> responses,
               Clock::time_point deadline);

  // SendAll of one request.
  HttpResponse Send(const HttpRequest& request, Clock::time_point deadline);

 private:
  class Session;
  struct Origin {
    bool tls = false;
    std::string host;
    std::string port;
  };

  HttpClient(Origin origin, HttpClientOptions options);
  std::unique_ptr<Session> AcquireSession();
  void ReleaseSession(std::unique_ptr<Session> session);

  const Origin origin_;
  const HttpClientOptions options_;
  const std::string host_header_;
  struct TlsContext;
  std::unique_ptr<TlsContext> tls_;  // set for https

  std::mutex mu_;
  std::vector<std::unique_ptr<Session>> idle_sessions_;  // guarded by mu_
};

}  // namespace tally

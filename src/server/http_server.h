// The HTTP/1.1 server: accepts connections, turns each request into an
// api::Request for a RequestHandler and writes the Response it sends back.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "api/request_handler.h"
#include "common/status.h"

namespace tally {

class Metrics;

struct ServerOptions {
  // Address to listen on: an IPv4/IPv6 literal or a host name resolved once at
  // Start (the first address is used).
  std::string host = "127.0.0.1";
  // 0 picks an ephemeral port; port() tells which.
  uint16_t port = 8080;
  // Network threads, each with its own io_context and acceptor (SO_REUSEPORT).
  // 0 means std::thread::hardware_concurrency(), at least 1.
  int threads = 0;
  // Bytes of request line plus header fields; more is answered 431.
  std::size_t header_limit = std::size_t{8} * 1024;
  // Bytes of (decoded) request body; more is answered 413.
  std::size_t body_limit = std::size_t{64} * 1024;
  // Time a client has to send one whole request: from accept for the first
  // request of a connection, from its first byte for later ones. Also the time
  // a client has to read (take) one response. A client that is slower is
  // disconnected without an answer (slowloris protection).
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  // Time a keep-alive connection may sit idle between requests before the
  // server closes it.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // Open connections above this are answered 503 (best effort) and closed.
  std::size_t max_connections = 10000;
};

// An HTTP/1.1 server (keep-alive, pipelining, chunked request bodies) in front
// of a RequestHandler.
//
// Each request is handed to `handler.Handle(request, sink)` on a network
// thread; the handler must not block there (hand slow work to other threads
// and call sink.Send from them). At most one request per connection is with
// the handler at a time; pipelined requests wait, in order.
//
// Threads: Start, Stop, Wait and port() may be called from any thread that is
// not one of the server's network threads (Stop from a handler would wait for
// itself), but Start and Stop not concurrently with the destructor. Stop is not
// async-signal-safe: call it from a thread that waits for signals (sigwait,
// asio::signal_set), not from inside a signal handler.
//
// Lifetime: `handler` and `metrics` must outlive the server. The handler must
// call Send for every request it was given before the server is destroyed;
// Send after Stop returned is harmless (the response is dropped).
class HttpServer {
 public:
  // `metrics` may be null. Nothing happens until Start.
  HttpServer(ServerOptions options, RequestHandler& handler, Metrics* metrics);
  // Stops (with no grace) if still running.
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the network threads. Returns an error (address
  // in use, bad host, ...) instead of throwing; the server is then not
  // running. Call at most once.
  Status Start();

  // The port actually bound (useful with port 0); 0 before a successful Start.
  uint16_t port() const;

  // Graceful stop: stops accepting, closes idle keep-alive connections, lets
  // requests already received (or being received) get their responses
  // written, with `Connection: close`. Whatever is still open after `grace` is
  // closed. Returns when the network threads have ended. Idempotent; a second
  // concurrent call waits for the first.
  void Stop(std::chrono::milliseconds grace);

  // Blocks until the server has been stopped (returns at once if it never
  // started).
  void Wait();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tally

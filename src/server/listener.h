// The accept loop of one network thread.
#pragma once

// Boost 1.74's Asio uses std::exchange without including <utility>; with g++ 12
// in C++20 mode that breaks unless <utility> comes first.
#include <utility>

#include <cstdint>

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include "server/http_session.h"

namespace tally::http {

// Owns one acceptor, bound with SO_REUSEPORT so that every network thread
// accepts on the same port and the kernel spreads connections between them.
// Creates an HttpSession per accepted connection, or refuses the connection
// when the server is at max_connections.
//
// Threads: Open from any one thread before the io_context runs; everything
// else on the io_context's (network) thread.
class Listener {
 public:
  Listener(boost::asio::io_context& io, SessionHost& host);

  // Opens, binds and listens. Returns the error instead of throwing.
  boost::system::error_code Open(const boost::asio::ip::tcp::endpoint& endpoint);
  // The bound port (after a successful Open).
  uint16_t port() const;

  // Starts the accept loop.
  void Start();
  // Stops accepting; queued, not yet accepted connections are reset.
  void Close();

 private:
  using Acceptor = boost::asio::basic_socket_acceptor<boost::asio::ip::tcp, Executor>;
  using Timer = boost::asio::basic_waitable_timer<
      std::chrono::steady_clock, boost::asio::wait_traits<std::chrono::steady_clock>, Executor>;

  void DoAccept();
  void OnAccept(boost::system::error_code ec, Socket socket);
  // Answers 503 if the socket takes it without blocking, then closes.
  static void Refuse(Socket& socket);

  SessionHost& host_;
  Acceptor acceptor_;
  Timer backoff_;  // after errors like EMFILE, so the loop does not spin
  std::chrono::steady_clock::time_point last_error_log_{};
};

}  // namespace tally::http

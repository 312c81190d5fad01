#include "server/listener.h"

#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>
#include <boost/asio/socket_base.hpp>

namespace tally::http {

namespace net = boost::asio;
using boost::system::error_code;

namespace {

using ReusePort = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// After an accept error caused by resource exhaustion (no file descriptors,
// no memory), wait this long before accepting again: the condition rarely
// clears within microseconds, and retrying at once would spin a core.
constexpr std::chrono::milliseconds kAcceptBackoff{50};
constexpr std::chrono::seconds kAcceptErrorLogInterval{5};

constexpr std::string_view kServiceUnavailable =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Server: tally\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 78\r\n"
    "Retry-After: 1\r\n"
    "Connection: close\r\n"
    "\r\n"
    R"({"error":{"code":"unavailable","message":"too many connections, retry later"}})";

bool IsResourceExhaustion(const error_code& ec) {
  return ec == net::error::no_descriptors ||  // EMFILE
         ec == net::error::no_memory || ec == net::error::no_buffer_space ||
         ec == boost::system::errc::too_many_files_open_in_system;  // ENFILE
}

}  // namespace

Listener::Listener(net::io_context& io, SessionHost& host)
    : host_(host), acceptor_(io.get_executor()), backoff_(io.get_executor()) {}

error_code Listener::Open(const net::ip::tcp::endpoint& endpoint) {
  error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.set_option(ReusePort(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    acceptor_.close(ignored);
  }
  return ec;
}

uint16_t Listener::port() const {
  error_code ec;
  auto endpoint = acceptor_.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void Listener::Start() { DoAccept(); }

void Listener::Close() {
  error_code ignored;
  acceptor_.close(ignored);
  backoff_.cancel();
}

void Listener::DoAccept() {
  acceptor_.async_accept([this](error_code ec, Socket socket) { OnAccept(ec, std::move(socket)); });
}

void Listener::OnAccept(error_code ec, Socket socket) {
  if (!acceptor_.is_open() || host_.stopping) return;  // Close() was called
  if (ec) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_error_log_ >= kAcceptErrorLogInterval) {
      last_error_log_ = now;
      spdlog::warn("http: accept failed: {} (still accepting)", ec.message());
    }
    if (IsResourceExhaustion(ec)) {
      backoff_.expires_after(kAcceptBackoff);
      backoff_.async_wait([this](error_code wait_ec) {
        if (!wait_ec && acceptor_.is_open()) DoAccept();
      });
    } else {
      DoAccept();  // e.g. ECONNABORTED: that one connection is gone
    }
    return;
  }

  error_code ignored;
  // Responses go out in one write; Nagle would only delay them.
  socket.set_option(net::ip::tcp::no_delay(true), ignored);
  std::size_t open = host_.connections->fetch_add(1, std::memory_order_relaxed) + 1;
  if (open > host_.options->max_connections) {
    host_.connections->fetch_sub(1, std::memory_order_relaxed);
    Refuse(socket);
  } else {
    std::make_shared<HttpSession>(std::move(socket), host_)->Start();
  }
  DoAccept();
}

void Listener::Refuse(Socket& socket) {
  error_code ignored;
  // Non-blocking, one attempt: a network thread must never wait on a client.
  socket.non_blocking(true, ignored);
  socket.write_some(net::buffer(kServiceUnavailable.data(), kServiceUnavailable.size()), ignored);
  socket.shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

}  // namespace tally::http

#include "aws/http_client.h"

// <utility> before Asio: Boost 1.74's awaitable.hpp uses std::exchange
// without including it.
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <exception>
#include <optional>

namespace tally {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = HttpClient::Clock;

// Sessions kept for reuse between calls; more are made under concurrency.
constexpr size_t kMaxIdleSessions = 8;

HttpResponse Failure(std::string message) {
  HttpResponse response;
  response.status = Status::Unavailable(std::move(message));
  return response;
}

// Arms `stream`'s timer for the next operations: until `deadline`, or never.
void ExpireAt(beast::tcp_stream& stream, Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) {
    stream.expires_never();
  } else {
    stream.expires_at(deadline);
  }
}

std::string Describe(const beast::error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  return ec.message();
}

}  // namespace

std::string_view HttpResponse::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (beast::iequals(n, beast::string_view(name.data(), name.size()))) return v;
  }
  return {};
}

struct HttpClient::TlsContext {
  ssl::context context{ssl::context::tls_client};
};

// One open connection, plain or TLS, with its read buffer.
struct Connection {
  explicit Connection(const asio::any_io_executor& executor) : plain(std::in_place, executor) {}
  Connection(const asio::any_io_executor& executor, ssl::context& context)
      : tls(std::in_place, executor, context) {}

  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  Clock::time_point idle_since;
};

// An io_context and the connections opened on it, used by one call at a time.
class HttpClient::Session {
 public:
  asio::io_context& io() { return io_; }

  // An idle connection young enough to reuse, or null.
  std::unique_ptr<Connection> TakeIdle(std::chrono::seconds max_idle) {
    const Clock::time_point now = Clock::now();
    while (!idle_.empty()) {
      std::unique_ptr<Connection> c = std::move(idle_.back());
      idle_.pop_back();
      if (now - c->idle_since < max_idle) return c;
    }
    return nullptr;
  }

  void ReturnIdle(std::unique_ptr<Connection> c, size_t max_idle_connections) {
    if (idle_.size() >= max_idle_connections) return;
    c->idle_since = Clock::now();
    idle_.push_back(std::move(c));
  }

 private:
  asio::io_context io_{1};
  std::vector<std::unique_ptr<Connection>> idle_;
};

namespace {

// One SendAll: the requests, where their answers go, and the next to send.
struct Batch {
  std::span<const HttpRequest> requests;
  std::span<HttpResponse> responses;
  Clock::time_point deadline;
  size_t next = 0;
};

}  // namespace

Result<std::unique_ptr<HttpClient>> HttpClient::Create(std::string_view origin_text,
                                                       HttpClientOptions options) {
  Origin origin;
  std::string_view rest;
  if (origin_text.starts_with("https://")) {
    origin.tls = true;
    rest = origin_text.substr(8);
  } else if (origin_text.starts_with("http://")) {
    rest = origin_text.substr(7);
  } else {
    return Status::InvalidArgument("'" + std::string(origin_text) +
                                   "' must start with http:// or https://");
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  const size_t colon = rest.rfind(':');
  const bool bracketed = !rest.empty() && rest.front() == '[';
  if (colon != std::string_view::npos && (!bracketed || rest.find(']') < colon)) {
    origin.host = std::string(rest.substr(0, colon));
    origin.port = std::string(rest.substr(colon + 1));
  } else {
    origin.host = std::string(rest);
    origin.port = origin.tls ? "443" : "80";
  }
  if (bracketed && origin.host.size() > 2 && origin.host.back() == ']') {
    origin.host = origin.host.substr(1, origin.host.size() - 2);
  }
  const bool port_ok = !origin.port.empty() && origin.port.size() <= 5 &&
                       std::all_of(origin.port.begin(), origin.port.end(),
                                   [](char c) { return c >= '0' && c <= '9'; });
  if (origin.host.empty() || !port_ok || origin.host.find('/') != std::string::npos) {
    return Status::InvalidArgument("'" + std::string(origin_text) +
                                   "' is not scheme://host[:port]");
  }
  if (options.max_in_flight < 1) options.max_in_flight = 1;
  std::unique_ptr<HttpClient> client(new HttpClient(std::move(origin), std::move(options)));
  if (client->origin_.tls) {
    client->tls_ = std::make_unique<TlsContext>();
    ssl::context& context = client->tls_->context;
    beast::error_code ec;
    context.set_verify_mode(ssl::verify_peer, ec);
    if (client->options_.ca_bundle.empty()) {
      context.set_default_verify_paths(ec);
    } else {
      context.load_verify_file(client->options_.ca_bundle, ec);
    }
    if (ec) {
      return Status::InvalidArgument("cannot load the CA bundle '" + client->options_.ca_bundle +
                                     "': " + ec.message());
    }
  }
  return client;
}

HttpClient::HttpClient(Origin origin, HttpClientOptions options)
    : origin_(std::move(origin)),
      options_(std::move(options)),
      host_header_(
          (origin_.host.find(':') != std::string::npos ? "[" + origin_.host + "]" : origin_.host) +
          (origin_.port == (origin_.tls ? "443" : "80") ? "" : ":" + origin_.port)) {}

HttpClient::~HttpClient() = default;

std::unique_ptr<HttpClient::Session> HttpClient::AcquireSession() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_sessions_.empty()) {
      std::unique_ptr<Session> s = std::move(idle_sessions_.back());
      idle_sessions_.pop_back();
      return s;
    }
  }
  return std::make_unique<Session>();
}

void HttpClient::ReleaseSession(std::unique_ptr<Session> session) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_sessions_.size() < kMaxIdleSessions) idle_sessions_.push_back(std::move(session));
}

namespace {

// Opens a connection to `host`:`port` (TLS when `tls` is set) within
// `connect_deadline`. Null and `error` set on failure.
asio::awaitable<std::unique_ptr<Connection>> Connect(const std::string& host,
                                                     const std::string& port, ssl::context* tls,
                                                     Clock::time_point connect_deadline,
                                                     std::string* error) {
  auto executor = co_await asio::this_coro::executor;
  beast::error_code ec;
  tcp::resolver resolver(executor);
  auto endpoints =
      co_await resolver.async_resolve(host, port, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    *error = "cannot resolve " + host + ": " + ec.message();
    co_return nullptr;
  }
  auto connection = tls != nullptr ? std::make_unique<Connection>(executor, *tls)
                                   : std::make_unique<Connection>(executor);
  beast::tcp_stream& stream = connection->tcp();
  ExpireAt(stream, connect_deadline);
  co_await stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    *error = "cannot connect to " + host + ":" + port + ": " + Describe(ec);
    co_return nullptr;
  }
  stream.socket().set_option(tcp::no_delay(true), ec);
  if (tls != nullptr) {
    auto& tls_stream = *connection->tls;
    if (!SSL_set_tlsext_host_name(tls_stream.native_handle(), host.c_str())) {
      *error = "TLS: cannot set the server name " + host;
      co_return nullptr;
    }
    tls_stream.set_verify_callback(ssl::host_name_verification(host));
    co_await tls_stream.async_handshake(ssl::stream_base::client,
                                        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      *error = "TLS handshake with " + host + " failed: " + Describe(ec);
      co_return nullptr;
    }
  }
  co_return connection;
}

// Writes `message` on `stream` and reads the answer into `parser`, whose
// body may not exceed `body_limit` bytes.
template <class Stream>
asio::awaitable<beast::error_code> RoundTrip(Stream& stream, beast::flat_buffer& buffer,
                                             http::request<http::string_body>& message,
                                             http::response_parser<http::string_body>& parser,
                                             size_t body_limit) {
  beast::error_code ec;
  co_await http::async_write(stream, message, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return ec;
  parser.body_limit(body_limit);
  co_await http::async_read_header(stream, buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return ec;
  // Beast 1.74's eager parsing (which http::read turns on) skips the
  // parser's own check of Content-Length against the limit.
  if (auto length = parser.content_length(); length && *length > body_limit) {
    co_return http::error::body_limit;
  }
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  co_return ec;
}

}  // namespace

void HttpClient::SendAll(std::span<const HttpRequest> requests, std::span<HttpResponse> responses,
                         Clock::time_point deadline) {
  if (requests.size() != responses.size()) {
    for (HttpResponse& r : responses) r.status = Status::Internal("SendAll: size mismatch");
    return;
  }
  if (requests.empty()) return;
  for (HttpResponse& r : responses) r = Failure("not sent");

  std::unique_ptr<Session> session = AcquireSession();
  Batch batch{requests, responses, deadline};
  ssl::context* tls = tls_ != nullptr ? &tls_->context : nullptr;

  // Sends one request, on an idle connection if there is one.
  auto exchange = [this, session = session.get(), tls,
                   &batch](const HttpRequest& request) -> asio::awaitable<HttpResponse> {
    http::request<http::string_body> message;
    const http::verb verb = http::string_to_verb(request.method);
    if (verb == http::verb::unknown) {
      HttpResponse r;
      r.status = Status::InvalidArgument("unknown HTTP method " + request.method);
      co_return r;
    }
    message.method(verb);
    message.target(request.target);
    message.version(11);
    message.set(http::field::host, host_header_);
    for (const auto& [name, value] : request.headers) message.insert(name, value);
    message.body() = request.body;
    message.prepare_payload();

    for (;;) {
      if (Clock::now() >= batch.deadline) co_return Failure("deadline passed before an answer");
      std::unique_ptr<Connection> connection = session->TakeIdle(options_.max_idle);
      const bool reused = connection != nullptr;
      if (!reused) {
        std::string error;
        const Clock::time_point connect_deadline =
            std::min(batch.deadline, Clock::now() + options_.connect_timeout);
        connection = co_await Connect(origin_.host, origin_.port, tls, connect_deadline, &error);
        if (connection == nullptr) co_return Failure(std::move(error));
      }
      ExpireAt(connection->tcp(), batch.deadline);
      http::response_parser<http::string_body> parser;
      beast::error_code ec;
      if (connection->tls) {
        ec = co_await RoundTrip(*connection->tls, connection->buffer, message, parser,
                                options_.max_response_body);
      } else {
        ec = co_await RoundTrip(*connection->plain, connection->buffer, message, parser,
                                options_.max_response_body);
      }
      if (ec) {
        // A kept-alive connection the server closed while it was idle.
        if (reused && !parser.got_some() && ec != beast::error::timeout) continue;
        co_return Failure("HTTP exchange with " + host_header_ + " failed: " + Describe(ec));
      }
      HttpResponse response;
      response.code = static_cast<int>(parser.get().result_int());
      for (const auto& field : parser.get()) {
        response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      const bool keep_alive = parser.keep_alive();
      response.body = std::move(parser.get().body());
      if (keep_alive) {
        session->ReturnIdle(std::move(connection), static_cast<size_t>(options_.max_in_flight));
      }
      co_return response;
    }
  };

  // Each worker sends the next unsent request until none is left.
  auto worker = [&batch, &exchange]() -> asio::awaitable<void> {
    while (batch.next < batch.requests.size()) {
      const size_t index = batch.next++;
      batch.responses[index] = co_await exchange(batch.requests[index]);
    }
  };

  std::exception_ptr failure;
  const size_t workers = std::min(requests.size(), static_cast<size_t>(options_.max_in_flight));
  for (size_t i = 0; i < workers; ++i) {
    asio::co_spawn(session->io(), worker(), [&failure](const std::exception_ptr& e) {
      if (e && !failure) failure = e;
    });
  }
  session->io().restart();
  session->io().run();
  if (failure) {
    // Only allocation failures can get here; the session's state is unknown.
    for (HttpResponse& r : responses) {
      if (r.status.ok()) continue;
      r.status = Status::Internal("HTTP client failed unexpectedly");
    }
    return;
  }
  ReleaseSession(std::move(session));
}

HttpResponse HttpClient::Send(const HttpRequest& request, Clock::time_point deadline) {
  HttpResponse response;
  SendAll({&request, 1}, {&response, 1}, deadline);
  return response;
}

}  // namespace tally

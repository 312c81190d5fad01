#include "server/http_session.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <exception>
#include <memory>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>

#include "api/metrics.h"
#include "server/date_header.h"

namespace tally::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using boost::beast::error_code;

namespace {

// How long a closing connection keeps reading (and discarding) what the
// client still sends after our last response, and how much of it. Closing
// with unread bytes in the receive buffer makes the kernel send RST, which can
// destroy the response before the client reads it (RFC 9112 section 9.6).
constexpr std::chrono::milliseconds kMaxLinger{std::chrono::seconds(5)};
constexpr std::size_t kMaxLingerBytes = std::size_t{1024} * 1024;
constexpr std::size_t kLingerChunk = 4096;
// A live response whose client reads slower than events come is closed once
// this many wait: memory stays bounded whatever the client does.
constexpr std::size_t kMaxQueuedEvents = 64;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Header fields the session itself owns: letting the api set them could break
// the message framing.
bool IsFramingHeader(std::string_view name) {
  return EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "transfer-encoding") ||
         EqualsIgnoreCase(name, "connection");
}

// A CR or LF in a field would let whoever chose the value inject headers.
// One pass over the bytes: find_first_of would call memchr on the three-byte
// set once per byte, which was 3% of a network thread's time in the benchmark.
bool IsSafeFieldText(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

bool StatusAllowsBody(int status) { return status >= 200 && status != 204 && status != 304; }

void AppendNumber(std::string& out, std::size_t value) {
  char digits[24];
  auto result = std::to_chars(digits, digits + sizeof(digits), value);
  out.append(digits, result.ptr);
}

}  // namespace

// The EventSink of one streaming session. Push may come from any thread; it
// hands the data to the session's own thread. Holds the session weakly, so a
// producer keeping the sink does not keep a closed connection alive.
class SessionEventSink final : public EventSink {
 public:
  SessionEventSink(std::weak_ptr<HttpSession> session, Executor executor)
      : session_(std::move(session)), executor_(std::move(executor)) {}
  bool Push(std::string data) override {
    if (closed_.load(std::memory_order_acquire)) return false;
    net::post(executor_, [session = session_, data = std::move(data)]() mutable {
      if (auto s = session.lock()) s->QueueEvent(std::move(data));
    });
    return true;
  }
  bool closed() const override { return closed_.load(std::memory_order_acquire); }
  void MarkClosed() { closed_.store(true, std::memory_order_release); }

 private:
  std::weak_ptr<HttpSession> session_;
  Executor executor_;
  std::atomic<bool> closed_{false};
};

void SessionHost::Add(HttpSession* session) {
  session->prev_ = nullptr;
  session->next_ = first_;
  if (first_ != nullptr) first_->prev_ = session;
  first_ = session;
}

void SessionHost::Remove(HttpSession* session) {
  if (session->prev_ != nullptr) {
    session->prev_->next_ = session->next_;
  } else {
    first_ = session->next_;
  }
  if (session->next_ != nullptr) session->next_->prev_ = session->prev_;
  session->prev_ = session->next_ = nullptr;
  // The last connection of a stopping server is gone: let run() return.
  if (stopping && first_ == nullptr) keep_running.reset();
}

void SessionHost::QueueAnswer(HttpSession* session, const Executor& executor) {
  bool post = false;
  {
    std::lock_guard lock(answers_mu_);
    session->next_answer_ = nullptr;
    if (answers_tail_ != nullptr) {
      answers_tail_->next_answer_ = session;
    } else {
      answers_head_ = session;
    }
    answers_tail_ = session;
    post = !std::exchange(answers_posted_, true);
  }
  if (post) net::post(executor, WithMemory(answers_memory_, [this] { RunAnswers(); }));
}

void SessionHost::DropQueuedAnswers() {
  HttpSession* session = nullptr;
  {
    std::lock_guard lock(answers_mu_);
    session = std::exchange(answers_head_, nullptr);
    answers_tail_ = nullptr;
  }
  while (session != nullptr) {
    HttpSession* next = session->next_answer_;
    HttpSession::Self last = std::move(session->queued_self_);  // may end it here
    session = next;
  }
}

void SessionHost::RunAnswers() {
  HttpSession* session = nullptr;
  {
    std::lock_guard lock(answers_mu_);
    session = std::exchange(answers_head_, nullptr);
    answers_tail_ = nullptr;
    answers_posted_ = false;
  }
  while (session != nullptr) {
    // OnResponse may end the session once its self is dropped: read the
    // link first.
    HttpSession* next = session->next_answer_;
    session->OnResponse(std::move(session->queued_self_));
    session = next;
  }
}

HttpSession::HttpSession(Socket socket, SessionHost& host)
    : host_(host),
      stream_executor_(socket.get_executor()),
      socket_(std::move(socket)),
      timer_(stream_executor_) {
  error_code ec;
  auto peer = socket_.remote_endpoint(ec);
  if (!ec) client_ip_ = peer.address().to_string();
  host_.Add(this);
  if (host_.metrics != nullptr) {
    host_.metrics->open_connections.fetch_add(1, std::memory_order_relaxed);
    host_.metrics->connections_total.fetch_add(1, std::memory_order_relaxed);
  }
}

HttpSession::~HttpSession() {
  if (host_.metrics != nullptr) {
    host_.metrics->open_connections.fetch_sub(1, std::memory_order_relaxed);
  }
  host_.connections->fetch_sub(1, std::memory_order_relaxed);
  host_.Remove(this);
}

void HttpSession::Start() { DoRead(shared_from_this()); }

void HttpSession::OnServerStop() {
  // Between requests, or connected but silent: nothing is owed to the client.
  bool nothing_received =
      phase_ == Phase::kReading && buffer_.size() == 0 && !(parser_ && parser_->got_some());
  if (phase_ == Phase::kIdle || phase_ == Phase::kStreaming || nothing_received) Close();
  // Otherwise DoWrite and OnWrite see host_.stopping and close after the
  // response.
}

void HttpSession::ForceClose() { Close(); }

void HttpSession::DoRead(Self self) {
  if (host_.stopping) {
    DoLinger(std::move(self));
    return;
  }
  request_.Clear();
  parser_.emplace(request_);
  parser_->header_limit(
      static_cast<std::uint32_t>(std::min<std::size_t>(host_.options->header_limit, UINT32_MAX)));
  parser_->body_limit(static_cast<std::uint64_t>(host_.options->body_limit));

  if (buffer_.size() > 0 || requests_read_ == 0) {
    // A pipelined request is already (partly) here, or this is a new
    // connection, which gets request_timeout rather than idle_timeout.
    ReadRequest(std::move(self));
    return;
  }
  // Keep-alive: wait up to idle_timeout for the first byte, then give the
  // rest of the request request_timeout (see ReadRequest).
  phase_ = Phase::kIdle;
  SetDeadline(host_.options->idle_timeout);
  socket_.async_read_some(buffer_.prepare(beast::read_size(buffer_, 65536)),
                          WithMemory(read_memory_, [this, self = std::move(self)](
                                                       error_code ec, std::size_t bytes) mutable {
                            OnIdleRead(std::move(self), ec, bytes);
                          }));
}

void HttpSession::OnIdleRead(Self self, error_code ec, std::size_t bytes) {
  buffer_.commit(bytes);
  if (ec) {
    // Idle timeout, the client closed, or the server is stopping: all normal.
    Close();
    return;
  }
  ReadRequest(std::move(self));
}

void HttpSession::ReadRequest(Self self) {
  phase_ = Phase::kReading;
  // One deadline for the whole request, however many reads it takes: a client
  // trickling bytes (slowloris) cannot extend it.
  SetDeadline(host_.options->request_timeout);
  // Usually the whole request is already buffered (read while idle, or
  // pipelined): parse it here rather than through an async operation, which
  // would cost a trip through the io_context's queue for no I/O.
  error_code ec = ParseBuffered();
  if (ec || parser_->is_header_done()) {
    OnReadHeader(std::move(self), ec);
    return;
  }
  // The header first, so that a client waiting on `Expect: 100-continue` can
  // be told to go on. For a request without body this is the whole request.
  beast_http::async_read_header(
      socket_, buffer_, *parser_,
      WithMemory(read_memory_, [this, self = std::move(self)](error_code ec, std::size_t) mutable {
        OnReadHeader(std::move(self), ec);
      }));
}

error_code HttpSession::ParseBuffered() {
  error_code ec;
  while (buffer_.size() > 0 && !parser_->is_done()) {
    std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == beast_http::error::need_more) return {};  // the rest is still on its way
    if (ec || used == 0) break;
  }
  return ec;
}

void HttpSession::OnReadHeader(Self self, error_code ec) {
  if (ec || parser_->is_done()) {
    OnRead(std::move(self), ec);
    return;
  }
  if (!parser_->expects_continue() || parser_->version() < 11) {
    ReadBody(std::move(self));
    return;
  }
  // The body fits body_limit (the parser checked Content-Length already).
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  net::async_write(socket_, net::buffer(kContinue.data(), kContinue.size()),
                   WithMemory(write_memory_, [this, self = std::move(self)](error_code write_ec,
                                                                            std::size_t) mutable {
                     if (write_ec) {
                       OnRead(std::move(self), write_ec);
                     } else {
                       ReadBody(std::move(self));
                     }
                   }));
}

void HttpSession::ReadBody(Self self) {
  beast_http::async_read(
      socket_, buffer_, *parser_,
      WithMemory(read_memory_, [this, self = std::move(self)](error_code ec, std::size_t) mutable {
        OnRead(std::move(self), ec);
      }));
}

void HttpSession::OnRead(Self self, error_code ec) {
  if (ec) {
    if (phase_ == Phase::kClosed) return;
    if (ec == beast_http::error::header_limit) {
      WriteError(std::move(self), 431, "header_too_large",
                 "the request line and header fields are too large");
    } else if (ec == beast_http::error::body_limit) {
      WriteError(std::move(self), 413, "payload_too_large", "the request body is too large");
    } else if (ec == beast_http::error::end_of_stream || ec == beast_http::error::partial_message ||
               ec == net::error::operation_aborted ||
               ec.category() !=
                   beast_http::make_error_code(beast_http::error::bad_target).category()) {
      // The client left or was too slow, or the socket failed: nobody to
      // answer.
      spdlog::debug("http: closing connection from {}: {}", client_ip_, ec.message());
      Close();
    } else {
      spdlog::debug("http: malformed request from {}: {}", client_ip_, ec.message());
      WriteError(std::move(self), 400, "bad_request", "the request is not valid HTTP/1.1");
    }
    return;
  }

  ++requests_read_;
  keep_alive_ = parser_->keep_alive();
  http10_ = parser_->version() == 10;
  head_request_ = request_.method == Method::kHead;
  request_.client_ip.assign(client_ip_);

  phase_ = Phase::kHandling;
  ClearDeadline();  // the handler's time is not the client's
  in_flight_self_ = std::move(self);
  in_handle_ = true;
  try {
    host_.handler->Handle(request_, *this);
  } catch (const std::exception& e) {
    // Handle promises not to throw. The handler may still call Send later,
    // so the session must stay alive; drop the connection.
    spdlog::error("http: request handler threw: {}", e.what());
    Close();
  } catch (...) {
    spdlog::error("http: request handler threw a non-standard exception");
    Close();
  }
  in_handle_ = false;
  if (answered_in_handle_) {
    answered_in_handle_ = false;
    OnResponse(std::move(in_flight_self_));
  }
}

void HttpSession::Send(Response response) {
  // Any thread. in_flight_self_ was set on the network thread before Handle,
  // and the handler's own hand-off to this thread orders that write before
  // this read; the network thread does not touch it again until OnResponse.
  if (!in_flight_self_) {
    // A second Send for one request (a handler bug); the first one won.
    spdlog::error("http: ResponseSink::Send called twice for one request; ignored");
    return;
  }
  if (stream_executor_.running_in_this_thread()) {
    response_ = std::move(response);
    if (in_handle_) {
      answered_in_handle_ = true;  // OnRead continues once Handle returns
    } else {
      OnResponse(std::move(in_flight_self_));
    }
    return;
  }
  // Another thread. The network thread does not touch response_ while the
  // handler has the request, and the host's lock orders this write before
  // RunAnswers reads it there.
  response_ = std::move(response);
  queued_self_ = std::move(in_flight_self_);
  host_.QueueAnswer(this, stream_executor_);
}

Response HttpSession::TakeSpareResponse() {
  // Only while the handler has the request on this thread: then nothing
  // else uses response_ until Send replaces it.
  if (!stream_executor_.running_in_this_thread() || !in_handle_ || answered_in_handle_) {
    return Response();
  }
  Response spare = std::move(response_);
  spare.Clear();
  return spare;
}

void HttpSession::OnResponse(Self self) {
  if (phase_ == Phase::kClosed) return;  // closed meanwhile (stop, handler error)
  DoWrite(std::move(self));
}

void HttpSession::WriteError(Self self, int status, const char* code, const char* message) {
  keep_alive_ = false;
  head_request_ = false;
  response_.Clear();
  response_.status = status;
  response_.body.append(R"({"error":{"code":")")
      .append(code)
      .append(R"(","message":")")
      .append(message)
      .append(R"("}})");
  response_.close_connection = true;
  DoWrite(std::move(self));
}

void HttpSession::DoWrite(Self self) {
  phase_ = Phase::kWriting;
  const bool streaming = response_.events != nullptr && !head_request_;
  close_after_write_ = !keep_alive_ || response_.close_connection || host_.stopping || streaming;
  bool body_allowed = StatusAllowsBody(response_.status);
  // A live response's length is unknown: it ends when the connection does.
  SerializeHead(body_allowed && !streaming);
  write_buffers_[0] = net::buffer(head_);
  // HEAD: same header fields (Content-Length included) as GET, no body.
  write_buffers_[1] =
      body_allowed && !head_request_ ? net::buffer(response_.body) : net::const_buffer();
  // A client that does not read its response cannot hold the connection.
  SetDeadline(host_.options->request_timeout);
  net::async_write(
      socket_, write_buffers_,
      WithMemory(write_memory_, [this, self = std::move(self)](error_code ec, std::size_t) mutable {
        OnWrite(std::move(self), ec);
      }));
}

void HttpSession::OnWrite(Self self, error_code ec) {
  if (ec) {
    if (phase_ != Phase::kClosed) {
      spdlog::debug("http: write to {} failed: {}", client_ip_, ec.message());
    }
    Close();
    return;
  }
  if (response_.events != nullptr && !head_request_ && !host_.stopping) {
    StartStreaming(std::move(self));
    return;
  }
  if (close_after_write_) {
    DoLinger(std::move(self));
    return;
  }
  DoRead(std::move(self));
}

void HttpSession::StartStreaming(Self self) {
  phase_ = Phase::kStreaming;
  // Quiet periods are normal here (the source sends heartbeats); each write
  // gets its own deadline in WriteNextEvent.
  ClearDeadline();
  event_sink_ = std::make_shared<SessionEventSink>(weak_from_this(), stream_executor_);
  std::shared_ptr<EventSource> source = std::move(response_.events);
  response_.Clear();
  source->Attach(event_sink_);
  // The only way to notice a client that went away without a write failing:
  // keep a read pending, which ends when the connection does.
  socket_.async_read_some(
      net::buffer(discard_),
      WithMemory(read_memory_, [this, self = std::move(self)](error_code ec, std::size_t) mutable {
        OnStreamRead(std::move(self), ec);
      }));
}

void HttpSession::OnStreamRead(Self self, error_code ec) {
  if (ec || phase_ != Phase::kStreaming) {
    Close();
    return;
  }
  socket_.async_read_some(
      net::buffer(discard_),
      WithMemory(read_memory_, [this, self = std::move(self)](error_code ec, std::size_t) mutable {
        OnStreamRead(std::move(self), ec);
      }));
}

void HttpSession::QueueEvent(std::string data) {
  if (phase_ != Phase::kStreaming) return;
  if (events_.size() >= kMaxQueuedEvents) {
    spdlog::debug("http: closing live response to {}: the client reads too slowly", client_ip_);
    Close();
    return;
  }
  events_.push_back(std::move(data));
  if (!writing_event_) WriteNextEvent(shared_from_this());
}

void HttpSession::WriteNextEvent(Self self) {
  writing_event_ = true;
  SetDeadline(host_.options->request_timeout);
  net::async_write(
      socket_, net::buffer(events_.front()),
      WithMemory(write_memory_, [this, self = std::move(self)](error_code ec, std::size_t) mutable {
        if (ec || phase_ != Phase::kStreaming) {
          Close();
          return;
        }
        events_.pop_front();
        if (!events_.empty()) {
          WriteNextEvent(std::move(self));
        } else {
          writing_event_ = false;
          ClearDeadline();
        }
      }));
}

void HttpSession::DoLinger(Self self) {
  phase_ = Phase::kLingering;
  error_code ignored;
  socket_.shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  SetDeadline(std::min(host_.options->request_timeout, kMaxLinger));
  buffer_.consume(buffer_.size());
  lingered_bytes_ = 0;
  socket_.async_read_some(buffer_.prepare(kLingerChunk),
                          WithMemory(read_memory_, [this, self = std::move(self)](
                                                       error_code ec, std::size_t bytes) mutable {
                            OnLinger(std::move(self), ec, bytes);
                          }));
}

void HttpSession::OnLinger(Self self, error_code ec, std::size_t bytes) {
  lingered_bytes_ += bytes;
  if (ec || lingered_bytes_ > kMaxLingerBytes) {
    Close();  // the client closed (the normal end), or took too long
    return;
  }
  // Discard: read into the same prepared space again.
  socket_.async_read_some(buffer_.prepare(kLingerChunk),
                          WithMemory(read_memory_, [this, self = std::move(self)](
                                                       error_code ec, std::size_t bytes) mutable {
                            OnLinger(std::move(self), ec, bytes);
                          }));
}

void HttpSession::SerializeHead(bool body_allowed) {
  int status = response_.status;
  if (status < 100 || status > 999) {
    spdlog::error("http: handler answered with invalid status {}; sending 500", status);
    status = 500;
    response_.status = status;
  }
  head_.clear();
  head_.append("HTTP/1.1 ");
  AppendNumber(head_, static_cast<std::size_t>(status));
  head_.push_back(' ');
  auto code = beast_http::int_to_status(static_cast<unsigned>(status));
  if (code != beast_http::status::unknown) {
    auto reason = beast_http::obsolete_reason(code);
    head_.append(reason.data(), reason.size());
  }
  head_.append("\r\nServer: tally\r\nDate: ");
  head_.append(CurrentHttpDate());
  head_.append("\r\n");
  if (!response_.content_type.empty() && IsSafeFieldText(response_.content_type)) {
    head_.append("Content-Type: ").append(response_.content_type).append("\r\n");
  }
  if (body_allowed) {
    head_.append("Content-Length: ");
    AppendNumber(head_, response_.body.size());
    head_.append("\r\n");
  }
  if (close_after_write_) {
    head_.append("Connection: close\r\n");
  } else if (http10_) {
    head_.append("Connection: keep-alive\r\n");  // HTTP/1.0 closes unless told
  }
  for (const auto& [header_name, value] : response_.headers) {
    const std::string_view name = header_name;
    if (name.empty() || IsFramingHeader(name) || !IsSafeFieldText(name) ||
        !IsSafeFieldText(value)) {
      spdlog::warn("http: dropping response header field '{}' (framing or unsafe characters)",
                   IsSafeFieldText(name) ? name : std::string_view("?"));
      continue;
    }
    head_.append(name).append(": ").append(value).append("\r\n");
  }
  head_.append("\r\n");
}

void HttpSession::SetDeadline(Clock::duration timeout) {
  deadline_ = Clock::now() + timeout;
  if (!timer_pending_) {
    ArmTimer();
  } else if (deadline_ < timer_.expiry()) {
    // Earlier than the queued wait: its handler, run now with
    // operation_aborted, arms the timer again (when it has released its
    // memory).
    timer_.cancel();
  }
  // Later: the queued wait fires first and arms the timer again.
}

void HttpSession::ArmTimer() {
  timer_pending_ = true;
  timer_.expires_at(deadline_);
  timer_.async_wait(
      WithMemory(timer_memory_, [this, self = shared_from_this()](error_code) { OnTimer(); }));
}

void HttpSession::OnTimer() {
  timer_pending_ = false;
  if (phase_ == Phase::kClosed || deadline_ == Clock::time_point::max()) return;
  if (Clock::now() < deadline_) {
    ArmTimer();  // the deadline moved since this wait began
    return;
  }
  // The client was too slow to send a request or to take a response, or
  // sat idle too long: nobody to answer.
  spdlog::debug("http: closing connection from {}: timed out", client_ip_);
  Close();
}

void HttpSession::Close() {
  if (phase_ == Phase::kClosed) return;
  phase_ = Phase::kClosed;
  if (event_sink_ != nullptr) event_sink_->MarkClosed();
  events_.clear();
  // Cancels the pending operations and the timer's wait; their handlers run
  // with operation_aborted and release the session.
  error_code ignored;
  socket_.close(ignored);
  timer_.cancel();
}

}  // namespace tally::http

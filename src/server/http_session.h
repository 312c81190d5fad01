// One HTTP connection, and the per-thread state its sessions share.
#pragma once

// Boost 1.74's Asio uses std::exchange without including <utility>; with g++ 12
// in C++20 mode that breaks unless <utility> comes first.
#include <utility>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "api/request.h"
#include "api/request_handler.h"
#include "api/response.h"
#include "server/handler_memory.h"
#include "server/http_server.h"
#include "server/request_parser.h"

namespace tally::http {

// Concrete executor and I/O object types: one io_context per thread, so no
// type-erased any_io_executor (it costs an indirection and allocations).
using Executor = boost::asio::io_context::executor_type;
using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>;
using Clock = std::chrono::steady_clock;
using Timer = boost::asio::basic_waitable_timer<Clock, boost::asio::wait_traits<Clock>, Executor>;

class HttpSession;
class SessionEventSink;

// What the sessions of one network thread share: the server's settings, and
// the list of live sessions (so that Stop can reach them). Owned by the
// server; every member except `connections` is only touched on the owning
// network thread, hence no locks.
struct SessionHost {
  const ServerOptions* options = nullptr;
  RequestHandler* handler = nullptr;
  Metrics* metrics = nullptr;                       // may be null
  std::atomic<std::size_t>* connections = nullptr;  // server-wide open connections
  bool stopping = false;  // set once Stop began; sessions then close after their response
  // Keeps io_context::run() going while the server runs; released once
  // `stopping` and the last session is gone, so run() returns by itself.
  std::optional<boost::asio::executor_work_guard<Executor>> keep_running;

  void Add(HttpSession* session);
  void Remove(HttpSession* session);
  bool empty() const { return first_ == nullptr; }
  // Calls f(HttpSession&) for each live session. f may close sessions (closing
  // never destroys one synchronously).
  template <typename F>
  void ForEach(F&& f);

  // Hands `session`'s answer, sent from another thread, to this network
  // thread. The group-commit writer answers a whole batch at once: they are
  // collected here and run by one posted handler, so a commit of n hits
  // costs one wake-up (and one handler allocation) of this thread instead of
  // n. Any thread; `executor` is this thread's.
  void QueueAnswer(HttpSession* session, const Executor& executor);

  // Lets go of the sessions whose answers were queued after this thread's
  // io_context stopped running (a handler that answered after Stop): no
  // RunAnswers will take them, and each holds itself alive. Call after the
  // thread is joined and before the io_context is destroyed (their sockets
  // belong to it).
  void DropQueuedAnswers();

 private:
  void RunAnswers();  // network thread

  HttpSession* first_ = nullptr;  // intrusive, doubly linked

  // The posted RunAnswers' operation. At most one is queued at a time, and
  // answers_mu_ orders its release here before the next post on another
  // thread.
  HandlerMemory answers_memory_;
  std::mutex answers_mu_;
  // Sessions whose answer waits, linked through HttpSession::next_answer_
  // (no allocation); each holds itself alive by its queued_self_.
  HttpSession* answers_head_ = nullptr;  // guarded by answers_mu_
  HttpSession* answers_tail_ = nullptr;  // guarded by answers_mu_
  bool answers_posted_ = false;          // guarded by answers_mu_: RunAnswers is queued
};

// One accepted connection: reads requests, hands each to the RequestHandler,
// writes the responses in order, and enforces limits and timeouts.
//
// Timeouts: one deadline for whatever the connection waits for (a request,
// the client taking a response), enforced by one timer that is re-armed
// only when it fires early or the deadline moves earlier. A request usually
// moves the deadline later, which is then just a store: no timer operation,
// no allocation (Beast's basic_stream arms and cancels a timer around every
// read and write, and allocates each wait).
//
// Threads: everything runs on the session's network thread (its io_context)
// except Send, which the handler may call on any thread; Send posts the
// response back to the session's thread. The session keeps itself alive
// (shared_ptr) from Handle until Send, so the sink reference stays valid.
class HttpSession final : public std::enable_shared_from_this<HttpSession>, public ResponseSink {
 public:
  HttpSession(Socket socket, SessionHost& host);
  ~HttpSession() override;

  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  // Starts reading the first request. Network thread; once.
  void Start();

  // Server stop began: close now if between requests, otherwise finish the
  // current request and then close. Network thread.
  void OnServerStop();
  // Closes the socket whatever the session is doing. Network thread.
  void ForceClose();

  // ResponseSink. Any thread; exactly once per request handed to the handler.
  void Send(Response response) override;
  // The previous response's buffers (it is written by the time the next
  // request is handled).
  Response TakeSpareResponse() override;

 private:
  friend struct SessionHost;
  using Self = std::shared_ptr<HttpSession>;

  enum class Phase {
    kIdle,       // keep-alive, waiting for the first byte of the next request
    kReading,    // reading a request
    kHandling,   // the handler has the request
    kWriting,    // writing the response
    kLingering,  // response written, send side shut, draining what the client still sends
    kStreaming,  // a live response: writing what its EventSource pushes
    kClosed,
  };

  // The async story; `self` is handed along so that no step copies a shared_ptr.
  void DoRead(Self self);
  void OnIdleRead(Self self, boost::beast::error_code ec, std::size_t bytes);
  void ReadRequest(Self self);
  // Feeds the bytes already in buffer_ to the parser, without I/O.
  boost::beast::error_code ParseBuffered();
  void OnReadHeader(Self self, boost::beast::error_code ec);
  void ReadBody(Self self);
  void OnRead(Self self, boost::beast::error_code ec);
  void OnResponse(Self self);
  void DoWrite(Self self);
  void OnWrite(Self self, boost::beast::error_code ec);
  void DoLinger(Self self);
  void OnLinger(Self self, boost::beast::error_code ec, std::size_t bytes);

  // Live responses (Response::events): after the head and first body,
  // write what the source pushes until the client leaves.
  friend class SessionEventSink;
  void StartStreaming(Self self);
  void OnStreamRead(Self self, boost::beast::error_code ec);
  void QueueEvent(std::string data);
  void WriteNextEvent(Self self);

  // The connection is closed once `timeout` from now has passed, unless the
  // deadline is set again before.
  void SetDeadline(Clock::duration timeout);
  void ClearDeadline() { deadline_ = Clock::time_point::max(); }
  void ArmTimer();
  void OnTimer();

  // Answers a request that could not be read (431, 413, 400), then closes.
  void WriteError(Self self, int status, const char* code, const char* message);
  // Fills head_ with the status line and header fields of response_.
  void SerializeHead(bool send_body);
  void Close();

  SessionHost& host_;
  Executor stream_executor_;  // copy of socket_'s, readable from any thread (Send)
  Socket socket_;
  Timer timer_;
  Clock::time_point deadline_ = Clock::time_point::max();  // max: none
  bool timer_pending_ = false;  // a wait is queued (it may be for an older deadline)
  std::string client_ip_;
  boost::beast::flat_buffer buffer_;     // kept across requests: holds pipelined bytes
  std::optional<RequestParser> parser_;  // one per request (basic_parser has no reset)
  Request request_;                      // reused; Clear() keeps capacity
  Response response_;
  std::string head_;  // serialized status line + fields, reused
  std::array<boost::asio::const_buffer, 2> write_buffers_;
  // The pending read's, write's and timer wait's operations live here, not
  // on the heap (a streaming session has a read and a write pending at once).
  HandlerMemory read_memory_;
  HandlerMemory write_memory_;
  HandlerMemory timer_memory_;
  std::shared_ptr<SessionEventSink> event_sink_;  // while streaming
  std::deque<std::string> events_;                // pushed, not yet written
  bool writing_event_ = false;
  std::array<char, 512> discard_{};  // what a streaming client sends is read and dropped
  Self in_flight_self_;              // holds the session from Handle until Send
  // Holds it from a Send on another thread until the network thread takes
  // the answer (SessionHost::RunAnswers). If the server is torn down before
  // that (forced stop), the session is leaked rather than destroyed after
  // its io_context.
  Self queued_self_;
  HttpSession* next_answer_ = nullptr;  // SessionHost's answer queue
  Phase phase_ = Phase::kReading;
  std::size_t requests_read_ = 0;
  std::size_t lingered_bytes_ = 0;
  bool keep_alive_ = true;  // what the client asked for (HTTP/1.1 rules)
  bool http10_ = false;
  bool head_request_ = false;
  bool close_after_write_ = false;
  bool in_handle_ = false;           // inside handler->Handle on this thread
  bool answered_in_handle_ = false;  // Send came before Handle returned

  // SessionHost's intrusive list.
  HttpSession* prev_ = nullptr;
  HttpSession* next_ = nullptr;
};

template <typename F>
void SessionHost::ForEach(F&& f) {
  for (HttpSession* s = first_; s != nullptr;) {
    HttpSession* next = s->next_;
    f(*s);
    s = next;
  }
}

}  // namespace tally::http

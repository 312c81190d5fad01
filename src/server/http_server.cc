#include "server/http_server.h"

// Boost 1.74's Asio uses std::exchange without including <utility>; with g++ 12
// in C++20 mode that breaks unless <utility> comes first.
#include <utility>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include "common/thread_name.h"
#include "server/http_session.h"
#include "server/listener.h"

namespace tally {

namespace net = boost::asio;
using boost::system::error_code;
using tcp = net::ip::tcp;

namespace {

// After the grace period, sessions are closed; this is how long their
// handlers get to unwind before the io_contexts are stopped outright.
constexpr std::chrono::seconds kForcedCloseWait{2};

// Fails if something already listens on `endpoint`. Our own sockets use
// SO_REUSEPORT, and Linux lets any socket of the same user with that option
// share the port: without this check a second `tally serve` on the same port
// would silently split the traffic with the first instead of failing.
error_code ProbePortFree(const tcp::endpoint& endpoint) {
  net::io_context io;
  tcp::acceptor probe(io);
  error_code ec;
  probe.open(endpoint.protocol(), ec);
  if (!ec) probe.set_option(net::socket_base::reuse_address(true), ec);  // ignore TIME_WAIT
  if (!ec) probe.bind(endpoint, ec);
  return ec;
}

}  // namespace

// One network thread: its io_context, the state its sessions share, and its
// listener. Members are ordered for destruction: the listener (its acceptor)
// goes before the io_context, and the io_context (whose pending handlers may
// own the last references to sessions) before the host those sessions use.
struct NetworkThread {
  // Joined by then (Stop). A handler that answered after the thread stopped
  // left its session holding itself in the host's queue.
  ~NetworkThread() { host.DropQueuedAnswers(); }

  http::SessionHost host;
  net::io_context io{1};  // one thread runs it: Asio may skip internal locking
  std::optional<http::Listener> listener;
  std::thread thread;
};

class HttpServer::Impl {
 public:
  Impl(ServerOptions options, RequestHandler& handler, Metrics* metrics)
      : options_(std::move(options)), handler_(handler), metrics_(metrics) {}
  ~Impl() { Stop(std::chrono::milliseconds(0)); }

  Status Start();
  uint16_t port() const { return port_.load(std::memory_order_acquire); }
  void Stop(std::chrono::milliseconds grace);
  void Wait();

 private:
  void Run(NetworkThread& t);
  bool OnNetworkThread() const;
  // Waits until all network threads returned from run(), or until `deadline`.
  bool WaitForThreads(std::unique_lock<std::mutex>& lock,
                      std::chrono::steady_clock::time_point deadline);

  const ServerOptions options_;
  RequestHandler& handler_;
  Metrics* const metrics_;
  std::atomic<std::size_t> connections_{0};  // before threads_: sessions decrement it
  std::vector<std::unique_ptr<NetworkThread>> threads_;
  std::atomic<uint16_t> port_{0};

  std::mutex stop_mutex_;  // serializes Start and Stop
  std::mutex mutex_;       // guards what follows
  std::condition_variable changed_;
  bool running_ = false;
  int threads_running_ = 0;
};

Status HttpServer::Impl::Start() {
  std::lock_guard stop_lock(stop_mutex_);
  if (running_ || !threads_.empty()) return Status::Internal("HttpServer::Start called twice");

  error_code ec;
  net::ip::address address = net::ip::make_address(options_.host, ec);
  if (ec) {
    // Not a literal: resolve it (once, here, off the network threads).
    net::io_context io;
    tcp::resolver resolver(io);
    auto results = resolver.resolve(options_.host, "", ec);
    if (ec || results.empty()) {
      return Status::InvalidArgument(fmt::format("cannot resolve listen host '{}': {}",
                                                 options_.host,
                                                 ec ? ec.message() : std::string("no address")));
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, options_.port);
  std::string where = fmt::format("{}:{}", options_.host, options_.port);

  if (options_.port != 0) {
    if (error_code probe = ProbePortFree(endpoint)) {
      return Status::Unavailable(fmt::format("cannot listen on {}: {}", where, probe.message()));
    }
  }

  int count = options_.threads > 0
                  ? options_.threads
                  : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::unique_ptr<NetworkThread>> threads;
  for (int i = 0; i < count; ++i) {
    auto t = std::make_unique<NetworkThread>();
    t->host.options = &options_;
    t->host.handler = &handler_;
    t->host.metrics = metrics_;
    t->host.connections = &connections_;
    t->listener.emplace(t->io, t->host);
    // The first socket may have asked for port 0; the others join its port.
    if (i > 0) endpoint.port(threads.front()->listener->port());
    if (error_code open = t->listener->Open(endpoint)) {
      return Status::Unavailable(fmt::format("cannot listen on {}: {}", where, open.message()));
    }
    threads.push_back(std::move(t));
  }
  port_.store(threads.front()->listener->port(), std::memory_order_release);

  {
    std::lock_guard lock(mutex_);
    threads_ = std::move(threads);
    running_ = true;
    threads_running_ = static_cast<int>(threads_.size());
  }
  for (auto& t : threads_) {
    t->host.keep_running.emplace(t->io.get_executor());
    t->listener->Start();
    t->thread = std::thread([this, raw = t.get()] {
      NameThisThread("tally-net");
      Run(*raw);
    });
  }
  spdlog::info("http: listening on {}:{} with {} network thread(s)", address.to_string(), port(),
               threads_.size());
  return Status::Ok();
}

void HttpServer::Impl::Run(NetworkThread& t) {
  // run() only throws if a handler does; log it and keep serving.
  for (;;) {
    try {
      t.io.run();
      break;
    } catch (const std::exception& e) {
      spdlog::error("http: network thread caught: {}", e.what());
    } catch (...) {
      spdlog::error("http: network thread caught a non-standard exception");
    }
  }
  std::lock_guard lock(mutex_);
  --threads_running_;
  changed_.notify_all();
}

bool HttpServer::Impl::OnNetworkThread() const {
  for (const auto& t : threads_) {
    if (t->io.get_executor().running_in_this_thread()) return true;
  }
  return false;
}

bool HttpServer::Impl::WaitForThreads(std::unique_lock<std::mutex>& lock,
                                      std::chrono::steady_clock::time_point deadline) {
  return changed_.wait_until(lock, deadline, [this] { return threads_running_ == 0; });
}

void HttpServer::Impl::Stop(std::chrono::milliseconds grace) {
  std::lock_guard stop_lock(stop_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (!running_) return;
  }
  if (OnNetworkThread()) {
    spdlog::error("http: Stop called from a network thread; ignored (it would wait for itself)");
    return;
  }
  auto deadline = std::chrono::steady_clock::now() + grace;

  // 1. Stop accepting, close idle connections; busy ones close after their
  //    response. Each thread's run() returns once its last session is gone.
  for (auto& t : threads_) {
    net::post(t->io, [raw = t.get()] {
      raw->host.stopping = true;
      raw->listener->Close();
      raw->host.ForEach([](http::HttpSession& s) { s.OnServerStop(); });
      if (raw->host.empty()) raw->host.keep_running.reset();
    });
  }
  std::unique_lock lock(mutex_);
  if (!WaitForThreads(lock, deadline)) {
    // 2. Grace is over: close whatever is left.
    lock.unlock();
    spdlog::warn("http: closing connections still open after the {} ms grace period",
                 grace.count());
    for (auto& t : threads_) {
      net::post(t->io, [raw = t.get()] {
        raw->host.ForEach([](http::HttpSession& s) { s.ForceClose(); });
        raw->host.keep_running.reset();
      });
    }
    lock.lock();
    if (!WaitForThreads(lock, std::chrono::steady_clock::now() + kForcedCloseWait)) {
      // 3. Something still holds work (should not happen): stop outright.
      for (auto& t : threads_) t->io.stop();
    }
  }
  lock.unlock();
  for (auto& t : threads_) {
    if (t->thread.joinable()) t->thread.join();
  }
  lock.lock();
  running_ = false;
  changed_.notify_all();
  spdlog::info("http: stopped");
}

void HttpServer::Impl::Wait() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return !running_; });
}

HttpServer::HttpServer(ServerOptions options, RequestHandler& handler, Metrics* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), handler, metrics)) {}
HttpServer::~HttpServer() = default;
Status HttpServer::Start() { return impl_->Start(); }
uint16_t HttpServer::port() const { return impl_->port(); }
void HttpServer::Stop(std::chrono::milliseconds grace) { impl_->Stop(grace); }
void HttpServer::Wait() { impl_->Wait(); }

}  // namespace tally

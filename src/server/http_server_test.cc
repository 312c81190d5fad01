// Tests of HttpServer over real loopback sockets, with fake RequestHandlers.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/metrics.h"
#include "api/request.h"
#include "api/response.h"

namespace tally {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

const char* MethodName(Method m) {
  switch (m) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kPatch:
      return "PATCH";
    case Method::kDelete:
      return "DELETE";
    case Method::kOptions:
      return "OPTIONS";
    case Method::kOther:
      return "OTHER";
  }
  return "?";
}

// Describes `request` as JSON, the way the tests check what the server saw.
// Special paths steer the response: /status/N answers N, /close sets
// close_connection, /headers adds extra (and some forbidden) header fields.
// Built in `response`, which may be a spare one (ResponseSink::TakeSpareResponse).
Response EchoResponse(const Request& request, Response response = Response()) {
  json headers = json::array();
  for (const auto& [name, value] : request.headers) headers.push_back({name, value});
  response.body = json{{"method", MethodName(request.method)},
                       {"path", request.path},
                       {"query", request.query},
                       {"headers", headers},
                       {"body", request.body},
                       {"client_ip", request.client_ip}}
                      .dump();
  if (request.path.starts_with("/status/")) {
    response.status = std::stoi(request.path.substr(8));
  } else if (request.path == "/close") {
    response.close_connection = true;
  } else if (request.path == "/headers") {
    response.SetHeader("Cache-Control", "no-store");
    response.SetHeader("Access-Control-Allow-Origin", "*");
    response.SetHeader("Content-Length", "1");            // framing: must be dropped
    response.SetHeader("X-Evil", "a\r\nInjected: yes");   // CRLF: must be dropped
    response.SetHeader("X-Lone-Lf", "a\nInjected: yes");  // so must a bare LF,
    response.SetHeader("X-Nul", std::string("a\0b", 3));  // a NUL,
    response.SetHeader("X-Cr\r", "yes");                  // and a CR in a name
  }
  return response;
}

// Answers inline, on the network thread.
class EchoHandler : public RequestHandler {
 public:
  void Handle(const Request& request, ResponseSink& sink) override {
    // In the previous answer's buffers, as the hit path does.
    sink.Send(EchoResponse(request, sink.TakeSpareResponse()));
  }
};

// Answers from its own thread after `delay`, like a store worker would. While
// held, it answers nothing.
class DelayedHandler : public RequestHandler {
 public:
  explicit DelayedHandler(std::chrono::milliseconds delay)
      : delay_(delay), worker_([this] { Work(); }) {}
  ~DelayedHandler() override { Shutdown(); }

  void Handle(const Request& request, ResponseSink& sink) override {
    Response response = EchoResponse(request, sink.TakeSpareResponse());
    std::lock_guard lock(mutex_);
    queue_.push_back({Clock::now() + delay_, std::move(response), &sink});
    ++received_;
    changed_.notify_all();
  }

  void Hold(bool held) {
    std::lock_guard lock(mutex_);
    held_ = held;
    changed_.notify_all();
  }

  // Waits until `n` requests have arrived in total.
  bool WaitReceived(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return received_ >= n; });
  }

  // Answers everything still queued, then ends the worker.
  void Shutdown() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
      held_ = false;
      changed_.notify_all();
    }
    if (worker_.joinable()) worker_.join();
  }

 private:
  struct Pending {
    Clock::time_point due;
    Response response;
    ResponseSink* sink;
  };

  void Work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      if (!held_ && !queue_.empty()) {
        if (!stop_ && Clock::now() < queue_.front().due) {
          changed_.wait_until(lock, queue_.front().due);
          continue;
        }
        Pending p = std::move(queue_.front());
        queue_.pop_front();
        lock.unlock();
        p.sink->Send(std::move(p.response));
        lock.lock();
        continue;
      }
      if (stop_ && queue_.empty()) return;
      changed_.wait(lock);
    }
  }

  const std::chrono::milliseconds delay_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Pending> queue_;
  int received_ = 0;
  bool held_ = false;
  bool stop_ = false;
  std::thread worker_;  // last: starts after the members it uses
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool HasHeader(const std::string& name) const { return headers.count(name) > 0; }
  json Json() const { return json::parse(body, nullptr, /*allow_exceptions=*/false); }
};

// A blocking HTTP/1.1 client on a plain socket, so the tests depend on
// nothing the server uses. Every read gives up after a few seconds.
class TestClient {
 public:
  explicit TestClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      connect_errno_ = errno;
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~TestClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int connect_errno() const { return connect_errno_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response; nullopt if the connection closed, failed or timed out
  // first. `head`: the response to a HEAD request has no body.
  std::optional<HttpResponse> ReadResponse(bool head = false,
                                           std::chrono::milliseconds timeout = 5s) {
    auto deadline = Clock::now() + timeout;
    size_t end;
    while ((end = buffered_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(deadline)) return std::nullopt;
    }
    std::string head_text = buffered_.substr(0, end + 2);
    buffered_.erase(0, end + 4);
    HttpResponse response;
    size_t line_end = head_text.find("\r\n");
    std::string status_line = head_text.substr(0, line_end);
    if (!status_line.starts_with("HTTP/1.1 ")) return std::nullopt;
    response.status = std::stoi(status_line.substr(9, 3));
    for (size_t pos = line_end + 2; pos < head_text.size();) {
      size_t next = head_text.find("\r\n", pos);
      std::string line = head_text.substr(pos, next - pos);
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      response.headers[name] = value;
      pos = next + 2;
    }
    if (head || response.status == 204 || response.status == 304) return response;
    size_t length = std::stoul(
        response.Header("content-length").empty() ? "0" : response.Header("content-length"));
    while (buffered_.size() < length) {
      if (!Fill(deadline)) return std::nullopt;
    }
    response.body = buffered_.substr(0, length);
    buffered_.erase(0, length);
    return response;
  }

  // True if the server closes the connection (EOF or reset) within
  // `timeout`; whatever else arrives meanwhile lands in buffered().
  bool WaitClosed(std::chrono::milliseconds timeout = 5s) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
      int timeout_ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
      if (timeout_ms <= 0) return false;
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, timeout_ms) <= 0) return false;
      char chunk[4096];
      ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
      if (n <= 0) return true;
      buffered_.append(chunk, static_cast<size_t>(n));
    }
  }

  const std::string& buffered() const { return buffered_; }

 private:
  bool Fill(Clock::time_point deadline) {
    int timeout_ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (timeout_ms <= 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, timeout_ms) <= 0) return false;
    char chunk[16384];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffered_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  int connect_errno_ = 0;
  std::string buffered_;
};

std::string Get(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "\r\n";
}

std::string Post(const std::string& target, const std::string& body) {
  return "POST " + target + " HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string HeaderValue(const json& echo, const std::string& name) {
  for (const auto& h : echo["headers"]) {
    if (h[0] == name) return h[1];
  }
  return "<missing>";
}

void ExpectJsonError(const std::optional<HttpResponse>& response, int status,
                     const std::string& code) {
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, status);
  EXPECT_EQ(response->Header("content-type"), "application/json");
  EXPECT_EQ(response->Header("connection"), "close");
  json body = response->Json();
  ASSERT_TRUE(body.is_object()) << response->body;
  EXPECT_EQ(body["error"]["code"], code);
  EXPECT_TRUE(body["error"]["message"].is_string());
}

class HttpServerTest : public ::testing::Test {
 protected:
  static ServerOptions TestOptions() {
    ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    options.request_timeout = 5s;
    options.idle_timeout = 5s;
    return options;
  }

  void StartServer(ServerOptions options, RequestHandler& handler) {
    server_ = std::make_unique<HttpServer>(std::move(options), handler, nullptr);
    Status status = server_->Start();
    ASSERT_TRUE(status.ok()) << status.ToString();
    ASSERT_NE(server_->port(), 0);
  }
  void StartServer(ServerOptions options = TestOptions()) {
    StartServer(std::move(options), echo_);
  }

  // A handler answering from its own thread; drained in TearDown after the
  // server stopped, as the real program must do.
  DelayedHandler& MakeDelayed(std::chrono::milliseconds delay) {
    delayed_ = std::make_unique<DelayedHandler>(delay);
    return *delayed_;
  }

  void TearDown() override {
    if (server_) server_->Stop(1s);
    if (delayed_) delayed_->Shutdown();
    server_.reset();
  }

  uint16_t port() const { return server_->port(); }

  EchoHandler echo_;
  std::unique_ptr<DelayedHandler> delayed_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, GetIsTranslatedToRequestAndBack) {
  StartServer();
  TestClient client(port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(
      client.Send(Get("/v1/sites/demo/counters?key=%2Fa%20b&x=1", "X-Custom: Some Value\r\n")));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("content-type"), "application/json");
  EXPECT_EQ(response->Header("server"), "tally");
  EXPECT_EQ(response->Header("date").size(), 29u);
  EXPECT_TRUE(response->Header("date").ends_with(" GMT"));
  EXPECT_EQ(response->Header("content-length"), std::to_string(response->body.size()));
  EXPECT_FALSE(response->HasHeader("connection"));
  json echo = response->Json();
  ASSERT_FALSE(echo.is_discarded()) << response->body;
  EXPECT_EQ(echo["method"], "GET");
  EXPECT_EQ(echo["path"], "/v1/sites/demo/counters");
  EXPECT_EQ(echo["query"], "key=%2Fa%20b&x=1");  // raw: the api decodes
  EXPECT_EQ(HeaderValue(echo, "x-custom"), "Some Value");
  EXPECT_EQ(HeaderValue(echo, "host"), "test");
  EXPECT_EQ(echo["client_ip"], "127.0.0.1");
  EXPECT_EQ(echo["body"], "");
}

TEST_F(HttpServerTest, PostBodyIsPassedThrough) {
  StartServer();
  TestClient client(port());
  std::string body = "hello, \x01 world";
  ASSERT_TRUE(client.Send(Post("/v1/sites/demo/hits?key=/", body)));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response);
  json echo = response->Json();
  EXPECT_EQ(echo["method"], "POST");
  EXPECT_EQ(echo["path"], "/v1/sites/demo/hits");
  EXPECT_EQ(echo["query"], "key=/");
  EXPECT_EQ(echo["body"], body);
  EXPECT_EQ(HeaderValue(echo, "content-type"), "text/plain");
}

TEST_F(HttpServerTest, ChunkedBodyIsDecoded) {
  StartServer();
  TestClient client(port());
  ASSERT_TRUE(
      client.Send("PUT /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response);
  json echo = response->Json();
  EXPECT_EQ(echo["method"], "PUT");
  EXPECT_EQ(echo["body"], "hello world");
}

TEST_F(HttpServerTest, ExpectContinueIsAnswered) {
  StartServer();
  TestClient client(port());
  std::string body(2000, 'e');
  ASSERT_TRUE(
      client.Send("POST /big HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                  "Content-Length: 2000\r\n\r\n"));
  auto go_on = client.ReadResponse(false, 500ms);  // curl would wait 1 s
  ASSERT_TRUE(go_on);
  EXPECT_EQ(go_on->status, 100);
  ASSERT_TRUE(client.Send(body));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Json()["body"], body);
}

TEST_F(HttpServerTest, ExpectContinueWithTooLargeBodyGets413Instead) {
  ServerOptions options = TestOptions();
  options.body_limit = 1024;
  StartServer(options);
  TestClient client(port());
  ASSERT_TRUE(
      client.Send("POST /big HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
                  "Content-Length: 2000\r\n\r\n"));
  ExpectJsonError(client.ReadResponse(), 413, "payload_too_large");
}

TEST_F(HttpServerTest, AbsoluteFormTargetKeepsPathAndQuery) {
  StartServer();
  TestClient client(port());
  ASSERT_TRUE(client.Send(Get("http://example.com/a/b?x=1")));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->Json()["path"], "/a/b");
  EXPECT_EQ(response->Json()["query"], "x=1");
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  StartServer();
  TestClient client(port());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client.Send(Get("/r/" + std::to_string(i))));
    auto response = client.ReadResponse();
    ASSERT_TRUE(response) << "request " << i;
    EXPECT_EQ(response->Json()["path"], "/r/" + std::to_string(i));
    EXPECT_FALSE(response->HasHeader("connection"));
  }
}

// A connection reuses its Request and the strings of its header fields, and
// its Response: each request must still see exactly its own fields, whatever
// the ones before it had (more, fewer, longer, shorter, other names), and
// each answer carry only its own.
TEST_F(HttpServerTest, KeepAliveRequestsAndAnswersCarryNothingOver) {
  StartServer();
  TestClient client(port());
  const std::string long_value(300, 'v');
  const std::string too_long_to_keep(600, 'w');
  const std::vector<std::vector<std::pair<std::string, std::string>>> field_sets = {
      {{"user-agent", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Firefox/120.0"},
       {"origin", "http://localhost:8080"}},
      {{"x-a", "1"}},
      {{"x-long", long_value}, {"x-b", "short"}, {"x-c", too_long_to_keep}},
      {},
      {{"origin", "https://example.com"}, {"user-agent", "curl/8"}, {"x-d", "d"}},
  };
  for (int round = 0; round < 3; ++round) {
    // The answers reuse the buffers of the previous ones: extra header
    // fields of one must not show in the next.
    ASSERT_TRUE(client.Send(Get("/headers")));
    auto with_headers = client.ReadResponse();
    ASSERT_TRUE(with_headers);
    EXPECT_EQ(with_headers->Header("access-control-allow-origin"), "*");
    EXPECT_EQ(with_headers->Header("cache-control"), "no-store");
    for (size_t i = 0; i < field_sets.size(); ++i) {
      std::string extra;
      for (const auto& [name, value] : field_sets[i]) {
        extra.append(name).append(": ").append(value).append("\r\n");
      }
      ASSERT_TRUE(client.Send(Get("/h/" + std::to_string(i), extra)));
      auto response = client.ReadResponse();
      ASSERT_TRUE(response) << "round " << round << ", request " << i;
      EXPECT_FALSE(response->HasHeader("access-control-allow-origin"));
      EXPECT_FALSE(response->HasHeader("cache-control"));
      json echo = response->Json();
      ASSERT_EQ(echo["headers"].size(), field_sets[i].size() + 1) << echo.dump();  // + host
      EXPECT_EQ(HeaderValue(echo, "host"), "test");
      for (const auto& [name, value] : field_sets[i]) {
        EXPECT_EQ(HeaderValue(echo, name), value) << name << " in " << echo.dump();
      }
    }
  }
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  TestClient client(port());
  std::string burst;
  for (int i = 0; i < 10; ++i) {
    burst += i % 2 == 0 ? Get("/p/" + std::to_string(i)) : Post("/p/" + std::to_string(i), "b");
  }
  ASSERT_TRUE(client.Send(burst));  // one write
  for (int i = 0; i < 10; ++i) {
    auto response = client.ReadResponse();
    ASSERT_TRUE(response) << "response " << i;
    EXPECT_EQ(response->Json()["path"], "/p/" + std::to_string(i));
  }
}

TEST_F(HttpServerTest, PipelinedRequestsWithAsyncHandlerStayInOrder) {
  StartServer(TestOptions(), MakeDelayed(5ms));
  TestClient client(port());
  std::string burst;
  for (int i = 0; i < 10; ++i) burst += Get("/p/" + std::to_string(i));
  ASSERT_TRUE(client.Send(burst));
  for (int i = 0; i < 10; ++i) {
    auto response = client.ReadResponse();
    ASSERT_TRUE(response) << "response " << i;
    EXPECT_EQ(response->Json()["path"], "/p/" + std::to_string(i));
  }
}

TEST_F(HttpServerTest, HeadSendsGetHeadersWithoutBody) {
  StartServer();
  TestClient client(port());
  ASSERT_TRUE(client.Send(Get("/same")));
  auto get = client.ReadResponse();
  ASSERT_TRUE(get);
  ASSERT_TRUE(client.Send("HEAD /same HTTP/1.1\r\nHost: test\r\n\r\n"));
  auto head = client.ReadResponse(/*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  // The echo says "HEAD" where the GET said "GET": one byte longer.
  EXPECT_EQ(head->Header("content-length"), std::to_string(get->body.size() + 1));
  // No body bytes: the next thing on the wire is the next response.
  ASSERT_TRUE(client.Send(Get("/after")));
  auto after = client.ReadResponse();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->Json()["path"], "/after");
}

TEST_F(HttpServerTest, ExtraHeadersPassAndFramingOrInjectedOnesAreDropped) {
  StartServer();
  TestClient client(port());
  ASSERT_TRUE(client.Send(Get("/headers")));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->Header("cache-control"), "no-store");
  EXPECT_EQ(response->Header("access-control-allow-origin"), "*");
  EXPECT_EQ(response->Header("content-length"), std::to_string(response->body.size()));
  EXPECT_FALSE(response->HasHeader("x-evil"));
  EXPECT_FALSE(response->HasHeader("x-lone-lf"));
  EXPECT_FALSE(response->HasHeader("x-nul"));
  EXPECT_FALSE(response->HasHeader("injected"));
  EXPECT_TRUE(response->Json().is_object());
}

TEST_F(HttpServerTest, NoContentHasNoBodyOrLength) {
  StartServer();
  TestClient client(port());
  ASSERT_TRUE(client.Send(Get("/status/204") + Get("/next")));
  auto no_content = client.ReadResponse();
  ASSERT_TRUE(no_content);
  EXPECT_EQ(no_content->status, 204);
  EXPECT_FALSE(no_content->HasHeader("content-length"));
  auto next = client.ReadResponse();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->Json()["path"], "/next");
}

TEST_F(HttpServerTest, StatusCodesArePassedThrough) {
  StartServer();
  TestClient client(port());
  ASSERT_TRUE(client.Send(Get("/status/429")));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 429);
}

TEST_F(HttpServerTest, ClientConnectionCloseIsHonoured) {
  StartServer();
  TestClient client(port());
  ASSERT_TRUE(client.Send(Get("/bye", "Connection: close\r\n")));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(HttpServerTest, ResponseCloseConnectionClosesAfterResponse) {
  StartServer();
  TestClient client(port());
  ASSERT_TRUE(client.Send(Get("/close")));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(HttpServerTest, Http10ClosesUnlessKeepAliveAsked) {
  StartServer();
  {
    TestClient client(port());
    ASSERT_TRUE(client.Send("GET /old HTTP/1.0\r\n\r\n"));
    auto response = client.ReadResponse();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->Header("connection"), "close");
    EXPECT_TRUE(client.WaitClosed());
  }
  {
    TestClient client(port());
    ASSERT_TRUE(client.Send("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto response = client.ReadResponse();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->Header("connection"), "keep-alive");
    ASSERT_TRUE(client.Send("GET /again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto again = client.ReadResponse();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->Json()["path"], "/again");
  }
}

TEST_F(HttpServerTest, OversizedHeaderIs431AndCloses) {
  ServerOptions options = TestOptions();
  options.header_limit = 1024;
  StartServer(options);
  TestClient client(port());
  ASSERT_TRUE(client.Send(Get("/", "X-Big: " + std::string(2000, 'a') + "\r\n")));
  ExpectJsonError(client.ReadResponse(), 431, "header_too_large");
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(HttpServerTest, OversizedUrlCountsAgainstHeaderLimit) {
  ServerOptions options = TestOptions();
  options.header_limit = 1024;
  StartServer(options);
  TestClient client(port());
  ASSERT_TRUE(client.Send(Get("/?key=" + std::string(1500, 'k'))));
  ExpectJsonError(client.ReadResponse(), 431, "header_too_large");
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(HttpServerTest, HeaderJustUnderLimitIsAccepted) {
  ServerOptions options = TestOptions();
  options.header_limit = 1024;
  StartServer(options);
  TestClient client(port());
  ASSERT_TRUE(client.Send(Get("/", "X-Big: " + std::string(800, 'a') + "\r\n")));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, OversizedBodyIs413AndCloses) {
  ServerOptions options = TestOptions();
  options.body_limit = 1024;
  StartServer(options);
  TestClient client(port());
  ASSERT_TRUE(client.Send(Post("/", std::string(5000, 'b'))));
  ExpectJsonError(client.ReadResponse(), 413, "payload_too_large");
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(HttpServerTest, OversizedChunkedBodyIs413) {
  ServerOptions options = TestOptions();
  options.body_limit = 1024;
  StartServer(options);
  TestClient client(port());
  std::string chunk(600, 'c');
  ASSERT_TRUE(
      client.Send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "258\r\n" +
                  chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n"));
  ExpectJsonError(client.ReadResponse(), 413, "payload_too_large");
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(HttpServerTest, BodyAtLimitIsAccepted) {
  ServerOptions options = TestOptions();
  options.body_limit = 1024;
  StartServer(options);
  TestClient client(port());
  ASSERT_TRUE(client.Send(Post("/", std::string(1024, 'b'))));
  auto response = client.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Json()["body"].get<std::string>().size(), 1024u);
}

TEST_F(HttpServerTest, GarbageIs400AndOthersAreStillServed) {
  StartServer();
  for (const std::string garbage :
       {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 tls hello\r\n\r\n", "HELLO\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n", "GET nopath HTTP/1.1\r\nHost: t\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Header Name: x\r\n\r\n"}) {
    TestClient bad(port());
    ASSERT_TRUE(bad.Send(garbage));
    ExpectJsonError(bad.ReadResponse(), 400, "bad_request");
    EXPECT_TRUE(bad.WaitClosed()) << garbage;
  }
  TestClient good(port());
  ASSERT_TRUE(good.Send(Get("/fine")));
  auto response = good.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, SlowClientIsDisconnectedWhileOthersAreServed) {
  ServerOptions options = TestOptions();
  options.request_timeout = 400ms;
  StartServer(options);
  TestClient slow(port());
  auto start = Clock::now();
  ASSERT_TRUE(slow.Send("GET / HTTP/1.1\r\nHost: t\r\n"));  // and never the blank line
  // Meanwhile the server answers others without delay.
  for (int i = 0; i < 5; ++i) {
    TestClient other(port());
    ASSERT_TRUE(other.Send(Get("/other")));
    auto response = other.ReadResponse(false, 300ms);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
  EXPECT_TRUE(slow.WaitClosed(3s));
  auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, 350ms);
  EXPECT_LT(elapsed, 2s);
  EXPECT_EQ(slow.buffered(), "");  // disconnected without an answer
}

TEST_F(HttpServerTest, TricklingClientCannotExtendTheDeadline) {
  ServerOptions options = TestOptions();
  options.request_timeout = 400ms;
  StartServer(options);
  TestClient slow(port());
  auto start = Clock::now();
  // ~130 bytes at one per 20 ms: the whole request would take 2.6 s, and
  // every byte arrives well within any per-read timeout.
  std::string request = Get("/", "X-Pad: " + std::string(100, 'p') + "\r\n");
  bool closed = false;
  for (char c : request) {
    if (!slow.Send(std::string(1, c)) || slow.WaitClosed(20ms)) {
      closed = true;
      break;
    }
  }
  auto elapsed = Clock::now() - start;
  EXPECT_TRUE(closed);
  EXPECT_GE(elapsed, 350ms);
  EXPECT_LT(elapsed, 1500ms);
  EXPECT_EQ(slow.buffered(), "");
}

TEST_F(HttpServerTest, SilentNewConnectionGetsRequestTimeout) {
  ServerOptions options = TestOptions();
  options.request_timeout = 300ms;
  options.idle_timeout = 10s;
  StartServer(options);
  TestClient silent(port());
  auto start = Clock::now();
  EXPECT_TRUE(silent.WaitClosed(3s));
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  ServerOptions options = TestOptions();
  options.idle_timeout = 400ms;
  options.request_timeout = 10s;
  StartServer(options);
  TestClient client(port());
  ASSERT_TRUE(client.Send(Get("/")));
  ASSERT_TRUE(client.ReadResponse());
  auto start = Clock::now();
  EXPECT_TRUE(client.WaitClosed(3s));
  auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, 350ms);
  EXPECT_LT(elapsed, 2s);
}

TEST_F(HttpServerTest, IdleTimeoutIsPerGapNotPerConnection) {
  ServerOptions options = TestOptions();
  options.idle_timeout = 400ms;
  StartServer(options);
  TestClient client(port());
  for (int i = 0; i < 4; ++i) {  // 4 x 250 ms > one idle_timeout
    ASSERT_TRUE(client.Send(Get("/")));
    ASSERT_TRUE(client.ReadResponse()) << i;
    std::this_thread::sleep_for(250ms);
  }
}

TEST_F(HttpServerTest, ClientThatDoesNotReadIsDisconnected) {
  ServerOptions options = TestOptions();
  options.request_timeout = 500ms;
  options.idle_timeout = 60s;  // so that only the write timeout can close it
  StartServer(options);
  TestClient client(port());
  // Many pipelined requests, each answered with ~3 KB, never read: the
  // answers fill the socket buffers, the server's write stalls and must time
  // out. 5000 answers (~16 MB) are more than loopback buffers hold.
  constexpr int kRequests = 5000;
  std::string burst;
  std::string big_query(3000, 'q');
  for (int i = 0; i < kRequests; ++i) burst += Get("/?" + big_query);
  std::thread writer([&] { client.Send(burst); });  // blocks while nobody reads
  std::this_thread::sleep_for(1500ms);
  // Now read: the server must have given up and closed before answering all.
  EXPECT_TRUE(client.WaitClosed(10s));
  writer.join();
  size_t answers = 0;
  for (size_t pos = 0; (pos = client.buffered().find("HTTP/1.1 200", pos)) != std::string::npos;
       ++pos) {
    ++answers;
  }
  EXPECT_LT(answers, static_cast<size_t>(kRequests));
}

TEST_F(HttpServerTest, AsyncHandlerAnswersFromAnotherThread) {
  StartServer(TestOptions(), MakeDelayed(30ms));
  TestClient client(port());
  for (int i = 0; i < 5; ++i) {
    auto start = Clock::now();
    ASSERT_TRUE(client.Send(Post("/async/" + std::to_string(i), "x")));
    auto response = client.ReadResponse();
    ASSERT_TRUE(response);
    EXPECT_GE(Clock::now() - start, 25ms);
    EXPECT_EQ(response->Json()["path"], "/async/" + std::to_string(i));
  }
}

void HammerServer(uint16_t port, int clients, int requests_per_client) {
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  threads.reserve(clients);
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      TestClient client(port);
      if (!client.connected()) return;
      for (int i = 0; i < requests_per_client; ++i) {
        std::string path = "/c/" + std::to_string(c) + "/" + std::to_string(i);
        if (!client.Send(Get(path))) return;
        auto response = client.ReadResponse(false, 10s);
        if (!response || response->status != 200) return;
        if (response->Json()["path"] != path) return;
        ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), clients * requests_per_client);
}

TEST_F(HttpServerTest, ManyParallelClientsAreAllAnswered) {
  StartServer();
  HammerServer(port(), 50, 100);
}

TEST_F(HttpServerTest, ManyParallelClientsWithAsyncHandler) {
  StartServer(TestOptions(), MakeDelayed(0ms));
  HammerServer(port(), 20, 50);
}

TEST_F(HttpServerTest, MaxConnectionsRefusesTheExtraOnes) {
  ServerOptions options = TestOptions();
  options.max_connections = 2;
  options.threads = 1;
  StartServer(options);
  TestClient a(port()), b(port());
  for (TestClient* c : {&a, &b}) {
    ASSERT_TRUE(c->Send(Get("/")));
    ASSERT_TRUE(c->ReadResponse());
  }
  TestClient extra(port());
  ASSERT_TRUE(extra.connected());   // accepted by the kernel...
  EXPECT_TRUE(extra.WaitClosed());  // ...and closed by the server
  if (!extra.buffered().empty()) {
    EXPECT_TRUE(extra.buffered().starts_with("HTTP/1.1 503")) << extra.buffered();
  }
  // The admitted ones still work; once one leaves, a new one gets in.
  ASSERT_TRUE(a.Send(Get("/still")));
  ASSERT_TRUE(a.ReadResponse());
  ASSERT_TRUE(b.Send(Get("/", "Connection: close\r\n")));
  ASSERT_TRUE(b.ReadResponse());
  ASSERT_TRUE(b.WaitClosed());
  b.Close();
  std::optional<HttpResponse> response;
  for (int attempt = 0; attempt < 50; ++attempt) {  // b's slot frees asynchronously
    TestClient late(port());
    if (late.Send(Get("/late"))) response = late.ReadResponse(false, 1s);
    if (response && response->status == 200) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, StartFailsWhenAddressInUse) {
  StartServer();
  ServerOptions options = TestOptions();
  options.port = port();
  HttpServer second(options, echo_, nullptr);
  Status status = second.Start();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find(std::to_string(port())), std::string::npos) << status.message();
  second.Stop(0ms);  // harmless when not running
  // The first one is unaffected.
  TestClient client(port());
  ASSERT_TRUE(client.Send(Get("/")));
  ASSERT_TRUE(client.ReadResponse());
}

TEST_F(HttpServerTest, StartFailsOnBadHost) {
  ServerOptions options = TestOptions();
  options.host = "no-such-host.invalid";
  HttpServer server(options, echo_, nullptr);
  EXPECT_FALSE(server.Start().ok());
  server.Wait();  // never started: returns at once
}

TEST_F(HttpServerTest, GracefulStopFinishesInFlightRequestThenRefuses) {
  DelayedHandler& handler = MakeDelayed(400ms);
  StartServer(TestOptions(), handler);
  uint16_t server_port = port();
  TestClient idle(server_port);  // keep-alive, between requests
  ASSERT_TRUE(idle.Send(Get("/idle")));
  ASSERT_TRUE(idle.ReadResponse());

  TestClient busy(server_port);
  ASSERT_TRUE(busy.Send(Get("/slow")));
  ASSERT_TRUE(handler.WaitReceived(2, 2s));

  std::atomic<bool> waited{false};
  std::thread waiter([&] {
    server_->Wait();
    waited = true;
  });
  auto start = Clock::now();
  std::thread stopper([&] { server_->Stop(5s); });

  // The idle connection is closed at once; the in-flight request completes.
  EXPECT_TRUE(idle.WaitClosed(1s));
  auto response = busy.ReadResponse();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Json()["path"], "/slow");
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(busy.WaitClosed(1s));
  busy.Close();  // the server lingers until the client closes too
  stopper.join();
  waiter.join();
  EXPECT_TRUE(waited);
  EXPECT_LT(Clock::now() - start, 3s);  // did not need the whole grace

  TestClient refused(server_port);
  EXPECT_FALSE(refused.connected());
  EXPECT_EQ(refused.connect_errno(), ECONNREFUSED);
}

TEST_F(HttpServerTest, StopClosesWhatIsLeftAfterGrace) {
  DelayedHandler& handler = MakeDelayed(0ms);
  handler.Hold(true);  // never answers while the server runs
  StartServer(TestOptions(), handler);
  TestClient stuck(port());
  ASSERT_TRUE(stuck.Send(Get("/stuck")));
  ASSERT_TRUE(handler.WaitReceived(1, 2s));
  auto start = Clock::now();
  server_->Stop(300ms);
  auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 3s);
  EXPECT_TRUE(stuck.WaitClosed(1s));
  handler.Hold(false);  // Send after Stop: dropped, harmless
  handler.Shutdown();
}

// A handler that answers only after Stop: its session waits in the network
// thread's answer queue, which no one runs any more, holding itself alive.
// Destroying the server must still end it (LeakSanitizer first saw this).
TEST_F(HttpServerTest, AnAnswerAfterStopDoesNotKeepItsSessionAlive) {
  Metrics metrics;
  DelayedHandler& handler = MakeDelayed(0ms);
  handler.Hold(true);
  server_ = std::make_unique<HttpServer>(TestOptions(), handler, &metrics);
  ASSERT_TRUE(server_->Start().ok());
  TestClient stuck(port());
  ASSERT_TRUE(stuck.Send(Get("/stuck")));
  ASSERT_TRUE(handler.WaitReceived(1, 2s));
  EXPECT_EQ(metrics.open_connections.load(), 1);
  server_->Stop(100ms);
  handler.Shutdown();  // answers the held request now
  server_.reset();
  EXPECT_EQ(metrics.open_connections.load(), 0) << "the session was never destroyed";
}

TEST_F(HttpServerTest, StopWithoutConnectionsIsQuickAndIdempotent) {
  StartServer();
  auto start = Clock::now();
  server_->Stop(5s);
  server_->Stop(5s);
  EXPECT_LT(Clock::now() - start, 1s);
  server_->Wait();
}

}  // namespace
}  // namespace tally

// Hostile and broken clients: none of them may take the server down or stop
// it from serving everyone else.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "e2e/tally_process.h"

namespace tally::e2e {
namespace {

using namespace std::chrono_literals;

class RobustnessE2eTest : public TallyServerTest {
 protected:
  void SetUp() override {
    TallyServerTest::SetUp();
    if (HasFatalFailure()) return;
    // A site of their own, so these tests do not depend on the demo site.
    CreateSite({{"site", "load.example"}});
  }

  // Sends `bytes` on a fresh connection and reads one response, if any.
  std::optional<HttpResponse> SendRaw(std::string_view bytes) {
    HttpClient client(port(), 5s);
    if (!client.Connect() || !client.SendRaw(bytes)) return std::nullopt;
    return client.ReadResponse();
  }
  void ExpectStillServing() {
    EXPECT_EQ(Call("GET", "/healthz").status, 200);
    HttpResponse hit = Hit("load.example", "/alive");
    EXPECT_EQ(hit.status, 200) << hit.body;
  }
};

TEST_F(RobustnessE2eTest, MalformedRequestLinesAre400) {
  const char* garbage[] = {
      "GARBAGE\r\n\r\n",
      "GET\r\n\r\n",
      "GET / HTTP/9.9\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nNo colon here\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
      "POST /v1/sites/load.example/hits HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  // a TLS ClientHello
  };
  for (const char* bytes : garbage) {
    auto response = SendRaw(bytes);
    // Either a 400 or a closed connection; never a crash or a 2xx.
    if (response) {
      EXPECT_GE(response->status, 400) << bytes;
      EXPECT_LT(response->status, 500) << bytes;
    }
  }
  auto line = SendRaw("GARBAGE\r\n\r\n");
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->status, 400);
  EXPECT_EQ(ReadHits("load.example", "%2F"), -1);
  ExpectStillServing();
}

TEST_F(RobustnessE2eTest, HugeHeadersAre431) {
  std::string request =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(size_t{64} * 1024, 'a') +
      "\r\n\r\n";
  auto response = SendRaw(request);
  ASSERT_TRUE(response.has_value()) << "no answer to huge headers";
  EXPECT_EQ(response->status, 431);
  std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 2000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  response = SendRaw(many);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 431);
  ExpectStillServing();
}

TEST_F(RobustnessE2eTest, HugeBodyIs413) {
  std::string body(size_t{1024} * 1024, 'x');
  HttpResponse r = Call("POST", "/v1/sites", RootAuth(), body);
  EXPECT_EQ(r.status, 413) << r.body;
  // Announced but not sent: refused on the announcement alone.
  auto announced =
      SendRaw("POST /v1/sites/load.example/hits HTTP/1.1\r\nHost: x\r\nContent-Length: " +
              std::to_string(1u << 30) + "\r\n\r\n");
  ASSERT_TRUE(announced.has_value());
  EXPECT_EQ(announced->status, 413);
  EXPECT_EQ(ReadHits("load.example", "%2F"), -1);
  ExpectStillServing();
}

TEST_F(RobustnessE2eTest, InvalidUtf8AndControlBytesInTheKey) {
  // Raw bytes straight in the request target, not %-escaped.
  for (const std::string& key : {std::string("\xC3\x28"), std::string("\xED\xA0\x80"),
                                 std::string("\xFF\xFE"), std::string("a\x7F")}) {
    auto response =
        SendRaw("POST /v1/sites/load.example/hits?key=" + key + " HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, 400) << response->body;
  }
  EXPECT_TRUE(IsJsonError(Hit("load.example", "%C3%28"), 400, "invalid_key"));
  ExpectStillServing();
}

TEST_F(RobustnessE2eTest, PipelinedRequestsAreAnsweredInOrder) {
  HttpClient client(port());
  ASSERT_TRUE(client.Connect());
  std::string three;
  for (int i = 0; i < 3; ++i) {
    three +=
        "POST /v1/sites/load.example/hits?key=/pipe HTTP/1.1\r\nHost: x\r\nContent-Length: "
        "0\r\n\r\n";
  }
  three += "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(client.SendRaw(three));
  for (int i = 1; i <= 3; ++i) {
    auto r = client.ReadResponse();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(ParseJson(r->body)["hits"], i);
  }
  auto last = client.ReadResponse();
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->status, 404);
}

TEST_F(RobustnessE2eTest, SlowClientsDoNotStopOthersAndAreCutOff) {
  // Slowloris: several connections trickling one header byte every 500 ms.
  // The server's request timeout (10 s, no flag to shorten it) must close
  // them; meanwhile everyone else is served at full speed.
  constexpr int kSlow = 8;
  std::atomic<int> closed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> slow;
  slow.reserve(kSlow);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kSlow; ++i) {
    slow.emplace_back([&] {
      HttpClient client(port(), 500ms);
      if (!client.Connect()) return;
      const std::string request =
          "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 's') + "\r\n\r\n";
      for (char c : request) {
        if (stop.load()) return;
        if (!client.SendRaw(std::string_view(&c, 1)) || client.WaitForClose(500ms)) {
          closed.fetch_add(1);
          return;
        }
      }
    });
  }
  // Normal clients while the slow ones hang on: all quick answers.
  int served = 0;
  while (std::chrono::steady_clock::now() - start < 3s) {
    auto t0 = std::chrono::steady_clock::now();
    HttpResponse hit = Hit("load.example", "/busy");
    ASSERT_EQ(hit.status, 200) << hit.body;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    ++served;
  }
  EXPECT_GT(served, 10);
  // Now wait (polling) for the server to cut the slow clients off.
  const auto deadline = start + 16s;
  while (closed.load() < kSlow && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  stop = true;
  for (auto& t : slow) t.join();
  EXPECT_EQ(closed.load(), kSlow) << "slow clients were not disconnected within 16 s";
  ExpectStillServing();
}

TEST_F(RobustnessE2eTest, ClientsThatVanishMidRequestDoNotHurt) {
  for (int i = 0; i < 50; ++i) {
    HttpClient client(port());
    ASSERT_TRUE(client.Connect());
    // Half a request, then gone; or a whole one without waiting for the answer.
    client.SendRaw(i % 2 == 0
                       ? "POST /v1/sites/load.example/hits?key=/gone HTTP/1.1\r\nHost: x\r\nCont"
                       : "POST /v1/sites/load.example/hits?key=/gone HTTP/1.1\r\nHost: x\r\n"
                         "Content-Length: 0\r\n\r\n");
  }
  ExpectStillServing();
  EXPECT_LE(ReadHits("load.example", "/gone"), 25);
}

}  // namespace
}  // namespace tally::e2e

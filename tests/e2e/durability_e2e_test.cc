// What survives a crash (kill -9) and a normal restart: no hit answered 200
// under --durability strict may be lost, and a graceful stop finishes the
// requests it already has.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "e2e/tally_process.h"

namespace tally::e2e {
namespace {

using namespace std::chrono_literals;

class DurabilityE2eTest : public TallyServerTest {
 protected:
  void SetUp() override {
    TallyServerTest::SetUp();
    if (HasFatalFailure()) return;
    // A site of their own, so these tests do not depend on the demo site.
    CreateSite({{"site", "load.example"}});
  }
};

TEST_F(DurabilityE2eTest, KillDashNineLosesNoAcknowledgedHit) {
  constexpr int kThreads = 6;
  constexpr int64_t kAcksBeforeKill = 1000;
  std::atomic<int64_t> acks{0};
  std::atomic<int> finished{0};
  std::vector<std::vector<int64_t>> numbers(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient client(port(), 5s);
      // Until the server dies under us: connection errors end the loop.
      for (int i = 0; i < 5000; ++i) {
        HttpResponse r = client.Request("POST", "/v1/sites/load.example/hits?key=/crash");
        if (r.status == 0) break;
        if (r.status != 200) continue;
        numbers[t].push_back(ParseJson(r.body)["hits"].get<int64_t>());
        acks.fetch_add(1);
      }
      finished.fetch_add(1);
    });
  }
  // Crash in the middle of the load, not before or after it.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (acks.load() < kAcksBeforeKill && finished.load() < kThreads &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  server_.Kill();
  for (auto& t : threads) t.join();
  ASSERT_GE(acks.load(), kAcksBeforeKill) << "the load never got going";

  int64_t highest = 0;
  std::vector<int64_t> all;
  for (const auto& v : numbers) {
    all.insert(all.end(), v.begin(), v.end());
    if (!v.empty()) highest = std::max(highest, v.back());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a number was given twice";

  ASSERT_EQ(server_.Restart(), "");
  const int64_t after = ReadHits("load.example", "/crash");
  EXPECT_GE(after, highest) << "acknowledged hits were lost in the crash";
  EXPECT_GE(after, static_cast<int64_t>(all.size()));
  // Counting goes on from there, without reusing a number.
  HttpResponse next = Hit("load.example", "/crash");
  ASSERT_EQ(next.status, 200);
  EXPECT_EQ(ParseJson(next.body)["hits"], after + 1);
}

TEST_F(DurabilityE2eTest, DataSurvivesGracefulRestart) {
  for (int i = 0; i < 25; ++i) ASSERT_EQ(Hit("load.example", "/keep").status, 200);
  HttpResponse created = Call("POST", "/v1/sites", RootAuth(), R"({"site":"kept.example"})");
  ASSERT_EQ(created.status, 201);

  EXPECT_EQ(server_.Terminate(), 0) << "SIGTERM must end tally serve with exit code 0";
  EXPECT_TRUE(server_.Log().find("stopped") != std::string::npos);
  ASSERT_EQ(server_.Restart(), "");
  EXPECT_EQ(ReadHits("load.example", "/keep"), 25);
  EXPECT_EQ(Call("GET", "/v1/sites/kept.example", RootAuth()).status, 200);
  EXPECT_EQ(server_.Terminate(), 0);
  ASSERT_EQ(server_.Restart(), "");
  EXPECT_EQ(ReadHits("load.example", "/keep"), 25);
}

TEST_F(DurabilityE2eTest, RelaxedDurabilitySurvivesGracefulRestart) {
  ASSERT_EQ(server_.Terminate(), 0);
  ServeOptions relaxed;
  relaxed.extra_args = {"--durability", "relaxed"};
  ASSERT_EQ(server_.Start(relaxed), "");
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Hit("load.example", "/relaxed").status, 200);
  // Stop syncs what is unsynced.
  EXPECT_EQ(server_.Terminate(), 0);
  ASSERT_EQ(server_.Restart(), "");
  EXPECT_EQ(ReadHits("load.example", "/relaxed"), 10);
}

TEST_F(DurabilityE2eTest, SigtermLetsARequestInFlightFinish) {
  // A request that has started to arrive when SIGTERM comes must still be
  // answered: send its head and half its body first.
  HttpClient in_flight(port());
  ASSERT_TRUE(in_flight.Connect());
  ASSERT_TRUE(
      in_flight.SendRaw("POST /v1/sites/load.example/hits?key=/inflight HTTP/1.1\r\nHost: "
                        "x\r\nContent-Length: 4\r\n\r\nab"));
  // And one idle keep-alive connection, which the server may simply close.
  HttpClient idle(port());
  ASSERT_EQ(idle.Request("GET", "/healthz").status, 200);

  server_.SendTerm();
  ASSERT_TRUE(server_.WaitForLog("shutting down", 5s));
  ASSERT_TRUE(in_flight.SendRaw("cd"));
  auto response = in_flight.ReadResponse();
  ASSERT_TRUE(response.has_value()) << "no answer to the request in flight";
  EXPECT_EQ(response->status, 200) << response->body;
  EXPECT_EQ(ParseJson(response->body)["hits"], 1);
  EXPECT_EQ(response->Header("Connection").value_or(""), "close");
  // Close our ends: the server lingers (up to 5 s) for a client that keeps a
  // closed connection open, which would only slow this test down.
  in_flight.Close();
  idle.Close();

  EXPECT_EQ(server_.WaitExit(15s), 0);
  ASSERT_EQ(server_.Restart(), "");
  EXPECT_EQ(ReadHits("load.example", "/inflight"), 1);
}

TEST_F(DurabilityE2eTest, SigtermUnderLoadAnswersOrRefusesCleanly) {
  // Every request sent while the server stops either gets a whole answer or
  // none (connection closed/refused); every hit answered 200 is kept.
  constexpr int kThreads = 4;
  std::atomic<int64_t> acks{0};
  std::vector<int64_t> highest(kThreads, 0);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient client(port(), 15s);
      for (int i = 0; i < 5000; ++i) {
        HttpResponse r = client.Request("POST", "/v1/sites/load.example/hits?key=/term");
        if (r.status == 0) {
          if (!client.Connect()) break;  // refused: the server is gone
          continue;
        }
        if (r.status != 200) continue;
        highest[t] = std::max(highest[t], ParseJson(r.body)["hits"].get<int64_t>());
        acks.fetch_add(1);
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (acks.load() < 100 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  server_.SendTerm();
  EXPECT_EQ(server_.WaitExit(20s), 0);
  for (auto& t : threads) t.join();
  ASSERT_EQ(server_.Restart(), "");
  const int64_t after = ReadHits("load.example", "/term");
  EXPECT_GE(after, *std::max_element(highest.begin(), highest.end()));
  EXPECT_GE(after, acks.load());
}

}  // namespace
}  // namespace tally::e2e

#include "api/stream_hub.h"

#include <gtest/gtest.h>

#include <thread>

#include "api/metrics.h"

namespace tally {
namespace {

using namespace std::chrono_literals;

// Records what a stream would have written.
class RecordingSink : public EventSink {
 public:
  bool Push(std::string data) override {
    std::lock_guard lock(mu);
    if (is_closed) return false;
    pushed.push_back(std::move(data));
    return true;
  }
  bool closed() const override { return is_closed; }
  std::vector<std::string> Pushed() {
    std::lock_guard lock(mu);
    return pushed;
  }
  std::mutex mu;
  std::vector<std::string> pushed;
  std::atomic<bool> is_closed{false};
};

StreamHubOptions Fast() {
  StreamHubOptions o;
  o.min_interval = 20ms;
  o.heartbeat = 100ms;
  return o;
}

void Commit(StreamHub& hub, std::string_view site, std::string_view key, int64_t hits) {
  HitDelta delta{site, key, "2026-11-25", 1, {}};
  CounterTotals totals{hits, 0, hits, 0};
  hub.OnCommitted({&delta, 1}, {&totals, 1});
}

template <typename Pred>
bool WaitFor(Pred pred) {
  for (int i = 0; i < 200 && !pred(); ++i) std::this_thread::sleep_for(10ms);
  return pred();
}

TEST(StreamHubTest, SendsChangesOfTheFollowedCounterCoalesced) {
  Metrics metrics;
  StreamHub hub(Fast(), &metrics);
  auto source = hub.Open("s", "/a", "10.0.0.1");
  ASSERT_TRUE(source.ok());
  auto sink = std::make_shared<RecordingSink>();
  (*source)->Attach(sink);
  Commit(hub, "s", "/b", 99);                              // another counter: not sent
  for (int i = 1; i <= 5; ++i) Commit(hub, "s", "/a", i);  // one burst
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& e : sink->Pushed()) {
      if (e.find("\"hits\":5") != std::string::npos) return true;
    }
    return false;
  }));
  int count_events = 0;
  for (const auto& e : sink->Pushed()) {
    if (e.starts_with("event: count")) ++count_events;
    EXPECT_EQ(e.find("\"hits\":99"), std::string::npos);
  }
  EXPECT_LE(count_events, 2) << "a burst is coalesced";
  EXPECT_EQ(metrics.open_streams.load(), 1);
}

TEST(StreamHubTest, HeartbeatsKeepQuietStreamsAlive) {
  StreamHub hub(Fast(), nullptr);
  auto source = hub.Open("s", "/", "10.0.0.1");
  ASSERT_TRUE(source.ok());
  auto sink = std::make_shared<RecordingSink>();
  (*source)->Attach(sink);
  ASSERT_TRUE(WaitFor([&] { return !sink->Pushed().empty(); }));
  EXPECT_EQ(sink->Pushed()[0], ": heartbeat\n\n");
}

TEST(StreamHubTest, ClosedAndNeverAttachedStreamsAreForgotten) {
  Metrics metrics;
  StreamHub hub(Fast(), &metrics);
  auto attached = hub.Open("s", "/", "10.0.0.1");
  auto abandoned = hub.Open("s", "/", "10.0.0.1");
  ASSERT_TRUE(attached.ok() && abandoned.ok());
  auto sink = std::make_shared<RecordingSink>();
  (*attached)->Attach(sink);
  EXPECT_EQ(hub.open_streams(), 2u);
  abandoned = Status::Internal("dropped");  // the response died before attaching
  sink->is_closed = true;                   // the client left
  attached = Status::Internal("dropped");
  ASSERT_TRUE(WaitFor([&] { return hub.open_streams() == 0; }));
  EXPECT_EQ(metrics.open_streams.load(), 0);
}

TEST(StreamHubTest, LimitsPerClientAndInTotal) {
  StreamHubOptions o = Fast();
  o.max_per_client = 2;
  o.max_streams = 3;
  StreamHub hub(o, nullptr);
  std::vector<std::shared_ptr<EventSource>> keep;
  keep.reserve(3);
  for (int i = 0; i < 2; ++i) keep.push_back(*hub.Open("s", "/", "10.0.0.1"));
  auto third = hub.Open("s", "/", "10.0.0.1");
  EXPECT_EQ(third.status().code(), StatusCode::kResourceExhausted);
  keep.push_back(*hub.Open("s", "/", "10.0.0.2"));
  auto fourth = hub.Open("s", "/", "10.0.0.3");
  EXPECT_EQ(fourth.status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace tally

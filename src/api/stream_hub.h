// StreamHub: live counts for GET /v1/sites/{site}/stream (Server-Sent Events).
//
// Each open stream is a subscription to one counter. The counting service
// tells the hub about every committed batch; a ticker thread sends each
// changed counter's numbers to its subscribers at most every
// `min_interval` (coalescing bursts), and a heartbeat comment to everyone
// every `heartbeat`. Subscriptions whose connection closed are dropped on
// the next tick, so abandoned streams cost nothing for long.
//
// Limits: at most `max_streams` in all and `max_per_client` per client
// address, so nobody can hold the server's memory or descriptors.
//
// Thread safety: Open from any thread; OnCommitted from the writer thread;
// the ticker runs on its own thread. One mutex, never held across I/O
// (EventSink::Push only queues).
//
// Scope: a stream sees the hits counted by this process. Behind a load
// balancer with several instances, each stream follows its own instance.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/response.h"
#include "common/status.h"
#include "counting/counting_service.h"

namespace tally {

class Metrics;

struct StreamHubOptions {
  size_t max_streams = 10000;
  size_t max_per_client = 16;
  std::chrono::milliseconds min_interval{250};
  std::chrono::milliseconds heartbeat{15000};
};

class StreamHub : public CountObserver {
 public:
  StreamHub(StreamHubOptions options, Metrics* metrics);
  ~StreamHub() override;  // stops the ticker

  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;

  // A new subscription to counter (site, key) for `client`, to be set as a
  // Response's `events`. ResourceExhausted when a limit is reached.
  Result<std::shared_ptr<EventSource>> Open(std::string_view site, std::string_view key,
                                            std::string_view client);

  // CountObserver: remembers the newest numbers of counters someone follows.
  void OnCommitted(std::span<const HitDelta> deltas,
                   std::span<const CounterTotals> totals) override;

  // Streams open now (attached or about to be).
  size_t open_streams() const;

  // The SSE event for a counter's numbers.
  static std::string FormatEvent(std::string_view site, std::string_view key,
                                 const CounterTotals& totals);

 private:
  class Subscription;
  struct Followed {
    std::vector<std::shared_ptr<Subscription>> subscriptions;
    bool changed = false;
    CounterTotals latest;
  };

  void Run();
  void Tick(bool heartbeat);
  void Forget(const Subscription& s);  // mu_ held

  const StreamHubOptions options_;
  Metrics* const metrics_;

  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::unordered_map<std::string, Followed> followed_;  // "site\nkey" -> state
  std::map<std::string, size_t, std::less<>> per_client_;
  size_t total_ = 0;
  std::atomic<size_t> total_atomic_{0};  // read by OnCommitted without the lock
  std::thread ticker_;
};

}  // namespace tally

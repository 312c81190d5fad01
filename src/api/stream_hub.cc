#include "api/stream_hub.h"

#include "api/counter_json.h"
#include "api/metrics.h"
#include "common/thread_name.h"

namespace tally {
namespace {

// A stream whose response was dropped before it could attach (the client
// left first) is forgotten after this long at the latest.
constexpr auto kAttachTimeout = std::chrono::seconds(30);

std::string CounterId(std::string_view site, std::string_view key) {
  std::string id;
  id.reserve(site.size() + key.size() + 1);
  id.append(site).push_back('\n');
  id.append(key);
  return id;
}

}  // namespace

class StreamHub::Subscription final : public EventSource {
 public:
  Subscription(StreamHub* hub, std::string id, std::string client)
      : hub_(hub), id(std::move(id)), client(std::move(client)) {}

  void Attach(std::shared_ptr<EventSink> new_sink) override {
    std::lock_guard lock(hub_->mu_);
    sink = std::move(new_sink);
  }

  StreamHub* const hub_;
  const std::string id;
  const std::string client;
  const std::chrono::steady_clock::time_point opened = std::chrono::steady_clock::now();
  std::shared_ptr<EventSink> sink;  // guarded by hub_->mu_
};

StreamHub::StreamHub(StreamHubOptions options, Metrics* metrics)
    : options_(options), metrics_(metrics) {
  ticker_ = std::thread([this] {
    NameThisThread("tally-stream");
    Run();
  });
}

StreamHub::~StreamHub() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  ticker_.join();
}

std::string StreamHub::FormatEvent(std::string_view site, std::string_view key,
                                   const CounterTotals& totals) {
  std::string event = "event: count\ndata: ";
  AppendCounterJson(event, site, key, totals, std::nullopt);
  event += "\n\n";
  return event;
}

Result<std::shared_ptr<EventSource>> StreamHub::Open(std::string_view site, std::string_view key,
                                                     std::string_view client) {
  std::lock_guard lock(mu_);
  if (total_ >= options_.max_streams) {
    return Status::ResourceExhausted("too many live streams on this server");
  }
  auto it = per_client_.find(client);
  if (it != per_client_.end() && it->second >= options_.max_per_client) {
    return Status::ResourceExhausted("too many live streams from this client");
  }
  auto subscription =
      std::make_shared<Subscription>(this, CounterId(site, key), std::string(client));
  followed_[subscription->id].subscriptions.push_back(subscription);
  ++per_client_[subscription->client];
  ++total_;
  total_atomic_.store(total_, std::memory_order_relaxed);
  if (metrics_) metrics_->open_streams.store(static_cast<int64_t>(total_));
  return std::shared_ptr<EventSource>(std::move(subscription));
}

void StreamHub::OnCommitted(std::span<const HitDelta> deltas,
                            std::span<const CounterTotals> totals) {
  if (total_atomic_.load(std::memory_order_relaxed) == 0) return;  // nobody is watching
  std::lock_guard lock(mu_);
  std::string id;
  for (size_t i = 0; i < deltas.size(); ++i) {
    id.assign(deltas[i].site).push_back('\n');
    id.append(deltas[i].key);
    auto it = followed_.find(id);
    if (it == followed_.end()) continue;
    it->second.latest = totals[i];
    it->second.changed = true;
  }
}

size_t StreamHub::open_streams() const {
  std::lock_guard lock(mu_);
  return total_;
}

void StreamHub::Forget(const Subscription& s) {
  auto it = per_client_.find(s.client);
  if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
  --total_;
}

void StreamHub::Run() {
  auto next_heartbeat = std::chrono::steady_clock::now() + options_.heartbeat;
  std::unique_lock lock(mu_);
  while (!stop_cv_.wait_for(lock, options_.min_interval, [&] { return stopping_; })) {
    auto now = std::chrono::steady_clock::now();
    bool heartbeat = now >= next_heartbeat;
    if (heartbeat) next_heartbeat = now + options_.heartbeat;
    lock.unlock();
    Tick(heartbeat);
    lock.lock();
  }
}

void StreamHub::Tick(bool heartbeat) {
  static const std::string kHeartbeat = ": heartbeat\n\n";
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  for (auto it = followed_.begin(); it != followed_.end();) {
    Followed& f = it->second;
    std::string event;
    if (f.changed) {
      size_t newline = it->first.find('\n');
      event = FormatEvent(std::string_view(it->first).substr(0, newline),
                          std::string_view(it->first).substr(newline + 1), f.latest);
      f.changed = false;
    }
    std::erase_if(f.subscriptions, [&](const std::shared_ptr<Subscription>& s) {
      bool gone;
      if (s->sink == nullptr) {
        // Never attached: dropped by its response (use_count 1: only we hold
        // it), or waiting too long.
        gone = s.use_count() == 1 || now - s->opened > kAttachTimeout;
      } else {
        gone = s->sink->closed() || (!event.empty() && !s->sink->Push(event)) ||
               (heartbeat && !s->sink->Push(kHeartbeat));
      }
      if (gone) Forget(*s);
      return gone;
    });
    it = f.subscriptions.empty() ? followed_.erase(it) : std::next(it);
  }
  total_atomic_.store(total_, std::memory_order_relaxed);
  if (metrics_) metrics_->open_streams.store(static_cast<int64_t>(total_));
}

}  // namespace tally

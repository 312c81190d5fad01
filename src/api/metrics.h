// Process-wide counters exported at GET /metrics in Prometheus text format.
//
// Thread safety: every member may be updated from any thread; updates are
// relaxed atomics and never block.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tally {

// The routes requests are counted by. Keep in sync with kRouteNames.
enum class Route : int {
  kHits,
  kCounterRead,
  kCounterList,
  kCounterSet,
  kCounterDelete,
  kSiteCreate,
  kSiteList,
  kSiteGet,
  kSiteUpdate,
  kSiteDelete,
  kTokenRotate,
  kBadge,
  kSeries,
  kExport,
  kCompat,
  kStream,
  kPreflight,
  kHealthz,
  kReadyz,
  kMetrics,
  kStatic,
  kUnknown,
  kCount_,
};

// A fixed-bucket histogram; Observe is lock-free.
class Histogram {
 public:
  // `bounds` are the upper bounds of the buckets, ascending; +Inf is implicit.
  template <size_t N>
  explicit Histogram(const std::array<double, N>& bounds) : bounds_(bounds.begin(), bounds.end()) {
    buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  }
  void Observe(double value);
  // How many values were observed.
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  // Appends the histogram in Prometheus text format under `name`.
  void AppendTo(std::string& out, const char* name, const char* help) const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

class Metrics {
 public:
  Metrics();

  // Counts one answered request.
  void CountRequest(Route route, int http_status);

  std::atomic<int64_t> open_connections{0};
  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> hits_counted{0};      // hits durably written
  std::atomic<uint64_t> hits_not_counted{0};  // answered, deliberately not counted
  std::atomic<uint64_t> hits_failed{0};       // rejected because the store failed or was full
  std::atomic<int64_t> writer_queue_depth{0};
  std::atomic<int64_t> open_streams{0};  // live /stream responses
  Histogram commit_seconds;  // latency of one Store::ApplyHits
  Histogram batch_hits;      // hits per committed batch
  Histogram batch_counters;  // distinct counters per committed batch

  // The whole exposition in Prometheus text format 0.0.4.
  std::string Render() const;

 private:
  static constexpr int kStatusSlots = 20;
  static int StatusSlot(int http_status);
  std::array<std::array<std::atomic<uint64_t>, kStatusSlots>, static_cast<int>(Route::kCount_)>
      requests_{};
};

}  // namespace tally

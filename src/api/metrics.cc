#include "api/metrics.h"

#include <fmt/format.h>

namespace tally {
namespace {

constexpr const char* kRouteNames[] = {
    "hits",      "counter_read", "counter_list", "counter_set", "counter_delete", "site_create",
    "site_list", "site_get",     "site_update",  "site_delete", "token_rotate",   "badge",
    "series",    "export",       "compat",       "stream",
    "preflight", "healthz",      "readyz",       "metrics",     "static",         "unknown",
};
static_assert(std::size(kRouteNames) == static_cast<size_t>(Route::kCount_));

// The statuses the api can answer with; anything else lands in the last slot.
constexpr int kStatuses[] = {200, 201, 204, 301, 304, 400, 401, 403, 404,
                             405, 409, 413, 415, 429, 431, 500, 503, 0};

constexpr std::array<double, 14> kCommitBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
constexpr std::array<double, 12> kBatchBuckets = {1,  2,   4,   8,   16,   32,
                                                  64, 128, 256, 512, 1024, 4096};

}  // namespace

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double sum = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
  }
}

void Histogram::AppendTo(std::string& out, const char* name, const char* help) const {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i],
                   cumulative);
  }
  cumulative += buckets_[bounds_.size()].load(std::memory_order_relaxed);
  fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n",
                 name, cumulative, name, sum_.load(std::memory_order_relaxed), name,
                 count_.load(std::memory_order_relaxed));
}

Metrics::Metrics()
    : commit_seconds(kCommitBuckets), batch_hits(kBatchBuckets), batch_counters(kBatchBuckets) {}

int Metrics::StatusSlot(int http_status) {
  constexpr int n = static_cast<int>(std::size(kStatuses));
  for (int i = 0; i < n - 1; ++i) {
    if (kStatuses[i] == http_status) return i;
  }
  return n - 1;
}

void Metrics::CountRequest(Route route, int http_status) {
  requests_[static_cast<int>(route)][StatusSlot(http_status)].fetch_add(1,
                                                                        std::memory_order_relaxed);
}

std::string Metrics::Render() const {
  std::string out;
  out.reserve(8192);
  auto it = std::back_inserter(out);
  fmt::format_to(it,
                 "# HELP tally_http_requests_total Requests answered, by route and status.\n"
                 "# TYPE tally_http_requests_total counter\n");
  constexpr int n = static_cast<int>(std::size(kStatuses));
  for (int r = 0; r < static_cast<int>(Route::kCount_); ++r) {
    for (int s = 0; s < n; ++s) {
      uint64_t v = requests_[r][s].load(std::memory_order_relaxed);
      if (v == 0) continue;
      if (kStatuses[s] == 0) {
        fmt::format_to(it, "tally_http_requests_total{{route=\"{}\",status=\"other\"}} {}\n",
                       kRouteNames[r], v);
      } else {
        fmt::format_to(it, "tally_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n",
                       kRouteNames[r], kStatuses[s], v);
      }
    }
  }
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    fmt::format_to(it, "# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, v);
  };
  auto gauge = [&](const char* name, const char* help, int64_t v) {
    fmt::format_to(it, "# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, v);
  };
  counter("tally_hits_counted_total", "Hits durably written.", hits_counted.load());
  counter("tally_hits_not_counted_total", "Hits answered but deliberately not counted.",
          hits_not_counted.load());
  counter("tally_hits_failed_total", "Hits refused because the store failed or was full.",
          hits_failed.load());
  gauge("tally_open_connections", "HTTP connections open now.", open_connections.load());
  counter("tally_connections_total", "HTTP connections accepted.", connections_total.load());
  gauge("tally_open_streams", "Live counter streams (Server-Sent Events) open now.",
        open_streams.load());
  gauge("tally_writer_queue_depth", "Hits waiting for the group-commit writer.",
        writer_queue_depth.load());
  commit_seconds.AppendTo(out, "tally_commit_seconds", "Latency of one batch write to the store.");
  batch_hits.AppendTo(out, "tally_batch_hits", "Hits per committed batch.");
  batch_counters.AppendTo(out, "tally_batch_counters", "Distinct counters per committed batch.");
  return out;
}

}  // namespace tally

// Many clients at once: group commit must still hand every hit its own
// number, with no duplicates and no gaps.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <thread>

#include "e2e/tally_process.h"

namespace tally::e2e {
namespace {

class ConcurrencyE2eTest : public TallyServerTest {
 protected:
  void SetUp() override {
    TallyServerTest::SetUp();
    if (HasFatalFailure()) return;
    // A site of their own, so these tests do not depend on the demo site.
    CreateSite({{"site", "load.example"}});
  }
};

// Hits `key` `count` times over one keep-alive connection; appends each
// acknowledged number to `numbers`; returns the number of failures.
int HitMany(uint16_t port, const std::string& key, int count, std::vector<int64_t>* numbers) {
  HttpClient client(port);
  int failures = 0;
  for (int i = 0; i < count; ++i) {
    HttpResponse r = client.Request("POST", "/v1/sites/load.example/hits?key=" + key);
    auto body = ParseJson(r.body);
    if (r.status != 200 || !body.is_object() || !body["hits"].is_number_integer()) {
      ++failures;
      continue;
    }
    numbers->push_back(body["hits"].get<int64_t>());
  }
  return failures;
}

TEST_F(ConcurrencyE2eTest, ParallelClientsGetDistinctGapFreeNumbers) {
  constexpr int kHotThreads = 16;
  constexpr int kHitsPerThread = 200;
  constexpr int kOtherKeys = 4;
  constexpr int kOtherHits = 50;

  std::vector<std::vector<int64_t>> hot(kHotThreads), other(kOtherKeys);
  std::vector<int> failures(kHotThreads + kOtherKeys, 0);
  std::vector<std::thread> threads;
  threads.reserve(kHotThreads + kOtherKeys);
  for (int t = 0; t < kHotThreads; ++t) {
    threads.emplace_back(
        [&, t] { failures[t] = HitMany(port(), "/hot", kHitsPerThread, &hot[t]); });
  }
  // Other counters in the same batches must not disturb the hot one's numbers.
  for (int k = 0; k < kOtherKeys; ++k) {
    threads.emplace_back([&, k] {
      failures[kHotThreads + k] =
          HitMany(port(), "/other" + std::to_string(k), kOtherHits, &other[k]);
    });
  }
  for (auto& t : threads) t.join();
  for (int f : failures) EXPECT_EQ(f, 0);

  std::vector<int64_t> all;
  for (const auto& v : hot) {
    // One client's hits are sequential, so its numbers rise.
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    all.insert(all.end(), v.begin(), v.end());
  }
  std::sort(all.begin(), all.end());
  constexpr int64_t kTotal = int64_t{kHotThreads} * kHitsPerThread;
  ASSERT_EQ(static_cast<int64_t>(all.size()), kTotal);
  for (int64_t i = 0; i < kTotal; ++i) {
    ASSERT_EQ(all[i], i + 1) << "duplicate or gap at position " << i;
  }
  EXPECT_EQ(ReadHits("load.example", "/hot"), kTotal);
  for (int k = 0; k < kOtherKeys; ++k) {
    std::vector<int64_t> expected(kOtherHits);
    for (int i = 0; i < kOtherHits; ++i) expected[i] = i + 1;
    EXPECT_EQ(other[k], expected);
    EXPECT_EQ(ReadHits("load.example", "/other" + std::to_string(k)), kOtherHits);
  }

  // Group commit did group: fewer batches than hits.
  HttpResponse metrics = Call("GET", "/metrics");
  double batches = MetricValue(metrics.body, "tally_batch_hits_count").value_or(0);
  double hits = MetricValue(metrics.body, "tally_batch_hits_sum").value_or(0);
  EXPECT_EQ(hits, kTotal + int64_t{kOtherKeys} * kOtherHits);
  EXPECT_LT(batches, hits);
}

}  // namespace
}  // namespace tally::e2e

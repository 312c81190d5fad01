#include "api/counter_json.h"

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tally {
namespace {

TEST(CounterJsonTest, WritesTheDocumentedShape) {
  std::string out;
  AppendCounterJson(out, "demo", "/blog/", CounterTotals{1234567, 34567, 8901, 456}, std::nullopt);
  EXPECT_EQ(out, R"({"site":"demo","key":"/blog/","hits":1234567,"visitors":34567,)"
                 R"("today":{"hits":8901,"visitors":456}})");
}

TEST(CounterJsonTest, AppendsAndSaysWhetherTheHitCounted) {
  std::string out = "prefix";
  AppendCounterJson(out, "s", "/", CounterTotals{0, 0, 0, 0}, false);
  EXPECT_EQ(out, R"(prefix{"site":"s","key":"/","hits":0,"visitors":0,)"
                 R"("today":{"hits":0,"visitors":0},"counted":false})");
  out.clear();
  AppendCounterJson(out, "s", "/", CounterTotals{1, 1, 1, 1}, true);
  EXPECT_EQ(nlohmann::json::parse(out)["counted"], true);
}

TEST(CounterJsonTest, WritesEveryInt64AndEscapesTheKey) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  std::string out;
  AppendCounterJson(out, "s", "/\"quoted\"\\\n/é", CounterTotals{kMax, kMin, -1, 9}, std::nullopt);
  nlohmann::json parsed = nlohmann::json::parse(out);
  EXPECT_EQ(parsed["key"], "/\"quoted\"\\\n/é");
  EXPECT_EQ(parsed["hits"].get<int64_t>(), kMax);
  EXPECT_EQ(parsed["visitors"].get<int64_t>(), kMin);
  EXPECT_EQ(parsed["today"]["hits"].get<int64_t>(), -1);
  EXPECT_EQ(parsed["today"]["visitors"].get<int64_t>(), 9);
}

}  // namespace
}  // namespace tally

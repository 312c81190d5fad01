#include "api/counter_json.h"

#include <fmt/format.h>

#include "api/error_response.h"

namespace tally {
namespace {

// The punctuation, field names and four int64 numbers of AppendCounterJson.
constexpr size_t kFixedJsonBytes = 160;

}  // namespace

void AppendCounterJson(std::string& out, std::string_view site, std::string_view key,
                       const CounterTotals& totals, std::optional<bool> counted) {
  // One allocation for the whole answer (the hit path builds it in a fresh
  // string): the fixed text and four numbers take at most ~150 bytes, and
  // escaping rarely grows a site or key. Growing step by step took three.
  out.reserve(out.size() + site.size() + key.size() + kFixedJsonBytes);
  out += "{\"site\":\"";
  AppendJsonEscaped(out, site);
  out += "\",\"key\":\"";
  AppendJsonEscaped(out, key);
  fmt::format_to(std::back_inserter(out),
                 "\",\"hits\":{},\"visitors\":{},\"today\":{{\"hits\":{},\"visitors\":{}}}",
                 totals.hits, totals.visitors, totals.today_hits, totals.today_visitors);
  if (counted.has_value()) out += *counted ? ",\"counted\":true" : ",\"counted\":false";
  out += '}';
}

}  // namespace tally

#include "api/counter_json.h"

#include <fmt/format.h>

#include "api/error_response.h"

namespace tally {

void AppendCounterJson(std::string& out, std::string_view site, std::string_view key,
                       const CounterTotals& totals, std::optional<bool> counted) {
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

// The JSON shape of one counter, shared by every endpoint that answers with
// a counter:
//   {"site":"s","key":"/","hits":1,"visitors":1,"today":{"hits":1,"visitors":1}}
// with ,"counted":true|false before the closing brace for hit answers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/store.h"

namespace tally {

void AppendCounterJson(std::string& out, std::string_view site, std::string_view key,
                       const CounterTotals& totals, std::optional<bool> counted);

}  // namespace tally

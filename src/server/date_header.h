// The value of the HTTP `Date` response header (RFC 9110 section 5.6.7).
#pragma once

#include <ctime>
#include <string_view>

namespace tally::http {

// Length of an IMF-fixdate such as "Sun, 06 Nov 1994 08:49:37 GMT".
inline constexpr std::size_t kHttpDateLength = 29;

// Writes `t` as an IMF-fixdate into `out` (exactly kHttpDateLength bytes, no
// terminator). Independent of the process locale. Thread-safe.
void FormatHttpDate(std::time_t t, char* out);

// The current time as an IMF-fixdate. Formatted at most once per second per
// thread (the cache is thread-local, so network threads never share or lock
// it). The view stays valid until the next call on the same thread.
std::string_view CurrentHttpDate();

}  // namespace tally::http

// Calendar days in a site's time zone (IANA names such as "Europe/Berlin"),
// DST included, from the system's zoneinfo via cctz: no hand-written tz rules.
//
// Thread-safe: zones are loaded once and cached.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tally {

// True if `name` is a time zone the system knows ("UTC" always is).
bool IsKnownTimeZone(std::string_view name);

// "YYYY-MM-DD" of `unix_seconds` in time zone `name` (UTC if unknown).
std::string LocalDay(std::string_view name, int64_t unix_seconds);

// `day` plus `delta` days, both "YYYY-MM-DD"; empty if `day` is malformed.
std::string AddDays(std::string_view day, int delta);

// True if `day` is a real calendar date written as YYYY-MM-DD.
bool IsValidDay(std::string_view day);

// Unix seconds of `day`'s midnight UTC, or -1 if `day` is not a real date.
int64_t UtcDayStart(std::string_view day);

}  // namespace tally

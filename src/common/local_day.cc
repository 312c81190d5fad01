#include "common/local_day.h"

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <shared_mutex>

namespace tally {
namespace {

class ZoneCache {
 public:
  // The zone, or nullptr if the system does not know it.
  const cctz::time_zone* Find(std::string_view name) {
    {
      std::shared_lock lock(mu_);
      auto it = zones_.find(name);
      if (it != zones_.end()) return it->second.ok ? &it->second.zone : nullptr;
    }
    Entry entry;
    // Names are IANA identifiers; refuse paths so nobody reads arbitrary files.
    entry.ok = !name.empty() && name.size() < 64 && name.find("..") == std::string_view::npos &&
               name.front() != '/' && cctz::load_time_zone(std::string(name), &entry.zone);
    std::unique_lock lock(mu_);
    // Bounded: unknown names are cached too, so cap the cache.
    if (zones_.size() > 1024) zones_.clear();
    auto [it, inserted] = zones_.emplace(std::string(name), entry);
    return it->second.ok ? &it->second.zone : nullptr;
  }

 private:
  struct Entry {
    cctz::time_zone zone;
    bool ok = false;
  };
  std::shared_mutex mu_;
  std::map<std::string, Entry, std::less<>> zones_;
};

ZoneCache& Zones() {
  static ZoneCache cache;
  return cache;
}

std::string Format(const cctz::civil_day& d) {
  // Every hit formats its day: digits by hand, not snprintf (~0.5% of the
  // server's samples under load), for the years a clock gives.
  if (d.year() >= 0 && d.year() <= 9999) {
    auto y = static_cast<int>(d.year());
    const char out[10] = {static_cast<char>('0' + y / 1000),
                          static_cast<char>('0' + y / 100 % 10),
                          static_cast<char>('0' + y / 10 % 10),
                          static_cast<char>('0' + y % 10),
                          '-',
                          static_cast<char>('0' + d.month() / 10),
                          static_cast<char>('0' + d.month() % 10),
                          '-',
                          static_cast<char>('0' + d.day() / 10),
                          static_cast<char>('0' + d.day() % 10)};
    return std::string(out, sizeof out);
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02d", static_cast<long long>(d.year()), d.month(),
                d.day());
  return buf;
}

bool ParseDay(std::string_view s, cctz::civil_day* out) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  int y = 0, m = 0, d = 0;
  for (int i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  y = std::stoi(std::string(s.substr(0, 4)));
  m = std::stoi(std::string(s.substr(5, 2)));
  d = std::stoi(std::string(s.substr(8, 2)));
  cctz::civil_day day(y, m, d);
  // civil_day normalizes (2026-02-30 becomes 2026-03-02): a real date round-trips.
  if (day.year() != y || day.month() != m || day.day() != d) return false;
  *out = day;
  return true;
}

// LocalDay without the per-thread memo.
std::string ComputeLocalDay(std::string_view name, int64_t unix_seconds) {
  const cctz::time_zone* zone = Zones().Find(name);
  cctz::time_zone tz = zone ? *zone : cctz::utc_time_zone();
  auto tp = std::chrono::system_clock::from_time_t(static_cast<time_t>(unix_seconds));
  return Format(cctz::civil_day(cctz::convert(tp, tz)));
}

}  // namespace

bool IsKnownTimeZone(std::string_view name) { return Zones().Find(name) != nullptr; }

std::string LocalDay(std::string_view name, int64_t unix_seconds) {
  // Every hit asks, nearly always for the same zone and second as the hit
  // before it on this thread: remember the last answer, which spares the
  // zone cache's shared lock (a cache line all threads write) and cctz.
  struct Last {
    std::string zone;
    int64_t unix_seconds = 0;
    std::string day;  // empty until the first call
  };
  thread_local Last last;
  if (!last.day.empty() && last.unix_seconds == unix_seconds && last.zone == name) return last.day;
  std::string day = ComputeLocalDay(name, unix_seconds);
  last.zone.assign(name);
  last.unix_seconds = unix_seconds;
  last.day = day;
  return day;
}

std::string AddDays(std::string_view day, int delta) {
  cctz::civil_day d;
  if (!ParseDay(day, &d)) return "";
  return Format(d + delta);
}

int64_t UtcDayStart(std::string_view day) {
  cctz::civil_day d;
  if (!ParseDay(day, &d)) return -1;
  return static_cast<int64_t>(d - cctz::civil_day(1970, 1, 1)) * 86400;
}

bool IsValidDay(std::string_view day) {
  cctz::civil_day d;
  return ParseDay(day, &d);
}

}  // namespace tally

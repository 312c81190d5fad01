#include "common/clock.h"

#include <chrono>
#include <cstdio>

namespace tally {

int64_t SystemClock::NowUnixSeconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string UtcDay(int64_t unix_seconds) {
  using namespace std::chrono;
  year_month_day ymd{floor<days>(sys_seconds{seconds{unix_seconds}})};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

}  // namespace tally

#include "store/dynamodb/dynamodb_layout.h"

#include <charconv>
#include <cstdio>

namespace tally::dynamodb {
namespace {

// Howard Hinnant's days_from_civil / civil_from_days.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::string CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y + (m <= 2)), m, d);
  return buf;
}

// Days since the epoch of `day`, or false if it is not YYYY-MM-DD.
bool ParseDay(std::string_view day, int64_t* out) {
  if (day.size() != 10 || day[4] != '-' || day[7] != '-') return false;
  int y = 0;
  unsigned m = 0, d = 0;
  auto num = [&](size_t pos, size_t len, auto* value) {
    auto [p, ec] = std::from_chars(day.data() + pos, day.data() + pos + len, *value);
    return ec == std::errc() && p == day.data() + pos + len;
  };
  if (!num(0, 4, &y) || !num(5, 2, &m) || !num(8, 2, &d)) return false;
  if (m < 1 || m > 12 || d < 1 || d > 31) return false;
  *out = DaysFromCivil(y, m, d);
  return true;
}

}  // namespace

std::string CounterPk(std::string_view site, std::string_view key) {
  std::string pk;
  pk.reserve(3 + site.size() + key.size());
  pk.append("c#").append(site).append("#").append(key);
  return pk;
}

std::string DaySk(std::string_view day) { return std::string(kDaySkPrefix) + std::string(day); }

std::string SitePk(std::string_view site) { return "s#" + std::string(site); }

std::string VisitorPk(std::string_view site, std::string_view day, std::string_view hash) {
  std::string pk;
  pk.reserve(4 + site.size() + day.size() + hash.size());
  pk.append("v#").append(site).append("#").append(day).append("#").append(hash);
  return pk;
}

std::string SaltPk(std::string_view day) { return "salt#" + std::string(day); }

int64_t DayStartUnixSeconds(std::string_view day) {
  int64_t days = 0;
  if (!ParseDay(day, &days)) return -1;
  return days * 86400;
}

std::string AddDays(std::string_view day, int days) {
  int64_t base = 0;
  if (!ParseDay(day, &base)) return "";
  return CivilFromDays(base + days);
}

}  // namespace tally::dynamodb

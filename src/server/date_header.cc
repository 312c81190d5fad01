#include "server/date_header.h"

#include <chrono>
#include <cstdint>

namespace tally::http {
namespace {

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

char* PutTwoDigits(char* p, int v) {
  *p++ = static_cast<char>('0' + v / 10 % 10);
  *p++ = static_cast<char>('0' + v % 10);
  return p;
}

char* PutText(char* p, const char* text) {
  while (*text != '\0') *p++ = *text++;
  return p;
}

}  // namespace

void FormatHttpDate(std::time_t t, char* out) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  // Formatted by hand rather than with strftime: %a and %b follow the
  // process locale, and HTTP dates must be English.
  char* p = out;
  p = PutText(p, kDays[tm.tm_wday]);
  p = PutText(p, ", ");
  p = PutTwoDigits(p, tm.tm_mday);
  *p++ = ' ';
  p = PutText(p, kMonths[tm.tm_mon]);
  *p++ = ' ';
  int year = tm.tm_year + 1900;
  p = PutTwoDigits(p, year / 100);
  p = PutTwoDigits(p, year % 100);
  *p++ = ' ';
  p = PutTwoDigits(p, tm.tm_hour);
  *p++ = ':';
  p = PutTwoDigits(p, tm.tm_min);
  *p++ = ':';
  p = PutTwoDigits(p, tm.tm_sec);
  PutText(p, " GMT");
}

std::string_view CurrentHttpDate() {
  struct Cache {
    std::time_t second = -1;
    char text[kHttpDateLength];
  };
  thread_local Cache cache;
  // clock_gettime(CLOCK_REALTIME) goes through the vDSO: no system call.
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  if (now != cache.second) {
    FormatHttpDate(now, cache.text);
    cache.second = now;
  }
  return {cache.text, kHttpDateLength};
}

}  // namespace tally::http

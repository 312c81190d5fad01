// Time, behind a seam so tests can move it.
#pragma once

#include <cstdint>
#include <string>

namespace tally {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch. Thread-safe.
  virtual int64_t NowUnixSeconds() const = 0;
};

class SystemClock : public Clock {
 public:
  int64_t NowUnixSeconds() const override;
};

// "YYYY-MM-DD" of `unix_seconds` in UTC.
std::string UtcDay(int64_t unix_seconds);

}  // namespace tally

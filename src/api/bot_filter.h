// BotFilter: which requests are not counted because a machine, not a person,
// made them — crawlers and link previewers by User-Agent, and browsers'
// speculative prefetch/prerender loads.
//
// Thread safety: const after construction; shared by all threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/request.h"
#include "common/status.h"

namespace tally {

class BotFilter {
 public:
  // The built-in list of User-Agent patterns.
  BotFilter();
  // Patterns from a file, one case-insensitive substring per line ('#'
  // comments), replacing the built-in list: the list can be updated
  // without a rebuild (`tally serve --bot-patterns FILE`).
  static Result<BotFilter> FromFile(const std::string& path);

  // True if `user_agent` matches a pattern.
  bool IsBot(std::string_view user_agent) const;

  // True if the request is a prefetch or prerender (Sec-Purpose, Purpose,
  // X-Moz, X-Purpose headers), which is no page view yet.
  static bool IsPrefetch(const Request& request);

 private:
  // Builds bigrams_ and single_bytes_ from patterns_.
  void Index();

  std::vector<std::string> patterns_;  // lower-case; an empty line never becomes one
  // Bit (a << 8 | b) is set if a pattern starts with the bytes a, b.
  std::vector<uint64_t> bigrams_ = std::vector<uint64_t>(65536 / 64);
  std::array<bool, 256> single_bytes_{};  // the one-byte patterns
};

}  // namespace tally

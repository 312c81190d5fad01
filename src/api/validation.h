// Rules for the names a client sends: sites, counter keys, UTF-8.
// Pure functions, thread-safe.
#pragma once

#include <string_view>

#include "common/status.h"

namespace tally {

inline constexpr size_t kMaxKeyBytes = 256;

// True if `s` is well-formed UTF-8: no overlong forms, no surrogates, nothing
// above U+10FFFF.
bool IsValidUtf8(std::string_view s);

// A site name: [a-z0-9][a-z0-9.-]{0,62}.
bool IsValidSiteName(std::string_view site);

// A counter key: 1..256 bytes of valid UTF-8 without control characters
// (C0, DEL, C1). Returns InvalidArgument saying which rule failed.
Status ValidateKey(std::string_view key);

}  // namespace tally

// Secrets: random tokens, their stored hashes, and constant-time checks.
//
// A token is shown once, when it is made; only its SHA-256 (hex) is stored.
// Tokens are never logged. All functions are thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace tally {

// Returns a new token: `prefix` followed by 32 random bytes (256 bits from
// the OS CSPRNG) in URL-safe base64 without padding. Fails only if the OS has
// no randomness to give.
Result<std::string> NewToken(std::string_view prefix);

// Hex SHA-256 of `token`: what the stores keep.
std::string HashToken(std::string_view token);

// True if SHA-256(`token`) equals `stored_hash` (hex). Compares in constant
// time with respect to the contents; an empty `stored_hash` never matches.
bool TokenMatches(std::string_view token, std::string_view stored_hash);

}  // namespace tally

#include "api/validation.h"

#include <cstdint>

namespace tally {
namespace {

// Decodes one code point at s[i]; returns its length, or 0 if malformed.
size_t DecodeUtf8(std::string_view s, size_t i, uint32_t* cp) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  uint8_t b0 = byte(i);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t len;
  uint32_t min;
  if ((b0 & 0xe0) == 0xc0) {
    len = 2, min = 0x80, *cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3, min = 0x800, *cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4, min = 0x10000, *cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    uint8_t b = byte(i + k);
    if ((b & 0xc0) != 0x80) return 0;
    *cp = (*cp << 6) | (b & 0x3f);
  }
  if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff)) return 0;
  return len;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  uint32_t cp;
  for (size_t i = 0; i < s.size();) {
    size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool IsValidSiteName(std::string_view site) {
  if (site.empty() || site.size() > 63) return false;
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_alnum(site[0])) return false;
  for (char c : site.substr(1)) {
    if (!lower_alnum(c) && c != '.' && c != '-') return false;
  }
  return true;
}

Status ValidateKey(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("key must not be empty");
  if (key.size() > kMaxKeyBytes) {
    return Status::InvalidArgument("key is longer than 256 bytes");
  }
  uint32_t cp;
  for (size_t i = 0; i < key.size();) {
    size_t n = DecodeUtf8(key, i, &cp);
    if (n == 0) return Status::InvalidArgument("key is not valid UTF-8");
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
      return Status::InvalidArgument("key contains a control character");
    }
    i += n;
  }
  return Status::Ok();
}

}  // namespace tally

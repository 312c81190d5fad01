#include "api/query.h"

#include <algorithm>

namespace tally {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<std::string> PercentDecode(std::string_view in, bool plus_is_space) {
  // Exactly the decoded size (an escape is 3 bytes in, 1 out): a key such as
  // "%2Fblog%2Fpost-1" then fits a std::string's inline buffer, where
  // reserving in.size() would allocate.
  auto escapes = static_cast<size_t>(std::count(in.begin(), in.end(), '%'));
  std::string out;
  out.reserve(in.size() - std::min(in.size(), 2 * escapes));
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) {
        return Status::InvalidArgument("truncated %-escape");
      }
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return Status::InvalidArgument("bad %-escape");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<QueryParams> QueryParams::Parse(std::string_view raw, size_t max_params) {
  QueryParams q;
  while (!raw.empty()) {
    size_t amp = raw.find('&');
    std::string_view part = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    if (part.empty()) continue;
    if (q.size() >= max_params) {
      return Status::InvalidArgument("too many query parameters");
    }
    size_t eq = part.find('=');
    auto name = PercentDecode(part.substr(0, eq), true);
    if (!name.ok()) return name.status();
    std::string value;
    if (eq != std::string_view::npos) {
      auto decoded = PercentDecode(part.substr(eq + 1), true);
      if (!decoded.ok()) return decoded.status();
      value = std::move(decoded).value();
    }
    q.Add(std::move(name).value(), std::move(value));
  }
  return q;
}

void QueryParams::Add(std::string name, std::string value) {
  if (inline_count_ < kInlineParams) {
    inline_[inline_count_++] = Param(std::move(name), std::move(value));
  } else {
    more_.emplace_back(std::move(name), std::move(value));
  }
}

const std::string* QueryParams::Find(std::string_view name) const {
  for (size_t i = 0; i < inline_count_; ++i) {
    if (inline_[i].first == name) return &inline_[i].second;
  }
  for (const auto& [n, v] : more_) {
    if (n == name) return &v;
  }
  return nullptr;
}

}  // namespace tally

// Parsing of URL query strings and percent-encoded path segments.
// Pure functions, thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace tally {

// Decodes %XX escapes (and '+' as space when `plus_is_space`). Fails on a
// '%' not followed by two hex digits. Does not check UTF-8.
Result<std::string> PercentDecode(std::string_view in, bool plus_is_space);

// The decoded parameters of one query string, in order.
class QueryParams {
 public:
  // Parses "a=1&b=&c" (a parameter without '=' has an empty value). Fails on
  // bad escapes and on more than `max_params` parameters.
  static Result<QueryParams> Parse(std::string_view raw, size_t max_params = 32);

  // The value of the first parameter named `name`, or nullptr.
  const std::string* Find(std::string_view name) const;
  bool Has(std::string_view name) const { return Find(name) != nullptr; }

 private:
  using Param = std::pair<std::string, std::string>;
  // The first parameters are kept inline: a hit has one or two, and a vector
  // of them cost an allocation per request.
  static constexpr size_t kInlineParams = 4;

  size_t size() const { return inline_count_ + more_.size(); }
  void Add(std::string name, std::string value);

  std::array<Param, kInlineParams> inline_;
  size_t inline_count_ = 0;
  std::vector<Param> more_;  // the parameters after the first kInlineParams
};

}  // namespace tally

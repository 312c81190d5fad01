#include "api/bot_filter.h"

#include <algorithm>
#include <fstream>

namespace tally {
namespace {

// Self-declared crawlers, previewers and monitors. Deliberately not here:
// plain HTTP tools (curl, wget) and headless browsers, which people use to
// test their own pages and which bots do not announce anyway.
constexpr std::string_view kDefaultPatterns[] = {
    "bot",
    "crawl",
    "spider",
    "slurp",
    "facebookexternalhit",
    "mediapartners",
    "lighthouse",
    "pingdom",
    "uptimerobot",
    "statuscake",
    "bingpreview",
    "embedly",
    "quora link preview",
    "whatsapp",
    "skypeuripreview",
    "ia_archiver",
    "archive.org_bot",
    "google-inspectiontool",
    "chrome-lighthouse",
    "preview",
    "validator",
    "monitor",
};

// Patterns are ASCII, so case folds as ASCII: any other byte only ever
// matches itself (and no locale can change what matches).
char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), AsciiLower);
  return out;
}

bool ContainsLower(std::string_view haystack, std::string_view lower_needle) {
  if (lower_needle.size() > haystack.size()) return false;
  auto it = std::search(haystack.begin(), haystack.end(), lower_needle.begin(), lower_needle.end(),
                        [](char a, char b) { return AsciiLower(a) == b; });
  return it != haystack.end();
}

}  // namespace

BotFilter::BotFilter() {
  for (std::string_view p : kDefaultPatterns) patterns_.emplace_back(p);
}

Result<BotFilter> BotFilter::FromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read bot pattern file " + path);
  BotFilter filter;
  filter.patterns_.clear();
  std::string line;
  while (std::getline(in, line)) {
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    size_t e = line.find_last_not_of(" \t\r");
    filter.patterns_.push_back(Lower(std::string_view(line).substr(b, e - b + 1)));
  }
  return filter;
}

bool BotFilter::IsBot(std::string_view user_agent) const {
  // Every hit asks, against every pattern: fold the User-Agent once (into a
  // buffer the thread keeps, so no allocation per hit), then let find() skip
  // ahead with memchr instead of comparing folded bytes at every position.
  thread_local std::string folded;
  folded.assign(user_agent);
  std::transform(folded.begin(), folded.end(), folded.begin(), AsciiLower);
  for (const std::string& pattern : patterns_) {
    if (folded.find(pattern) != std::string::npos) return true;
  }
  return false;
}

bool BotFilter::IsPrefetch(const Request& request) {
  for (std::string_view name : {"sec-purpose", "purpose", "x-purpose", "x-moz"}) {
    std::string_view value = request.Header(name);
    if (ContainsLower(value, "prefetch") || ContainsLower(value, "prerender") ||
        ContainsLower(value, "preview")) {
      return true;
    }
  }
  return false;
}

}  // namespace tally

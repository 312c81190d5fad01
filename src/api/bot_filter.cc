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

unsigned Bigram(char a, char b) {
  return static_cast<unsigned>(static_cast<unsigned char>(a)) << 8 | static_cast<unsigned char>(b);
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
  Index();
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
  filter.Index();
  return filter;
}

void BotFilter::Index() {
  bigrams_.assign(bigrams_.size(), 0);
  single_bytes_.fill(false);
  for (const std::string& p : patterns_) {
    if (p.size() == 1) single_bytes_[static_cast<unsigned char>(p[0])] = true;
    if (p.size() >= 2) {
      unsigned bigram = Bigram(p[0], p[1]);
      bigrams_[bigram / 64] |= uint64_t{1} << (bigram % 64);
    }
  }
}

bool BotFilter::IsBot(std::string_view user_agent) const {
  // Every hit asks, against every pattern: one pass over the User-Agent,
  // folding as it goes, and a pattern is compared only where the two bytes
  // it starts with are (a bitmap of those pairs), which in a browser's
  // User-Agent is a handful of places.
  const size_t n = user_agent.size();
  if (n == 0) return false;
  char previous = AsciiLower(user_agent[0]);
  if (single_bytes_[static_cast<unsigned char>(previous)]) return true;
  for (size_t i = 1; i < n; ++i) {
    const char current = AsciiLower(user_agent[i]);
    if (single_bytes_[static_cast<unsigned char>(current)]) return true;
    const unsigned bigram = Bigram(previous, current);
    previous = current;
    if ((bigrams_[bigram / 64] >> (bigram % 64) & 1) == 0) continue;
    const size_t start = i - 1;  // where a pattern starting with the pair would begin
    for (const std::string& pattern : patterns_) {
      if (pattern.size() < 2 || pattern.size() > n - start) continue;
      size_t k = 0;
      while (k < pattern.size() && AsciiLower(user_agent[start + k]) == pattern[k]) ++k;
      if (k == pattern.size()) return true;
    }
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

#include "api/bot_filter.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace tally {
namespace {

TEST(BotFilterTest, KnownCrawlersMatchWhateverTheirCase) {
  BotFilter bots;
  EXPECT_TRUE(
      bots.IsBot("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"));
  EXPECT_TRUE(bots.IsBot("FACEBOOKEXTERNALHIT/1.1"));
  EXPECT_TRUE(bots.IsBot("Mozilla/5.0 (compatible; Quora Link Preview/1.0)"));
  EXPECT_TRUE(bots.IsBot("Chrome-Lighthouse"));
  EXPECT_TRUE(bots.IsBot("BOT"));
}

TEST(BotFilterTest, BrowsersAndToolsAreNotBots) {
  BotFilter bots;
  EXPECT_FALSE(
      bots.IsBot("Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"));
  EXPECT_FALSE(bots.IsBot("curl/7.88.1"));
  EXPECT_FALSE(bots.IsBot(""));
  EXPECT_FALSE(bots.IsBot("bo"));  // shorter than every pattern
  // Non-ASCII bytes fold to nothing: "ＢＯＴ" (full-width) is not "bot".
  EXPECT_FALSE(bots.IsBot("\xEF\xBC\xA2\xEF\xBC\xAF\xEF\xBC\xB4"));
}

// The buffer the User-Agent is folded into is reused: a long one followed by
// a short one must not match on the long one's leftover bytes.
TEST(BotFilterTest, ShortAgentAfterLongOneSeesOnlyItself) {
  BotFilter bots;
  std::string long_agent(3000, 'x');
  long_agent += "Spider";
  EXPECT_TRUE(bots.IsBot(long_agent));
  EXPECT_FALSE(bots.IsBot("xx"));
  EXPECT_FALSE(bots.IsBot(std::string(3000, 'x')));
}

TEST(BotFilterTest, PatternsFromAFileReplaceTheBuiltInOnes) {
  std::string path = "/tmp/tally-bot-patterns-XXXXXX";
  int fd = mkstemp(path.data());
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << "# our own list\n  MyChecker  \n\n\tacme-probe\r\n";
  Result<BotFilter> bots = BotFilter::FromFile(path);
  ::unlink(path.c_str());
  ASSERT_TRUE(bots.ok()) << bots.status().ToString();
  EXPECT_TRUE(bots->IsBot("MYCHECKER/2"));
  EXPECT_TRUE(bots->IsBot("Acme-Probe"));
  EXPECT_FALSE(bots->IsBot("Googlebot")) << "the built-in list is replaced";
  EXPECT_FALSE(BotFilter::FromFile("/nonexistent/patterns").ok());
}

// The scan compares a pattern only where its first two bytes are: patterns
// must still match at the very start and end, right after a false start,
// and one-byte and non-ASCII patterns from a file must work.
TEST(BotFilterTest, PatternsMatchAnywhereButOnlyWhole) {
  BotFilter bots;
  EXPECT_TRUE(bots.IsBot("bbot"));    // "bb" is no start; "bo" one byte later is
  EXPECT_TRUE(bots.IsBot("roBOT"));   // at the end
  EXPECT_TRUE(bots.IsBot("Crawl"));   // the whole User-Agent
  EXPECT_FALSE(bots.IsBot("crawx"));  // a start that does not finish
  EXPECT_FALSE(bots.IsBot("Bo"));     // shorter than the pattern
  EXPECT_FALSE(bots.IsBot("b o t"));

  std::string path = "/tmp/tally-bot-patterns-XXXXXX";
  int fd = mkstemp(path.data());
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << "q\nzz-probe\n\xC3\xB1"
                         "and\xC3\xBA\n";  // "ñandú"
  Result<BotFilter> own = BotFilter::FromFile(path);
  ::unlink(path.c_str());
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_TRUE(own->IsBot("Q"));
  EXPECT_TRUE(own->IsBot("agent ZZ-Probe"));
  EXPECT_FALSE(own->IsBot("agent zz-prob"));
  EXPECT_TRUE(
      own->IsBot("\xC3\xB1"
                 "and\xC3\xBA crawler"));
  EXPECT_FALSE(
      own->IsBot("\xC3\x91"
                 "and\xC3\xBA"));  // "Ñandú": only ASCII folds
  EXPECT_FALSE(own->IsBot("Googlebot"));
}

TEST(BotFilterTest, PrefetchHeadersAreRecognised) {
  Request prefetch;
  prefetch.headers = {{"sec-purpose", "Prefetch;prerender"}};
  EXPECT_TRUE(BotFilter::IsPrefetch(prefetch));
  Request moz;
  moz.headers = {{"x-moz", "PREFETCH"}};
  EXPECT_TRUE(BotFilter::IsPrefetch(moz));
  Request plain;
  plain.headers = {{"user-agent", "Mozilla/5.0"}};
  EXPECT_FALSE(BotFilter::IsPrefetch(plain));
}

}  // namespace
}  // namespace tally

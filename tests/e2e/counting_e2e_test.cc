// Issue 3, points 1 and 2 over real HTTP against a real `tally serve` and
// SQLite file: visitors without cookies, what is not counted (bots,
// prefetches, the rate limit), --trust-proxy, and the site's time zone.
#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <string>

#include "e2e/tally_process.h"

namespace tally::e2e {
namespace {

using nlohmann::json;

constexpr char kSite[] = "count.example";
constexpr char kBrowser[] =
    "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";

// A browser at `ip` as a proxy in front of tally would present it.
Headers Visitor(const std::string& ip, const std::string& user_agent = kBrowser) {
  return {{"X-Forwarded-For", ip}, {"User-Agent", user_agent}};
}

// Today's date (YYYY-MM-DD) in the IANA zone `zone`, from the C library's
// zone data (not tally's), for comparing with what the server says.
std::string TodayIn(const char* zone) {
  const char* saved = std::getenv("TZ");
  std::string old = saved ? saved : "";
  setenv("TZ", zone, 1);
  tzset();
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char day[16];
  std::strftime(day, sizeof day, "%Y-%m-%d", &local);
  if (saved) {
    setenv("TZ", old.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
  return day;
}

// A server that believes X-Forwarded-For (so one test can be many clients),
// plus `extra` flags; and the site kSite.
class CountingE2eTest : public TallyServerTest {
 protected:
  void SetUp() override { StartWith({}); }

  // Starts the server; creates kSite unless it exists already.
  void StartWith(std::vector<std::string> extra) {
    ServeOptions options;
    options.extra_args = {"--trust-proxy", "true"};
    options.extra_args.insert(options.extra_args.end(), extra.begin(), extra.end());
    ASSERT_EQ(server_.Start(options), "") << server_.Log();
    if (!admin_.empty()) return;
    site_ = CreateSite({{"site", kSite}, {"origins", {"https://count.example"}}});
    ASSERT_TRUE(site_.contains("admin_token")) << site_.dump();
    admin_ = Bearer(site_["admin_token"].get<std::string>());
  }

  json HitJson(const std::string& key, const Headers& headers) {
    HttpResponse r = Hit(kSite, key, headers);
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseJson(r.body);
  }

  json ReadJson(const std::string& key) {
    HttpResponse r = Call("GET", std::string("/v1/sites/") + kSite + "/counters?key=" + key);
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseJson(r.body);
  }

  HttpResponse Patch(const json& settings) {
    return Call("PATCH", std::string("/v1/sites/") + kSite, admin_, settings.dump());
  }

  // Everything in the SQLite files (database, WAL, shared memory).
  std::string DatabaseBytes() const {
    std::string bytes;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
      if (entry.path().filename().string().starts_with("tally.db")) {
        bytes += ReadFile(entry.path().string());
      }
    }
    return bytes;
  }

  json site_;
  Headers admin_;
};

TEST_F(CountingE2eTest, VisitorsAreDistinctPerDayByAddressAndUserAgent) {
  json first = HitJson("/cv", Visitor("198.51.100.1"));
  EXPECT_EQ(first["hits"], 1);
  EXPECT_EQ(first["visitors"], 1);
  EXPECT_EQ(first["today"]["visitors"], 1);
  json reload = HitJson("/cv", Visitor("198.51.100.1"));
  EXPECT_EQ(reload["hits"], 2);
  EXPECT_EQ(reload["visitors"], 1) << "a reload is no new visitor";
  EXPECT_EQ(reload["today"]["visitors"], 1);
  EXPECT_EQ(HitJson("/cv", Visitor("198.51.100.2"))["visitors"], 2) << "another address";
  EXPECT_EQ(HitJson("/cv", Visitor("198.51.100.1", "Other/1.0"))["visitors"], 3)
      << "another browser on the same address is another visitor";
  // The last address of X-Forwarded-For is the client (the proxy appends it).
  EXPECT_EQ(HitJson("/cv", {{"X-Forwarded-For", "203.0.113.50, 198.51.100.2"},
                            {"User-Agent", kBrowser}})["visitors"],
            3);
  // Visitors are per counter.
  json other = HitJson("/other", Visitor("198.51.100.1"));
  EXPECT_EQ(other["visitors"], 1);
  EXPECT_EQ(other["today"]["visitors"], 1);

  json read = ReadJson("/cv");
  EXPECT_EQ(read["hits"], 5);
  EXPECT_EQ(read["visitors"], 3);
  EXPECT_EQ(read["today"]["hits"], 5);
  EXPECT_EQ(read["today"]["visitors"], 3);

  // The seen-markers and today's salt are stored: a restart within the day
  // still knows these visitors.
  ASSERT_EQ(server_.Terminate(), 0);
  ASSERT_EQ(server_.Restart(), "") << server_.Log();
  json again = HitJson("/cv", Visitor("198.51.100.1"));
  EXPECT_EQ(again["hits"], 6);
  EXPECT_EQ(again["visitors"], 3) << "a visitor seen before the restart is not new";
  EXPECT_EQ(HitJson("/cv", Visitor("198.51.100.3"))["visitors"], 4);
}

TEST_F(CountingE2eTest, NoAddressOrUserAgentIsStored) {
  const std::string ip = "198.51.100.217";
  const std::string ua = "PrivacyProbe/7.3 (e2e-marker-ua)";
  for (const char* key : {"/", "/private"}) {
    ASSERT_EQ(Hit(kSite, key, Visitor(ip, ua)).status, 200);
    ASSERT_EQ(Hit(kSite, key, {{"X-Forwarded-For", ip}}).status, 200);  // no User-Agent
  }
  for (bool stopped : {false, true}) {
    std::string bytes = DatabaseBytes();
    ASSERT_FALSE(bytes.empty());
    EXPECT_EQ(bytes.find(ip), std::string::npos) << "stopped=" << stopped;
    EXPECT_EQ(bytes.find("e2e-marker-ua"), std::string::npos) << "stopped=" << stopped;
    EXPECT_EQ(bytes.find("PrivacyProbe"), std::string::npos) << "stopped=" << stopped;
    // After a clean stop the WAL is checkpointed into the main file.
    if (!stopped) {
      ASSERT_EQ(server_.Terminate(), 0);
    }
  }
}

TEST_F(CountingE2eTest, WithoutTrustProxyForwardedForIsIgnored) {
  ASSERT_EQ(server_.Terminate(), 0);
  ServeOptions options;
  options.extra_args = {"--trust-proxy", "false"};
  ASSERT_EQ(server_.Start(options), "") << server_.Log();
  HitJson("/tp", Visitor("198.51.100.1"));
  json second = HitJson("/tp", Visitor("198.51.100.2"));
  EXPECT_EQ(second["hits"], 2);
  EXPECT_EQ(second["visitors"], 1) << "forged X-Forwarded-For must not make new visitors";
}

TEST_F(CountingE2eTest, BotsAndPrefetchesAreAnsweredButNotCounted) {
  ASSERT_EQ(HitJson("/b", Visitor("198.51.100.1"))["hits"], 1);
  for (const char* bot :
       {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
        "+https://openai.com/gptbot)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"}) {
    HttpResponse r = Hit(kSite, "/b", Visitor("198.51.100.9", bot));
    ASSERT_EQ(r.status, 200) << bot << " " << r.body;
    json body = ParseJson(r.body);
    EXPECT_EQ(body["counted"], false) << bot;
    EXPECT_EQ(body["hits"], 1) << bot << ": answered with the current numbers";
    EXPECT_EQ(body["visitors"], 1) << bot;
  }
  for (auto [name, value] :
       {std::pair{"Sec-Purpose", "prefetch"}, std::pair{"Sec-Purpose", "prefetch;prerender"},
        std::pair{"Purpose", "prefetch"}}) {
    Headers headers = Visitor("198.51.100.10");
    headers.emplace_back(name, value);
    json body = ParseJson(Hit(kSite, "/b", headers).body);
    EXPECT_EQ(body["counted"], false) << name << ": " << value;
    EXPECT_EQ(body["hits"], 1) << name << ": " << value;
  }
  json fresh = ParseJson(Hit(kSite, "/never-seen", Visitor("198.51.100.9", "Googlebot/2.1")).body);
  EXPECT_EQ(fresh["counted"], false);
  EXPECT_EQ(fresh["hits"], 0) << "a bot on a new counter sees zeros";
  EXPECT_EQ(ReadJson("/b")["hits"], 1);
  json human = HitJson("/b", Visitor("198.51.100.10"));
  EXPECT_EQ(human["counted"], true);
  EXPECT_EQ(human["hits"], 2);

  HttpResponse metrics = Call("GET", "/metrics");
  EXPECT_EQ(MetricValue(metrics.body, "tally_hits_not_counted_total").value_or(-1), 8)
      << metrics.body;
}

TEST_F(CountingE2eTest, BotPatternFileReplacesTheListWithoutRebuild) {
  ASSERT_EQ(server_.Terminate(), 0);
  const std::string patterns = dir_.path() + "/bots.txt";
  WriteFile(patterns, "# our own list\n\n  AcmeCrawler  \nuptime-probe\n");
  ServeOptions options;
  options.extra_args = {"--trust-proxy", "true", "--bot-patterns", patterns};
  ASSERT_EQ(server_.Start(options), "") << server_.Log();
  auto counted = [&](const std::string& ua) {
    HttpResponse r = Hit(kSite, "/p", Visitor("198.51.100.20", ua));
    EXPECT_EQ(r.status, 200) << ua << " " << r.body;
    return ParseJson(r.body).value("counted", true);
  };
  EXPECT_FALSE(counted("Mozilla/5.0 (compatible; acmecrawler/3.1)")) << "case-insensitive";
  EXPECT_FALSE(counted("Uptime-Probe 1.0"));
  EXPECT_TRUE(counted("Mozilla/5.0 (compatible; Googlebot/2.1)"))
      << "the file replaces the built-in list";
  EXPECT_TRUE(counted(kBrowser));
  EXPECT_EQ(ReadJson("/p")["hits"], 2);

  // A missing file is refused at start, not silently ignored.
  ASSERT_EQ(server_.Terminate(), 0);
  options.extra_args = {"--bot-patterns", dir_.path() + "/missing.txt"};
  EXPECT_NE(server_.Start(options, std::chrono::seconds(5)), "");
}

TEST_F(CountingE2eTest, RateLimitAnswers429WithHeadersOrIgnoresPerSite) {
  ASSERT_EQ(server_.Terminate(), 0);
  StartWith({"--rate-limit", "5"});
  if (HasFatalFailure()) return;
  const Headers client = Visitor("198.51.100.30");
  for (int i = 1; i <= 5; ++i) {
    HttpResponse r = Hit(kSite, "/r", client);
    ASSERT_EQ(r.status, 200) << i << " " << r.body;
    EXPECT_EQ(r.Header("RateLimit-Limit").value_or(""), "5");
    EXPECT_EQ(r.Header("RateLimit-Remaining").value_or(""), std::to_string(5 - i));
  }
  HttpResponse limited = Hit(kSite, "/r", client);
  EXPECT_TRUE(IsJsonError(limited, 429, "rate_limited"));
  ASSERT_TRUE(limited.HasHeader("Retry-After"));
  EXPECT_GE(std::stoi(*limited.Header("Retry-After")), 1);
  EXPECT_EQ(limited.Header("RateLimit-Limit").value_or(""), "5");
  EXPECT_EQ(limited.Header("RateLimit-Remaining").value_or(""), "0");
  ASSERT_TRUE(limited.HasHeader("RateLimit-Reset"));
  EXPECT_GE(std::stoi(*limited.Header("RateLimit-Reset")), 1);
  // The limit is per client and per site.
  EXPECT_EQ(Hit(kSite, "/r", Visitor("198.51.100.31")).status, 200);
  HttpResponse other_site = Hit("demo", "/", client);
  EXPECT_EQ(other_site.status, 200) << other_site.body;
  // Loopback clients (a local proxy or tool standing for many) are exempt.
  for (int i = 0; i < 8; ++i) ASSERT_EQ(Hit(kSite, "/r").status, 200) << i;
  EXPECT_EQ(ReadJson("/r")["hits"], 5 + 1 + 8) << "the refused hit was not counted";

  // The site chooses to ignore rather than refuse: answered, not counted.
  ASSERT_EQ(Patch({{"rate_limit_ignore", true}}).status, 200);
  HttpResponse ignored = Hit(kSite, "/r", client);
  ASSERT_EQ(ignored.status, 200) << ignored.body;
  json body = ParseJson(ignored.body);
  EXPECT_EQ(body["counted"], false);
  EXPECT_EQ(body["hits"], 14);
  EXPECT_EQ(ignored.Header("RateLimit-Remaining").value_or(""), "0");

  // A site's own limit beats the server default.
  ASSERT_EQ(Patch({{"rate_limit_ignore", false}, {"rate_limit_per_minute", 2}}).status, 200);
  const Headers fresh = Visitor("198.51.100.32");
  EXPECT_EQ(Hit(kSite, "/r", fresh).status, 200);
  EXPECT_EQ(Hit(kSite, "/r", fresh).status, 200);
  HttpResponse own = Hit(kSite, "/r", fresh);
  EXPECT_TRUE(IsJsonError(own, 429, "rate_limited"));
  EXPECT_EQ(own.Header("RateLimit-Limit").value_or(""), "2");
  EXPECT_EQ(Patch({{"rate_limit_per_minute", -1}}).status, 400);
}

TEST_F(CountingE2eTest, SiteTimeZoneIsAcceptedAndUnknownZonesRefused) {
  HttpResponse patched = Patch({{"timezone", "Europe/Berlin"}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(ParseJson(patched.body)["timezone"], "Europe/Berlin") << patched.body;
  HttpResponse got = Call("GET", std::string("/v1/sites/") + kSite, admin_);
  EXPECT_EQ(ParseJson(got.body)["timezone"], "Europe/Berlin") << got.body;

  for (const char* bad : {"Mars/Olympus", "Europe/Berlinn", "", "../../etc/passwd"}) {
    HttpResponse refused = Patch({{"timezone", bad}});
    EXPECT_EQ(refused.status, 400) << bad << " " << refused.body;
    EXPECT_EQ(ParseJson(refused.body)["error"]["code"], "invalid_site_settings") << refused.body;
  }
  EXPECT_EQ(Patch({{"timezone", 1}}).status, 400);
  EXPECT_EQ(ParseJson(Call("GET", std::string("/v1/sites/") + kSite, admin_).body)["timezone"],
            "Europe/Berlin")
      << "a refused change changes nothing";

  // Today's row is Berlin's today (the C library's zone data agrees).
  std::string before = TodayIn("Europe/Berlin");
  ASSERT_EQ(Hit(kSite, "/tz", Visitor("198.51.100.40")).status, 200);
  HttpResponse series = Call("GET", std::string("/v1/sites/") + kSite + "/series?key=/tz", admin_);
  std::string after = TodayIn("Europe/Berlin");
  ASSERT_EQ(series.status, 200) << series.body;
  json s = ParseJson(series.body);
  EXPECT_EQ(s["timezone"], "Europe/Berlin");
  EXPECT_TRUE(s["to"] == before || s["to"] == after) << s["to"] << " vs " << before;
  ASSERT_FALSE(s["days"].empty());
  EXPECT_EQ(s["days"].back()["day"], s["to"]);
  EXPECT_EQ(s["days"].back()["hits"], 1);

  // The zone survives a restart (it is stored with the site).
  ASSERT_EQ(server_.Terminate(), 0);
  ASSERT_EQ(server_.Restart(), "") << server_.Log();
  EXPECT_EQ(ParseJson(Call("GET", std::string("/v1/sites/") + kSite, admin_).body)["timezone"],
            "Europe/Berlin");
}

}  // namespace
}  // namespace tally::e2e

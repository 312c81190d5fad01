// Issue 3, points 3 and 4 over real HTTP against a real `tally serve` and
// SQLite file: dense daily series, export over HTTP and with `tally export`,
// `tally import` into an empty store, starting values.
#include <gtest/gtest.h>

#include <ctime>
#include <sstream>
#include <string>
#include <vector>

#include "e2e/tally_process.h"

namespace tally::e2e {
namespace {

using nlohmann::json;

constexpr char kSite[] = "data.example";

// The UTC date `offset_days` from today, YYYY-MM-DD.
std::string UtcDay(int offset_days = 0) {
  std::time_t t = std::time(nullptr) + static_cast<std::time_t>(offset_days) * 86400;
  std::tm utc{};
  gmtime_r(&t, &utc);
  char day[16];
  std::strftime(day, sizeof day, "%Y-%m-%d", &utc);
  return day;
}

Headers Visitor(const std::string& ip) {
  return {{"X-Forwarded-For", ip}, {"User-Agent", "Mozilla/5.0 (e2e) Firefox/140"}};
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class SeriesExportE2eTest : public TallyServerTest {
 protected:
  void SetUp() override {
    ServeOptions options;
    options.extra_args = {"--trust-proxy", "true"};
    ASSERT_EQ(server_.Start(options), "") << server_.Log();
    json site = CreateSite({{"site", kSite}, {"origins", {"https://data.example"}}});
    ASSERT_TRUE(site.contains("admin_token")) << site.dump();
    admin_token_ = site["admin_token"];
    admin_ = Bearer(admin_token_);
  }

  HttpResponse Series(const std::string& query, const Headers& auth) {
    return Call("GET", std::string("/v1/sites/") + kSite + "/series?" + query, auth);
  }

  // Stops the server, runs `tally import` on its database, starts it again.
  CliResult ImportOffline(const std::string& file, std::vector<std::string> extra = {}) {
    EXPECT_EQ(server_.Terminate(), 0);
    std::vector<std::string> args = {"import", file, "--store", "sqlite:" + server_.db_path()};
    args.insert(args.end(), extra.begin(), extra.end());
    CliResult result = RunTally(dir_.path(), args);
    EXPECT_EQ(server_.Restart(), "") << server_.Log();
    return result;
  }

  std::string admin_token_;
  Headers admin_;
};

TEST_F(SeriesExportE2eTest, SeriesIsDenseWithZerosAndSumsTheSiteWithoutAKey) {
  const std::string file = dir_.path() + "/days.ndjson";
  WriteFile(file,
            "{\"type\":\"day\",\"key\":\"/a\",\"day\":\"2026-03-01\",\"hits\":4,\"visitors\":2}\n"
            "{\"type\":\"day\",\"key\":\"/a\",\"day\":\"2026-03-03\",\"hits\":1,\"visitors\":1}\n"
            "{\"type\":\"day\",\"key\":\"/b\",\"day\":\"2026-03-02\",\"hits\":7,\"visitors\":5}\n"
            "{\"type\":\"day\",\"key\":\"/b\",\"day\":\"2026-03-03\",\"hits\":2,\"visitors\":2}\n");
  CliResult imported = ImportOffline(file, {"--site", kSite});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;

  HttpResponse r = Series("key=/a&from=2026-02-28&to=2026-03-04", admin_);
  ASSERT_EQ(r.status, 200) << r.body;
  json a = ParseJson(r.body);
  EXPECT_EQ(a["site"], kSite);
  EXPECT_EQ(a["key"], "/a");
  EXPECT_EQ(a["from"], "2026-02-28");
  EXPECT_EQ(a["to"], "2026-03-04");
  EXPECT_EQ(a["timezone"], "UTC");
  ASSERT_EQ(a["days"].size(), 5u) << r.body;
  const std::vector<std::pair<std::string, int>> want = {{"2026-02-28", 0},
                                                         {"2026-03-01", 4},
                                                         {"2026-03-02", 0},
                                                         {"2026-03-03", 1},
                                                         {"2026-03-04", 0}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(a["days"][i]["day"], want[i].first) << i;
    EXPECT_EQ(a["days"][i]["hits"], want[i].second) << i;
    EXPECT_TRUE(a["days"][i]["visitors"].is_number_integer()) << i;
  }
  EXPECT_EQ(a["days"][2]["visitors"], 0);
  EXPECT_EQ(a["total"], json({{"hits", 5}, {"visitors", 3}}));

  // Without a key: the site's totals across keys, day by day.
  json site = ParseJson(Series("from=2026-03-01&to=2026-03-03", admin_).body);
  EXPECT_TRUE(site["key"].is_null()) << site.dump();
  ASSERT_EQ(site["days"].size(), 3u) << site.dump();
  EXPECT_EQ(site["days"][0], json({{"day", "2026-03-01"}, {"hits", 4}, {"visitors", 2}}));
  EXPECT_EQ(site["days"][1], json({{"day", "2026-03-02"}, {"hits", 7}, {"visitors", 5}}));
  EXPECT_EQ(site["days"][2], json({{"day", "2026-03-03"}, {"hits", 3}, {"visitors", 3}}));
  EXPECT_EQ(site["total"], json({{"hits", 14}, {"visitors", 10}}));

  // Live hits land on today; the default range is the last 30 days.
  ASSERT_EQ(Hit(kSite, "/a", Visitor("198.51.100.1")).status, 200);
  ASSERT_EQ(Hit(kSite, "/a", Visitor("198.51.100.2")).status, 200);
  ASSERT_EQ(Hit(kSite, "/a", Visitor("198.51.100.2")).status, 200);
  std::string today = UtcDay();
  json recent = ParseJson(Series("key=/a", admin_).body);
  ASSERT_EQ(recent["days"].size(), 30u) << recent.dump();
  if (recent["to"] == UtcDay()) {  // not across midnight
    EXPECT_EQ(recent["to"], today);
    EXPECT_EQ(recent["from"], UtcDay(-29));
    EXPECT_EQ(recent["days"].back(), json({{"day", today}, {"hits", 3}, {"visitors", 2}}));
    EXPECT_EQ(recent["days"][0]["hits"], 0);
  }
  // The root token may read any site's series.
  EXPECT_EQ(Series("key=/a", RootAuth()).status, 200);
}

TEST_F(SeriesExportE2eTest, BadSeriesRequestsAre400AndNeedAdmin) {
  for (const char* query :
       {"from=2026-02-30", "from=2026-3-01", "to=yesterday", "from=2026-03-05&to=2026-03-01",
        "from=2020-01-01&to=2026-01-01", "from=%zz"}) {
    HttpResponse r = Series(query, admin_);
    EXPECT_TRUE(IsJsonError(r, 400, "invalid_query")) << query;
  }
  EXPECT_TRUE(IsJsonError(Series("key=", admin_), 400, "invalid_key"));
  EXPECT_EQ(Series("from=2024-01-01&to=2025-12-31", admin_).status, 200) << "732 days are fine";
  EXPECT_EQ(Series("from=2026-03-01&to=2026-03-01", {}).status, 401);
  EXPECT_EQ(Series("from=2026-03-01&to=2026-03-01", Bearer("tly_wrong")).status, 401);
  EXPECT_EQ(Call("GET", "/v1/sites/nope.example/series", RootAuth()).status, 404);
  EXPECT_EQ(Call("POST", std::string("/v1/sites/") + kSite + "/series", admin_).status, 405);
}

TEST_F(SeriesExportE2eTest, HttpExportAndCliExportAreTheSameNdjson) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Hit(kSite, "/x", Visitor("198.51.100." + std::to_string(i))).status, 200);
  }
  ASSERT_EQ(Hit(kSite, "/caf%C3%A9", Visitor("198.51.100.9")).status, 200);
  ASSERT_EQ(Call("PUT", std::string("/v1/sites/") + kSite + "/counters?key=/moved", admin_,
                 R"({"hits":900})")
                .status,
            200);

  HttpResponse http = Call("GET", std::string("/v1/sites/") + kSite + "/export", admin_);
  ASSERT_EQ(http.status, 200) << http.body;
  EXPECT_EQ(http.Header("Content-Type").value_or(""), "application/x-ndjson; charset=utf-8");
  EXPECT_EQ(http.body.find(admin_token_), std::string::npos) << "no secrets in exports";
  std::vector<std::string> lines = Lines(http.body);
  ASSERT_GE(lines.size(), 5u) << http.body;  // site, 3 counters, their days
  json head = ParseJson(lines[0]);
  EXPECT_EQ(head["type"], "site");
  EXPECT_EQ(head["site"], kSite);
  int counters = 0, days = 0;
  for (const std::string& line : lines) {
    json j = ParseJson(line);
    ASSERT_TRUE(j.is_object()) << line;
    for (const char* secret : {"admin_token", "admin_token_hash", "public_key_hash"}) {
      EXPECT_FALSE(j.contains(secret)) << line;
    }
    if (j["type"] == "counter") ++counters;
    if (j["type"] == "day") {
      ++days;
      EXPECT_EQ(j["day"].get<std::string>().size(), 10u) << line;
    }
  }
  EXPECT_EQ(counters, 3);
  EXPECT_GE(days, 2);

  // `tally export` on the same database, while the server runs.
  const std::string out = dir_.path() + "/export.ndjson";
  const std::string store = "sqlite:" + server_.db_path();
  CliResult to_file = RunTally(dir_.path(), {"export", kSite, "--out", out, "--store", store});
  ASSERT_EQ(to_file.exit_code, 0) << to_file.err;
  EXPECT_EQ(ReadFile(out), http.body);
  CliResult to_stdout = RunTally(dir_.path(), {"export", kSite, "--store", store});
  ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_EQ(to_stdout.out, http.body);
  EXPECT_NE(RunTally(dir_.path(), {"export", "nope.example", "--store", store}).exit_code, 0);

  EXPECT_EQ(Call("GET", std::string("/v1/sites/") + kSite + "/export").status, 401);
}

// Everything a client can ask about one counter, as a server answers it.
json CounterView(uint16_t port, const std::string& key, const std::string& from,
                 const std::string& to) {
  json view;
  HttpResponse read =
      Fetch(port, "GET", std::string("/v1/sites/") + kSite + "/counters?key=" + key);
  view["read_status"] = read.status;
  view["read"] = ParseJson(read.body);
  HttpResponse series = Fetch(
      port, "GET",
      std::string("/v1/sites/") + kSite + "/series?key=" + key + "&from=" + from + "&to=" + to,
      RootAuth());
  view["series_status"] = series.status;
  view["series"] = ParseJson(series.body);
  return view;
}

TEST_F(SeriesExportE2eTest, ExportThenImportIntoAnEmptyStoreGivesIdenticalAnswers) {
  const std::vector<std::string> keys = {"/", "/blog/", "/caf%C3%A9", "/moved"};
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(Hit(kSite, keys[i % 3], Visitor("198.51.100." + std::to_string(i % 4))).status, 200);
  }
  ASSERT_EQ(Call("PUT", std::string("/v1/sites/") + kSite + "/counters?key=/moved", admin_,
                 R"({"hits":41000})")
                .status,
            200);
  ASSERT_EQ(Call("PATCH", std::string("/v1/sites/") + kSite, admin_,
                 R"({"origins":["https://data.example","https://www.data.example"]})")
                .status,
            200);
  // Past days too, so the series has more than today in it.
  const std::string past = dir_.path() + "/past.ndjson";
  WriteFile(past, "{\"type\":\"day\",\"key\":\"/blog/\",\"day\":\"" + UtcDay(-3) +
                      "\",\"hits\":9,\"visitors\":4}\n");
  ASSERT_EQ(ImportOffline(past, {"--site", kSite}).exit_code, 0);

  HttpResponse exported = Call("GET", std::string("/v1/sites/") + kSite + "/export", admin_);
  ASSERT_EQ(exported.status, 200);
  const std::string file = dir_.path() + "/site.ndjson";
  WriteFile(file, exported.body);

  // An empty store: a fresh data dir, `tally import`, a second server.
  TempDir other_dir;
  TallyProcess other(other_dir.path());
  CliResult imported =
      RunTally(other_dir.path(), {"import", file, "--store", "sqlite:" + other.db_path()});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_NE(imported.err.find("admin token"), std::string::npos) << "new secrets are shown";
  ASSERT_EQ(other.Start(), "") << other.Log();

  const std::string from = UtcDay(-5), to = UtcDay();
  for (const std::string& key : keys) {
    json want = CounterView(port(), key, from, to);
    json got = CounterView(other.port(), key, from, to);
    EXPECT_EQ(want["read_status"], 200) << key;
    EXPECT_EQ(got, want) << key;
  }
  // The site's totals, the counter list and the settings match too.
  HttpResponse want_site = Series("from=" + from + "&to=" + to, RootAuth());
  HttpResponse got_site =
      Fetch(other.port(), "GET",
            std::string("/v1/sites/") + kSite + "/series?from=" + from + "&to=" + to, RootAuth());
  EXPECT_EQ(got_site.body, want_site.body);
  HttpResponse want_list = Call("GET", std::string("/v1/sites/") + kSite + "/counters", RootAuth());
  HttpResponse got_list =
      Fetch(other.port(), "GET", std::string("/v1/sites/") + kSite + "/counters", RootAuth());
  ASSERT_EQ(want_list.status, 200);
  EXPECT_EQ(got_list.body, want_list.body);
  json want_settings = ParseJson(Call("GET", std::string("/v1/sites/") + kSite, RootAuth()).body);
  json got_settings =
      ParseJson(Fetch(other.port(), "GET", std::string("/v1/sites/") + kSite, RootAuth()).body);
  for (const char* field : {"origins", "timezone", "require_public_key", "rate_limit_per_minute",
                            "rate_limit_ignore"}) {
    EXPECT_EQ(got_settings[field], want_settings[field]) << field;
  }
  // The old admin token does not open the imported site (secrets are new).
  EXPECT_EQ(Fetch(other.port(), "GET", std::string("/v1/sites/") + kSite, admin_).status, 401);
  // And counting goes on from the imported numbers.
  HttpResponse next =
      Fetch(other.port(), "POST", std::string("/v1/sites/") + kSite + "/hits?key=/moved");
  EXPECT_EQ(ParseJson(next.body)["hits"], 41001) << next.body;
  other.Kill();
}

TEST_F(SeriesExportE2eTest, ImportSetsAStartingValue) {
  const std::string file = dir_.path() + "/start.ndjson";
  WriteFile(file, "{\"key\":\"/\",\"hits\":41000}\n{\"key\":\"/cv/\",\"hits\":1234}\n");
  // Into a new site (created by the import), and into an existing one.
  CliResult created = ImportOffline(file, {"--site", "moved.example"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_NE(created.err.find("created site moved.example"), std::string::npos) << created.err;
  EXPECT_EQ(ReadHits("moved.example", "/"), 41000);
  EXPECT_EQ(ReadHits("moved.example", "/cv/"), 1234);
  HttpResponse hit = Hit("moved.example", "/");
  ASSERT_EQ(hit.status, 200) << hit.body;
  EXPECT_EQ(ParseJson(hit.body)["hits"], 41001);

  ASSERT_EQ(Hit(kSite, "/").status, 200);
  CliResult existing = ImportOffline(file, {"--site", kSite});
  ASSERT_EQ(existing.exit_code, 0) << existing.err;
  EXPECT_EQ(ReadHits(kSite, "/"), 41000);
  EXPECT_EQ(ParseJson(Hit(kSite, "/").body)["hits"], 41001);

  // A bad file changes nothing and says which line is wrong.
  WriteFile(file, "{\"key\":\"/\",\"hits\":5}\n{\"key\":\"/\",\"hits\":-1}\n");
  CliResult bad = ImportOffline(file, {"--site", kSite});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("line 2"), std::string::npos) << bad.err;
  EXPECT_EQ(ReadHits(kSite, "/"), 41001);
}

}  // namespace
}  // namespace tally::e2e

// Every endpoint and error path of the v1 API, over real HTTP against a real
// `tally serve` and SQLite file.
#include <gtest/gtest.h>

#include "e2e/tally_process.h"

namespace tally::e2e {
namespace {

using nlohmann::json;

class ApiE2eTest : public TallyServerTest {
 protected:
  void SetUp() override {
    TallyServerTest::SetUp();
    if (HasFatalFailure()) return;
    site_ = CreateSite({{"site", "example.com"}, {"origins", {"https://example.com"}}});
    admin_ = Bearer(site_.value("admin_token", ""));
  }

  json site_;
  Headers admin_;
};

TEST_F(ApiE2eTest, HitAnswersWithItsOwnNumberInTheDocumentedShape) {
  HttpResponse first = Hit("example.com", "/about");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.Header("Content-Type").value_or(""), "application/json");
  auto body = ParseJson(first.body);
  ASSERT_TRUE(body.is_object()) << first.body;
  // Exactly these fields; visitors are checked in FirstHitIsOneVisitor.
  EXPECT_EQ(body.size(), 6u) << first.body;
  EXPECT_EQ(body["site"], "example.com");
  EXPECT_EQ(body["key"], "/about");
  EXPECT_EQ(body["hits"], 1);
  EXPECT_TRUE(body["visitors"].is_number_integer());
  EXPECT_EQ(body["today"]["hits"], 1);
  EXPECT_TRUE(body["today"]["visitors"].is_number_integer());
  EXPECT_EQ(body["today"].size(), 2u);
  EXPECT_EQ(body["counted"], true);
  HttpResponse second = Hit("example.com", "/about");
  ASSERT_EQ(second.status, 200) << second.body;
  body = ParseJson(second.body);
  EXPECT_EQ(body["hits"], 2);
  EXPECT_EQ(body["today"]["hits"], 2);
}

// Visitors: hash(daily salt, site, client IP, User-Agent), once per day.
TEST_F(ApiE2eTest, FirstHitIsOneVisitor) {
  HttpResponse first = Hit("example.com", "/v", {{"User-Agent", "e2e/1"}});
  ASSERT_EQ(first.status, 200) << first.body;
  auto body = ParseJson(first.body);
  EXPECT_EQ(body["visitors"], 1) << first.body;
  EXPECT_EQ(body["today"]["visitors"], 1) << first.body;
  // Same client IP and User-Agent on the same day: still one visitor.
  body = ParseJson(Hit("example.com", "/v", {{"User-Agent", "e2e/1"}}).body);
  EXPECT_EQ(body["visitors"], 1);
  // Another User-Agent from the same IP is another visitor.
  body = ParseJson(Hit("example.com", "/v", {{"User-Agent", "e2e/2"}}).body);
  EXPECT_EQ(body["visitors"], 2);
}

TEST_F(ApiE2eTest, HitWithoutKeyCountsTheRootKey) {
  HttpResponse hit = Call("POST", "/v1/sites/example.com/hits");
  ASSERT_EQ(hit.status, 200) << hit.body;
  EXPECT_EQ(ParseJson(hit.body)["key"], "/");
  EXPECT_EQ(ReadHits("example.com", "%2F"), 1);
}

TEST_F(ApiE2eTest, ReadDoesNotIncrement) {
  ASSERT_EQ(Hit("example.com", "/r").status, 200);
  ASSERT_EQ(Hit("example.com", "/r").status, 200);
  for (int i = 0; i < 3; ++i) {
    HttpResponse read = Call("GET", "/v1/sites/example.com/counters?key=/r");
    ASSERT_EQ(read.status, 200) << read.body;
    auto body = ParseJson(read.body);
    EXPECT_EQ(body["hits"], 2) << read.body;
    EXPECT_EQ(body["today"]["hits"], 2) << read.body;
    EXPECT_EQ(body["key"], "/r");
    // A read is not a hit: no "counted" field.
    EXPECT_FALSE(body.contains("counted")) << read.body;
  }
  EXPECT_TRUE(IsJsonError(Call("GET", "/v1/sites/example.com/counters?key=/never"), 404,
                          "counter_not_found"));
  EXPECT_TRUE(IsJsonError(Hit("no-such-site.com", "/"), 404, "site_not_found"));
  EXPECT_TRUE(
      IsJsonError(Call("GET", "/v1/sites/no-such-site.com/counters?key=/"), 404, "site_not_found"));
}

TEST_F(ApiE2eTest, AdminListIsPaginatedWithCursor) {
  const std::vector<std::string> keys = {"/a", "/b", "/c", "/d", "/e"};
  for (const auto& key : keys) ASSERT_EQ(Hit("example.com", key).status, 200);
  std::vector<std::string> seen;
  std::string target = "/v1/sites/example.com/counters?limit=2";
  for (int page = 0; page < 10; ++page) {
    HttpResponse list = Call("GET", target, admin_);
    ASSERT_EQ(list.status, 200) << list.body;
    auto body = ParseJson(list.body);
    ASSERT_TRUE(body["counters"].is_array()) << list.body;
    EXPECT_LE(body["counters"].size(), 2u);
    for (const auto& c : body["counters"]) {
      seen.push_back(c["key"].get<std::string>());
      EXPECT_EQ(c["hits"], 1);
    }
    ASSERT_TRUE(body.contains("next_cursor")) << list.body;
    if (body["next_cursor"].is_null()) break;
    target =
        "/v1/sites/example.com/counters?limit=2&cursor=" + body["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(seen, keys);

  EXPECT_TRUE(IsJsonError(Call("GET", "/v1/sites/example.com/counters"), 401, "unauthorized"));
  EXPECT_TRUE(IsJsonError(Call("GET", "/v1/sites/example.com/counters?limit=0", admin_), 400,
                          "invalid_query"));
  EXPECT_TRUE(IsJsonError(Call("GET", "/v1/sites/example.com/counters?limit=abc", admin_), 400,
                          "invalid_query"));
  EXPECT_TRUE(IsJsonError(Call("GET", "/v1/sites/example.com/counters?cursor=zz", admin_), 400,
                          "invalid_query"));
  // The root token works on every site.
  EXPECT_EQ(Call("GET", "/v1/sites/example.com/counters", RootAuth()).status, 200);
}

TEST_F(ApiE2eTest, PutSetsAndDeleteRemovesACounter) {
  HttpResponse set = Call("PUT", "/v1/sites/example.com/counters?key=/x", admin_, R"({"hits":41})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(ParseJson(set.body)["hits"], 41);
  HttpResponse hit = Hit("example.com", "/x");
  ASSERT_EQ(hit.status, 200);
  EXPECT_EQ(ParseJson(hit.body)["hits"], 42);

  EXPECT_TRUE(
      IsJsonError(Call("PUT", "/v1/sites/example.com/counters?key=/x", admin_, R"({"hits":-1})"),
                  400, "invalid_body"));
  EXPECT_TRUE(
      IsJsonError(Call("PUT", "/v1/sites/example.com/counters?key=/x", admin_, R"({"hits":1.5})"),
                  400, "invalid_body"));
  EXPECT_TRUE(IsJsonError(Call("PUT", "/v1/sites/example.com/counters?key=/x", admin_, "{"), 400,
                          "invalid_json"));
  EXPECT_TRUE(IsJsonError(Call("PUT", "/v1/sites/example.com/counters?key=/x", {}, R"({"hits":0})"),
                          401, "unauthorized"));
  EXPECT_TRUE(
      IsJsonError(Call("PUT", "/v1/sites/example.com/counters?key=", admin_, R"({"hits":0})"), 400,
                  "invalid_key"));
  // None of the refused calls changed the count.
  EXPECT_EQ(ReadHits("example.com", "/x"), 42);

  EXPECT_TRUE(
      IsJsonError(Call("DELETE", "/v1/sites/example.com/counters?key=/x"), 401, "unauthorized"));
  HttpResponse del = Call("DELETE", "/v1/sites/example.com/counters?key=/x", admin_);
  EXPECT_EQ(del.status, 204) << del.body;
  EXPECT_EQ(ReadHits("example.com", "/x"), -1);
  EXPECT_TRUE(IsJsonError(Call("DELETE", "/v1/sites/example.com/counters?key=/x", admin_), 404,
                          "counter_not_found"));
}

TEST_F(ApiE2eTest, CreateSiteAnswers201WithSecretsOnce) {
  HttpResponse created = Call("POST", "/v1/sites", RootAuth(),
                              R"({"site":"blog.example.org","origins":["https://*.example.org"],
                                  "require_public_key":true})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto body = ParseJson(created.body);
  EXPECT_EQ(body["site"], "blog.example.org");
  EXPECT_EQ(body["origins"], json::array({"https://*.example.org"}));
  EXPECT_EQ(body["require_public_key"], true);
  ASSERT_TRUE(body["admin_token"].is_string());
  ASSERT_TRUE(body["public_key"].is_string());
  EXPECT_GE(body["admin_token"].get<std::string>().size(), 24u);
  EXPECT_NE(body["admin_token"], body["public_key"]);

  // Shown once: reading the site back never shows a secret or its hash.
  HttpResponse get = Call("GET", "/v1/sites/blog.example.org", RootAuth());
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(get.body.find(body["admin_token"].get<std::string>()), std::string::npos);
  EXPECT_EQ(get.body.find("hash"), std::string::npos) << get.body;
  EXPECT_EQ(get.body.find("token"), std::string::npos) << get.body;

  EXPECT_TRUE(IsJsonError(Call("POST", "/v1/sites", RootAuth(), R"({"site":"blog.example.org"})"),
                          409, "site_exists"));
}

TEST_F(ApiE2eTest, CreateSiteRefusesBadInputAndNonRoot) {
  const char* bad[] = {
      R"({"site":"Bad_Name"})",
      R"({"site":""})",
      R"({"origins":["https://a.com"]})",
      R"({"site":"ok.com","origins":["ftp://a.com"]})",
      R"({"site":"ok.com","origins":"https://a.com"})",
      R"({"site":"ok.com","require_public_key":"yes"})",
      R"({"site":"ok.com","bogus":1})",
      R"(["ok.com"])",
  };
  for (const char* body : bad) {
    EXPECT_TRUE(
        IsJsonError(Call("POST", "/v1/sites", RootAuth(), body), 400, "invalid_site_settings"))
        << body;
  }
  EXPECT_TRUE(IsJsonError(Call("POST", "/v1/sites", RootAuth(), "{not json"), 400, "invalid_json"));
  EXPECT_TRUE(
      IsJsonError(Call("POST", "/v1/sites", {}, R"({"site":"ok.com"})"), 401, "unauthorized"));
  // A site's admin token is not the root token.
  EXPECT_TRUE(
      IsJsonError(Call("POST", "/v1/sites", admin_, R"({"site":"ok.com"})"), 401, "unauthorized"));
  // Nothing of the above created a site.
  EXPECT_TRUE(IsJsonError(Call("GET", "/v1/sites/ok.com", RootAuth()), 404, "site_not_found"));
}

TEST_F(ApiE2eTest, GetPatchDeleteSite) {
  HttpResponse get = Call("GET", "/v1/sites/example.com", admin_);
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(ParseJson(get.body)["origins"], json::array({"https://example.com"}));

  HttpResponse patch = Call("PATCH", "/v1/sites/example.com", admin_,
                            R"({"origins":["https://example.com","https://www.example.com"]})");
  ASSERT_EQ(patch.status, 200) << patch.body;
  get = Call("GET", "/v1/sites/example.com", admin_);
  EXPECT_EQ(ParseJson(get.body)["origins"],
            json::array({"https://example.com", "https://www.example.com"}));
  // The new origin is in force for browsers at once.
  EXPECT_EQ(Hit("example.com", "/", {{"Origin", "https://www.example.com"}}).status, 200);

  EXPECT_TRUE(IsJsonError(Call("PATCH", "/v1/sites/example.com", admin_, R"({"site":"x.com"})"),
                          400, "invalid_site_settings"));
  EXPECT_TRUE(
      IsJsonError(Call("PATCH", "/v1/sites/example.com", admin_, "nope"), 400, "invalid_json"));
  EXPECT_TRUE(IsJsonError(Call("PATCH", "/v1/sites/example.com", {}, "{}"), 401, "unauthorized"));

  // Delete is root-only.
  EXPECT_TRUE(IsJsonError(Call("DELETE", "/v1/sites/example.com", admin_), 401, "unauthorized"));
  EXPECT_EQ(Call("DELETE", "/v1/sites/example.com", RootAuth()).status, 204);
  EXPECT_TRUE(IsJsonError(Call("GET", "/v1/sites/example.com", RootAuth()), 404, "site_not_found"));
  EXPECT_TRUE(IsJsonError(Hit("example.com", "/"), 404, "site_not_found"));
  EXPECT_TRUE(
      IsJsonError(Call("DELETE", "/v1/sites/example.com", RootAuth()), 404, "site_not_found"));
}

TEST_F(ApiE2eTest, ListSitesIsRootOnly) {
  HttpResponse list = Call("GET", "/v1/sites", RootAuth());
  ASSERT_EQ(list.status, 200) << list.body;
  std::vector<std::string> names;
  const auto body = ParseJson(list.body);  // not a temporary: the loop keeps a reference
  for (const auto& s : body["sites"]) names.push_back(s["site"].get<std::string>());
  EXPECT_NE(std::find(names.begin(), names.end(), "example.com"), names.end()) << list.body;
  EXPECT_NE(std::find(names.begin(), names.end(), "demo"), names.end()) << list.body;
  EXPECT_TRUE(IsJsonError(Call("GET", "/v1/sites", admin_), 401, "unauthorized"));
  EXPECT_TRUE(IsJsonError(Call("GET", "/v1/sites"), 401, "unauthorized"));
}

TEST_F(ApiE2eTest, HealthReadyAndMetrics) {
  HttpResponse health = Call("GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_FALSE(ParseJson(health.body).is_discarded());
  HttpResponse ready = Call("GET", "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;

  for (int i = 0; i < 3; ++i) ASSERT_EQ(Hit("example.com", "/m").status, 200);
  ASSERT_EQ(Call("GET", "/nope").status, 404);

  // Keep one more connection open while reading the metrics.
  HttpClient idle(port());
  ASSERT_EQ(idle.Request("GET", "/healthz").status, 200);
  HttpResponse metrics = Call("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_TRUE(metrics.Header("Content-Type").value_or("").starts_with("text/plain"));
  const std::string& text = metrics.body;
  EXPECT_GE(
      MetricValue(text, R"(tally_http_requests_total{route="hits",status="200"})").value_or(0), 3);
  EXPECT_GE(
      MetricValue(text, R"(tally_http_requests_total{route="unknown",status="404"})").value_or(0),
      1);
  EXPECT_GE(MetricValue(text, "tally_hits_counted_total").value_or(0), 3) << text;
  EXPECT_GE(MetricValue(text, "tally_commit_seconds_count").value_or(0), 1) << text;
  EXPECT_TRUE(MetricValue(text, R"(tally_commit_seconds_bucket{le="+Inf"})").has_value()) << text;
  EXPECT_GE(MetricValue(text, "tally_batch_hits_count").value_or(0), 1) << text;
  EXPECT_GE(MetricValue(text, "tally_open_connections").value_or(0), 2) << text;
}

TEST_F(ApiE2eTest, UnknownPathsAre404Json) {
  EXPECT_TRUE(IsJsonError(Call("GET", "/nope"), 404, "not_found"));
  EXPECT_TRUE(IsJsonError(Call("GET", "/v1/sites/example.com/nope"), 404, "not_found"));
  EXPECT_TRUE(IsJsonError(Call("GET", "/v1"), 404, "not_found"));
  EXPECT_TRUE(IsJsonError(Call("POST", "/v1/sitesx"), 404, "not_found"));
}

TEST_F(ApiE2eTest, WrongMethodIs405WithAllow) {
  struct Case {
    const char* method;
    const char* target;
    const char* allow_has;
  } cases[] = {
      {"DELETE", "/healthz", "GET"},
      {"POST", "/metrics", "GET"},
      {"POST", "/readyz", "GET"},
      {"GET", "/v1/sites/example.com/hits", "POST"},
      {"PUT", "/v1/sites", "POST"},
      {"POST", "/v1/sites/example.com", "PATCH"},
      {"POST", "/v1/sites/example.com/counters", "PUT"},
      {"GET", "/v1/sites/example.com/tokens:rotate", "POST"},
  };
  for (const auto& c : cases) {
    HttpResponse r = Call(c.method, c.target, admin_);
    EXPECT_TRUE(IsJsonError(r, 405, "method_not_allowed")) << c.method << " " << c.target;
    EXPECT_NE(r.Header("Allow").value_or("").find(c.allow_has), std::string::npos)
        << c.method << " " << c.target << " Allow: " << r.Header("Allow").value_or("(none)");
  }
  // The refused hit counted nothing.
  EXPECT_EQ(ReadHits("example.com", "/"), -1);
}

TEST_F(ApiE2eTest, InvalidSiteNames) {
  for (const char* site : {"Example.com", "-x", "a_b", "%2e%2e", "a%2Fb", "%ZZ",
                           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
    EXPECT_TRUE(IsJsonError(Hit(site, "/"), 400, "invalid_site")) << site;
    EXPECT_TRUE(IsJsonError(Call("GET", std::string("/v1/sites/") + site + "/counters?key=/"), 400,
                            "invalid_site"))
        << site;
  }
}

TEST_F(ApiE2eTest, InvalidKeysAre400AndCountNothing) {
  const std::string too_long(257, 'k');
  const char* bad[] = {
      "",              // empty
      "%C3%28",        // invalid 2-byte sequence
      "%ED%A0%80",     // UTF-16 surrogate encoded in UTF-8
      "%C0%AF",        // overlong '/'
      "%F4%90%80%80",  // above U+10FFFF
      "%FF",           // never valid
      "%01",           // C0 control
      "a%00b",         // NUL
      "%7F",           // DEL
      "%C2%85",        // C1 control (NEL)
  };
  for (const char* key : bad) {
    EXPECT_TRUE(IsJsonError(Hit("example.com", key), 400, "invalid_key")) << key;
    EXPECT_TRUE(IsJsonError(Call("GET", std::string("/v1/sites/example.com/counters?key=") + key),
                            400, "invalid_key"))
        << key;
  }
  EXPECT_TRUE(IsJsonError(Hit("example.com", too_long), 400, "invalid_key"));

  // The limits themselves are fine: 256 bytes, and multi-byte UTF-8.
  HttpResponse longest = Hit("example.com", std::string(256, 'k'));
  EXPECT_EQ(longest.status, 200) << longest.body;
  HttpResponse check = Hit("example.com", "%E2%9C%93+%F0%9F%98%80");
  ASSERT_EQ(check.status, 200) << check.body;
  EXPECT_EQ(ParseJson(check.body)["key"], "\u2713 \U0001F600");

  HttpResponse list = Call("GET", "/v1/sites/example.com/counters", admin_);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(ParseJson(list.body)["counters"].size(), 2u) << list.body;
}

TEST_F(ApiE2eTest, BadPercentEscapeIsInvalidQuery) {
  for (const char* query : {"key=%ZZ", "key=%4", "key=%", "key=ok&x=%G1"}) {
    EXPECT_TRUE(IsJsonError(Call("POST", std::string("/v1/sites/example.com/hits?") + query), 400,
                            "invalid_query"))
        << query;
    EXPECT_TRUE(IsJsonError(Call("GET", std::string("/v1/sites/example.com/counters?") + query),
                            400, "invalid_query"))
        << query;
  }
  EXPECT_EQ(ReadHits("example.com", "ok"), -1);
}

TEST_F(ApiE2eTest, AdminCallsNeedTheRightToken) {
  const Headers wrong[] = {
      {},
      Bearer("tly_not-the-token-at-all-xxxxxxxxxxxxxxxxxx"),
      {{"Authorization", "Basic " + site_.value("admin_token", "")}},
      {{"Authorization", "Bearer"}},
      {{"Authorization", "Bearer " + site_.value("public_key", "")}},
  };
  for (const auto& headers : wrong) {
    HttpResponse r = Call("GET", "/v1/sites/example.com", headers);
    EXPECT_TRUE(IsJsonError(r, 401, "unauthorized"));
    EXPECT_TRUE(r.HasHeader("WWW-Authenticate"));
  }
  // Case of the scheme does not matter (RFC 9110 11.1).
  EXPECT_EQ(Call("GET", "/v1/sites/example.com",
                 {{"Authorization", "bearer " + site_.value("admin_token", "")}})
                .status,
            200);
}

TEST_F(ApiE2eTest, SiteAdminTokenCannotTouchAnotherSite) {
  json other = CreateSite({{"site", "other.com"}});
  ASSERT_EQ(Hit("other.com", "/o").status, 200);
  ASSERT_EQ(Call("GET", "/v1/sites/other.com", Bearer(other.value("admin_token", ""))).status, 200);

  // example.com's admin token on other.com: every admin call is refused...
  EXPECT_TRUE(IsJsonError(Call("GET", "/v1/sites/other.com", admin_), 401, "unauthorized"));
  EXPECT_TRUE(IsJsonError(Call("PATCH", "/v1/sites/other.com", admin_, R"({"origins":["*"]})"), 401,
                          "unauthorized"));
  EXPECT_TRUE(
      IsJsonError(Call("GET", "/v1/sites/other.com/counters", admin_), 401, "unauthorized"));
  EXPECT_TRUE(
      IsJsonError(Call("PUT", "/v1/sites/other.com/counters?key=/o", admin_, R"({"hits":1000})"),
                  401, "unauthorized"));
  EXPECT_TRUE(IsJsonError(Call("DELETE", "/v1/sites/other.com/counters?key=/o", admin_), 401,
                          "unauthorized"));
  EXPECT_TRUE(
      IsJsonError(Call("POST", "/v1/sites/other.com/tokens:rotate", admin_), 401, "unauthorized"));
  EXPECT_TRUE(IsJsonError(Call("DELETE", "/v1/sites/other.com", admin_), 401, "unauthorized"));
  // ... and changed nothing.
  EXPECT_EQ(ReadHits("other.com", "/o"), 1);
  HttpResponse get = Call("GET", "/v1/sites/other.com", RootAuth());
  EXPECT_EQ(ParseJson(get.body)["origins"], json::array()) << get.body;
  // Also for a site that does not exist: 401, not 404 (no probing of names).
  EXPECT_TRUE(IsJsonError(Call("GET", "/v1/sites/ghost.com", admin_), 401, "unauthorized"));
}

TEST_F(ApiE2eTest, HeadOfHealthzHasNoBody) {
  HttpClient client(port());
  HttpResponse head = client.Request("HEAD", "/healthz");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  // The connection is still in sync: the next response parses.
  EXPECT_EQ(client.Request("GET", "/healthz").status, 200);
}

}  // namespace
}  // namespace tally::e2e

// Issue 3, point 5 over real HTTP against a real `tally serve` and SQLite
// file: the seed's /visits/{id} and CountAPI's routes, as the pages written
// for them call them (only the host changes).
#include <gtest/gtest.h>

#include <string>

#include "e2e/tally_process.h"

namespace tally::e2e {
namespace {

using nlohmann::json;

// What a browser sends on a cross-origin fetch from a page on `origin`.
Headers FromPage(const std::string& origin) {
  return {{"Origin", origin}, {"User-Agent", "Mozilla/5.0 (e2e) Firefox/140"}};
}

class CompatE2eTest : public TallyServerTest {};

TEST_F(CompatE2eTest, SeedVisitsRouteWithApiKey) {
  // The seed's site: created by its owner, with the API key it requires.
  json site = CreateSite(
      {{"site", "default"}, {"origins", {"https://resume.example"}}, {"require_public_key", true}});
  ASSERT_TRUE(site.contains("public_key")) << site.dump();
  const std::string key = site["public_key"];

  Headers page = FromPage("https://resume.example");
  page.emplace_back("x-api-key", key);
  HttpResponse first = Call("GET", "/visits/home", page);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.body, R"({"visits":1})");
  EXPECT_EQ(first.Header("Access-Control-Allow-Origin").value_or(""), "https://resume.example");
  EXPECT_EQ(Call("POST", "/visits/home", page).body, R"({"visits":2})");
  EXPECT_EQ(Call("GET", "/visits/cv", page).body, R"({"visits":1})") << "one counter per id";
  // Counted on the site `default` under the id as key.
  EXPECT_EQ(ReadHits("default", "home", {{"x-api-key", key}}), 2);

  EXPECT_EQ(Call("GET", "/visits/home", FromPage("https://resume.example")).status, 403)
      << "no x-api-key";
  EXPECT_EQ(Call("GET", "/visits/home", {{"x-api-key", "pk_wrong"}}).status, 403);
  Headers evil = FromPage("https://evil.example");
  evil.emplace_back("x-api-key", key);
  EXPECT_EQ(Call("GET", "/visits/home", evil).status, 403);
  HttpResponse preflight = Call("OPTIONS", "/visits/home",
                                {{"Origin", "https://resume.example"},
                                 {"Access-Control-Request-Method", "POST"},
                                 {"Access-Control-Request-Headers", "x-api-key"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.Header("Access-Control-Allow-Origin").value_or(""), "https://resume.example");
  EXPECT_EQ(Call("DELETE", "/visits/home", page).status, 405);
  EXPECT_EQ(Call("GET", "/visits/home", page).body, R"({"visits":3})")
      << "refused calls counted nothing";
}

TEST_F(CompatE2eTest, SeedRouteWithoutTheDefaultSiteIs404) {
  HttpResponse r = Call("GET", "/visits/home");
  EXPECT_TRUE(IsJsonError(r, 404, "site_not_found"));
}

// The calls the countapi.xyz docs told pages to make, with the host changed.
TEST_F(CompatE2eTest, CountApiPageWorksByChangingOnlyTheHost) {
  const Headers page = FromPage("https://some-blog.example");
  HttpResponse hit = Call("GET", "/hit/some-blog.example/visits", page);
  ASSERT_EQ(hit.status, 200) << hit.body;
  EXPECT_EQ(hit.body, R"({"value":1})");
  EXPECT_EQ(hit.Header("Access-Control-Allow-Origin").value_or(""), "*") << "open CORS";
  EXPECT_EQ(hit.Header("X-Path").value_or(""), "/some-blog.example/visits");
  EXPECT_EQ(hit.Header("Content-Type").value_or("").rfind("application/json", 0), 0u);
  EXPECT_EQ(Call("GET", "/hit/some-blog.example/visits", page).body, R"({"value":2})");
  EXPECT_EQ(Call("GET", "/get/some-blog.example/visits", page).body, R"({"value":2})");
  EXPECT_EQ(Call("GET", "/get/some-blog.example/visits", FromPage("https://other.example")).status,
            200)
      << "any origin";
  // Names are case-sensitive; unknown counters are 404 {"value":null}.
  HttpResponse unknown = Call("GET", "/get/some-blog.example/Visits", page);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body, R"({"value":null})");
  EXPECT_EQ(unknown.Header("Access-Control-Allow-Origin").value_or(""), "*");
  // Without a namespace: CountAPI's "default".
  EXPECT_EQ(Call("GET", "/hit/solo-key", page).body, R"({"value":1})");
  EXPECT_EQ(Call("GET", "/get/default/solo-key", page).body, R"({"value":1})");
  // CountAPI's key rules.
  for (const std::string& bad : {std::string("/hit/ab/key"), std::string("/hit/nsx/a%20b"),
                                 "/hit/nsx/" + std::string(65, 'k')}) {
    EXPECT_EQ(Call("GET", bad, page).status, 400) << bad;
  }
  EXPECT_EQ(Call("GET", "/hit/n_s-1.x/K.e-y_9", page).status, 200) << "[A-Za-z0-9_.-]";
  // Preflight of a page that sends custom headers.
  HttpResponse preflight =
      Call("OPTIONS", "/hit/some-blog.example/visits",
           {{"Origin", "https://x.example"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(preflight.status, 204);
  EXPECT_EQ(preflight.Header("Access-Control-Allow-Origin").value_or(""), "*");

  // The counters live in the site `countapi` as "{namespace}/{key}".
  EXPECT_EQ(ReadHits("countapi", "some-blog.example%2Fvisits"), 2);
}

TEST_F(CompatE2eTest, CountApiJsonpAndXPath) {
  HttpResponse r = Call("GET", "/hit/jsonp.example/page?callback=window.cb_1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"(window.cb_1({"value":1});)");
  EXPECT_EQ(r.Header("Content-Type").value_or(""), "application/javascript; charset=utf-8");
  EXPECT_EQ(r.Header("X-Path").value_or(""), "/jsonp.example/page");
  EXPECT_EQ(Call("GET", "/get/jsonp.example/page?callback=cb").body, R"(cb({"value":1});)");
  EXPECT_EQ(Call("GET", "/get/jsonp.example/nothing?callback=cb").body, R"(cb({"value":null});)");
  EXPECT_EQ(Call("GET", "/hit/jsonp.example/page?callback=alert(1)").status, 400);
  EXPECT_EQ(Call("GET", "/get/jsonp.example/page").body, R"({"value":1})")
      << "the refused callback counted nothing";
}

TEST_F(CompatE2eTest, CountApiCreateSetUpdateInfoWithTheAdminKey) {
  HttpResponse created = Call("GET", "/create?namespace=moved.example&key=hits&value=500");
  ASSERT_EQ(created.status, 201) << created.body;
  json c = ParseJson(created.body);
  EXPECT_EQ(c["namespace"], "moved.example");
  EXPECT_EQ(c["key"], "hits");
  EXPECT_EQ(c["value"], 500);
  ASSERT_TRUE(c["admin_key"].is_string());
  const std::string admin_key = c["admin_key"];
  EXPECT_EQ(created.Header("Access-Control-Allow-Origin").value_or(""), "*");
  EXPECT_EQ(Call("GET", "/create?namespace=moved.example&key=hits").status, 409);
  EXPECT_EQ(Call("GET", "/hit/moved.example/hits").body, R"({"value":501})");

  // /set and /update need the admin key from /create.
  EXPECT_EQ(Call("GET", "/set/moved.example/hits?value=7").status, 401);
  EXPECT_EQ(Call("GET", "/set/moved.example/hits?value=7", Bearer("ak_wrong")).status, 401);
  HttpResponse set = Call("GET", "/set/moved.example/hits?value=7", Bearer(admin_key));
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(ParseJson(set.body), json({{"old_value", 501}, {"value", 7}}));
  HttpResponse update = Call("GET", "/update/moved.example/hits?amount=5", Bearer(admin_key));
  ASSERT_EQ(update.status, 200) << update.body;
  EXPECT_EQ(update.body, R"({"value":12})");
  EXPECT_EQ(Call("GET", "/update/moved.example/hits?amount=-1", Bearer(admin_key)).status, 400);
  EXPECT_EQ(Call("GET", "/update/moved.example/hits?amount=3").status, 401);
  // The root token may administer every counter.
  EXPECT_EQ(Call("GET", "/update/moved.example/hits?amount=1", RootAuth()).body, R"({"value":13})");
  // Another counter's key does not open this one.
  std::string other_key =
      ParseJson(Call("GET", "/create?namespace=moved.example&key=other").body)["admin_key"];
  EXPECT_EQ(Call("GET", "/set/moved.example/hits?value=1", Bearer(other_key)).status, 401);

  HttpResponse info = Call("GET", "/info/moved.example/hits");
  ASSERT_EQ(info.status, 200) << info.body;
  json i = ParseJson(info.body);
  EXPECT_EQ(i["namespace"], "moved.example");
  EXPECT_EQ(i["key"], "hits");
  EXPECT_EQ(i["value"], 13);
  EXPECT_TRUE(i.contains("ttl"));
  EXPECT_EQ(info.Header("X-Path").value_or(""), "/moved.example/hits");
  EXPECT_EQ(Call("GET", "/info/moved.example/nothing").body, R"({"value":null})");
  EXPECT_EQ(Call("GET", "/get/moved.example/hits").body, R"({"value":13})");

  // /create without a key makes one up in CountAPI's alphabet.
  HttpResponse generated = Call("GET", "/create");
  ASSERT_EQ(generated.status, 201) << generated.body;
  json g = ParseJson(generated.body);
  EXPECT_EQ(g["namespace"], "default");
  EXPECT_EQ(Call("GET", "/get/default/" + g["key"].get<std::string>()).body, R"({"value":0})");
}

TEST_F(CompatE2eTest, CountApiCountersSurviveARestart) {
  ASSERT_EQ(Call("GET", "/hit/durable.example/k01").body, R"({"value":1})");
  std::string admin_key =
      ParseJson(Call("GET", "/create?namespace=durable.example&key=k02").body)["admin_key"];
  ASSERT_EQ(server_.Terminate(), 0);
  ASSERT_EQ(server_.Restart(), "") << server_.Log();
  EXPECT_EQ(Call("GET", "/hit/durable.example/k01").body, R"({"value":2})");
  EXPECT_EQ(Call("GET", "/update/durable.example/k02?amount=2", Bearer(admin_key)).body,
            R"({"value":2})")
      << "an admin key stays valid across restarts";
}

}  // namespace
}  // namespace tally::e2e

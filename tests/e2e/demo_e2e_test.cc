// The first-run experience: `tally serve` with defaults serves a demo page
// that counts against the built-in `demo` site.
#include <gtest/gtest.h>

#include "e2e/tally_process.h"

namespace tally::e2e {
namespace {

class DemoE2eTest : public TallyServerTest {};

TEST_F(DemoE2eTest, RootRedirectsToDemo) {
  HttpResponse root = Call("GET", "/");
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(root.Header("Location").value_or(""), "/demo/");
}

TEST_F(DemoE2eTest, DemoPageIsHtmlUsingCounterJs) {
  HttpResponse page = Call("GET", "/demo/");
  ASSERT_EQ(page.status, 200);
  EXPECT_TRUE(page.Header("Content-Type").value_or("").starts_with("text/html"));
  EXPECT_NE(page.body.find("/counter.js"), std::string::npos);
  EXPECT_NE(page.body.find("data-site=\"demo\""), std::string::npos);
  EXPECT_EQ(Call("GET", "/demo").Header("Location").value_or(""), "/demo/");
}

TEST_F(DemoE2eTest, CounterJsIsJavaScript) {
  HttpResponse js = Call("GET", "/counter.js");
  ASSERT_EQ(js.status, 200);
  std::string type = js.Header("Content-Type").value_or("");
  EXPECT_TRUE(type.starts_with("text/javascript") || type.starts_with("application/javascript"))
      << type;
  EXPECT_NE(js.body.find("/v1/sites/"), std::string::npos);
  EXPECT_EQ(js.Header("X-Content-Type-Options").value_or(""), "nosniff");
}

TEST_F(DemoE2eTest, DemoSiteAcceptsLocalhostOrigins) {
  // What the browser sends when the demo page calls the API. The demo site
  // must exist out of the box (see the server's log if this is 404).
  const std::string origin = "http://127.0.0.1:" + std::to_string(port());
  HttpResponse pre = Call("OPTIONS", "/v1/sites/demo/hits?key=/demo/",
                          {{"Origin", origin}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(pre.status, 204) << pre.body;
  HttpResponse hit = Hit("demo", "/demo/", {{"Origin", origin}});
  ASSERT_EQ(hit.status, 200) << hit.body;
  EXPECT_EQ(ParseJson(hit.body)["hits"], 1);
  EXPECT_EQ(hit.Header("Access-Control-Allow-Origin").value_or(""), origin);
  HttpResponse localhost = Hit("demo", "/demo/", {{"Origin", "http://localhost:3000"}});
  EXPECT_EQ(localhost.status, 200) << localhost.body;
  EXPECT_TRUE(IsJsonError(Hit("demo", "/demo/", {{"Origin", "https://evil.example"}}), 403,
                          "origin_not_allowed"));
  // The demo site was made on start, and the log says nothing went wrong there.
  EXPECT_EQ(server_.Log().find("could not create the demo site"), std::string::npos)
      << server_.Log();
}

TEST_F(DemoE2eTest, NoDemoSiteFlag) {
  TempDir dir;
  TallyProcess bare(dir.path());
  ServeOptions options;
  options.extra_args = {"--no-demo-site"};
  ASSERT_EQ(bare.Start(options), "") << bare.Log();
  EXPECT_TRUE(
      IsJsonError(Fetch(bare.port(), "POST", "/v1/sites/demo/hits"), 404, "site_not_found"));
}

}  // namespace
}  // namespace tally::e2e

// The api end to end without a socket: real Api, real CountingService, a
// real store; the request and response are plain values.
//
// One parameterized suite (ApiTest, CompatTest) runs every test on each
// store: SQLite (a fresh file) and DynamoDB (a fresh table in dynalite, the
// real DynamoDB API on loopback, started once for the whole binary on first
// use). Tests that look at SQLite's files use SqliteApiTest. Built as
// `api_on_stores_test` by tests/dynamodb/CMakeLists.txt, where the dynalite
// fixture lives.
#include "api/api.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "api/bot_filter.h"
#include "api/rate_limiter.h"
#include "api/site_admin.h"
#include "api/site_export.h"
#include "auth/token.h"
#include "counting/visitor_hasher.h"
#include "dynalite_process.h"
#include "store/store_factory.h"

namespace tally {
namespace {

constexpr char kRootToken[] = "root-token-for-tests-0123456789";

class FixedClock : public Clock {
 public:
  int64_t NowUnixSeconds() const override { return now; }
  int64_t now = 1795651200;  // 2026-11-26T00:00:00Z
};

// Waits for the one response of a request, whichever thread sends it.
class WaitingSink : public ResponseSink {
 public:
  void Send(Response response) override { promise_.set_value(std::move(response)); }
  Response Wait() {
    auto future = promise_.get_future();
    EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return future.get();
  }

 private:
  std::promise<Response> promise_;
};

// Runs each task at once, as InlineExecutor, and counts them: which answers
// needed the store's blocking calls.
class CountingInlineExecutor : public InlineExecutor {
 public:
  bool Post(std::function<void()> task) override {
    ++posted;
    return InlineExecutor::Post(std::move(task));
  }
  int posted = 0;
};

// dynalite for every DynamoDB test of this binary: started on first use,
// killed when the binary exits. Returns "" if it runs, else why not.
std::string StartDynalite(testing::DynaliteProcess** out) {
  static auto* dynalite = new testing::DynaliteProcess();
  static const std::string* error = [] {
    auto* e = new std::string(dynalite->Start());
    if (e->empty()) dynalite->ExportEnvironment();  // OpenStore reads AWS_*
    // Kills dynalite and removes its data when the binary exits.
    std::atexit([] { delete dynalite; });
    return e;
  }();
  *out = dynalite;
  return *error;
}

// The store a fixture runs on: "sqlite" or "dynamodb".
class ApiFixture : public ::testing::Test {
 protected:
  virtual std::string StoreKind() const = 0;

  // A new, empty store of this fixture's kind: a SQLite file named `name` in
  // dir_, or a fresh DynamoDB table.
  Result<std::unique_ptr<Store>> OpenEmptyStore(const std::string& name) {
    if (StoreKind() == "dynamodb") {
      testing::DynaliteProcess* dynalite = nullptr;
      std::string error = StartDynalite(&dynalite);
      if (!error.empty()) return Status::Unavailable("dynalite: " + error);
      auto table = testing::CreateUniqueTable(dynalite->Config());
      if (!table.ok()) return table.status();
      return OpenStore("dynamodb:" + *table, Durability::kStrict);
    }
    return OpenStore("sqlite:" + (dir_ / (name + ".db")).string(), Durability::kStrict);
  }

  void SetUp() override {
    std::string test_name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(test_name.begin(), test_name.end(), '/', '_');
    dir_ = std::filesystem::temp_directory_path() /
           ("tally_api_test_" + std::to_string(::getpid()) + "_" + test_name);
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = OpenEmptyStore("t");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    counting_ = std::make_unique<CountingService>(*store_, CountingOptions{}, &metrics_);
    visitors_ = std::make_unique<VisitorHasher>(*store_);
    ASSERT_TRUE(visitors_->Refresh(clock_.now).ok());
    ApiOptions options;
    options.root_token_hash = HashToken(kRootToken);
    options.trust_proxy = true;  // lets a test be many clients via X-Forwarded-For
    options.visitors = visitors_.get();
    options.bots = &bots_;
    options.rate_limiter = &rate_limiter_;
    api_ = std::make_unique<Api>(
        ApiContext{*store_, *counting_, registry_, executor_, metrics_, clock_, options});

    SiteSettings settings;
    settings.name = "example.com";
    settings.origins = std::vector<std::string>{"https://example.com"};
    auto created = CreateSite(*store_, clock_, settings);
    ASSERT_TRUE(created.ok());
    registry_.Put(created->record);
    admin_token_ = created->admin_token;
    public_key_ = created->public_key;
  }

  void TearDown() override {
    api_.reset();
    counting_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Response Call(Method method, std::string path, std::string query = "",
                std::vector<std::pair<std::string, std::string>> headers = {},
                std::string body = "") {
    Request request;
    request.method = method;
    request.path = std::move(path);
    request.query = std::move(query);
    request.headers = std::move(headers);
    request.body = std::move(body);
    request.client_ip = "127.0.0.1";
    WaitingSink sink;
    api_->Handle(request, sink);
    return sink.Wait();
  }

  static nlohmann::json Json(const Response& r) { return nlohmann::json::parse(r.body); }
  static std::string ErrorCode(const Response& r) {
    return Json(r)["error"]["code"].get<std::string>();
  }
  std::pair<std::string, std::string> Root() {
    return {"authorization", std::string("Bearer ") + kRootToken};
  }
  std::pair<std::string, std::string> Admin() {
    return {"authorization", "Bearer " + admin_token_};
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  Metrics metrics_;
  SiteRegistry registry_;
  CountingInlineExecutor executor_;
  FixedClock clock_;
  std::unique_ptr<CountingService> counting_;
  std::unique_ptr<VisitorHasher> visitors_;
  BotFilter bots_;
  RateLimiter rate_limiter_{60};
  std::unique_ptr<Api> api_;
  std::string admin_token_;
  std::string public_key_;
};

// Every store.
class ApiTest : public ApiFixture, public ::testing::WithParamInterface<std::string> {
 protected:
  std::string StoreKind() const override { return GetParam(); }
};

std::string StoreName(const ::testing::TestParamInfo<std::string>& info) { return info.param; }

INSTANTIATE_TEST_SUITE_P(Stores, ApiTest, ::testing::Values("sqlite", "dynamodb"), StoreName);

// Tests that read the SQLite file itself.
class SqliteApiTest : public ApiFixture {
 protected:
  std::string StoreKind() const override { return "sqlite"; }
};

TEST_P(ApiTest, HitCountsAndAnswersWithItsOwnNumber) {
  for (int i = 1; i <= 3; ++i) {
    Response r = Call(Method::kPost, "/v1/sites/example.com/hits", "key=%2Fblog%2F");
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = Json(r);
    EXPECT_EQ(j["site"], "example.com");
    EXPECT_EQ(j["key"], "/blog/");
    EXPECT_EQ(j["hits"], i);
    EXPECT_EQ(j["today"]["hits"], i);
    EXPECT_EQ(j["counted"], true);
    EXPECT_TRUE(j.contains("visitors"));
    EXPECT_TRUE(j["today"].contains("visitors"));
  }
  Response read = Call(Method::kGet, "/v1/sites/example.com/counters", "key=/blog/");
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(Json(read)["hits"], 3);
  EXPECT_FALSE(Json(read).contains("counted"));
}

// The answers of hits in flight are recycled: whatever one hit left in its
// answer (a long key, CORS headers, a badge's form) must not show in a later
// one, and every hit still gets its own number.
TEST_F(SqliteApiTest, RecycledHitAnswersCarryNothingOver) {
  const std::string long_key = "/" + std::string(200, 'x');
  constexpr int kRounds = 10;
  constexpr int kInFlight = 16;
  std::map<std::string, std::set<int64_t>> numbers;  // key -> hit numbers answered
  std::map<std::string, int> sent;                   // key -> hits sent
  for (int round = 0; round < kRounds; ++round) {
    std::vector<Request> requests(kInFlight);
    std::vector<WaitingSink> sinks(kInFlight);
    for (int i = 0; i < kInFlight; ++i) {
      const bool badge = i % 4 == 3;
      const std::string key = i % 3 == 0 ? long_key : "/k" + std::to_string(i % 3);
      Request& r = requests[i];
      r.method = badge ? Method::kGet : Method::kPost;
      r.path = badge ? "/v1/sites/example.com/badge.svg" : "/v1/sites/example.com/hits";
      r.query = "key=" + key + (badge ? "&hit=1" : "");
      if (i % 2 == 0) r.headers = {{"origin", "https://example.com"}};
      r.client_ip = "127.0.0.1";
      ++sent[key];
      api_->Handle(r, sinks[i]);  // all in flight at once
    }
    for (int i = 0; i < kInFlight; ++i) {
      Response r = sinks[i].Wait();
      ASSERT_EQ(r.status, 200) << r.body;
      const bool badge = i % 4 == 3;
      const std::string key = i % 3 == 0 ? long_key : "/k" + std::to_string(i % 3);
      // Badges are images: no origin check, hence no CORS headers.
      EXPECT_EQ(r.Header("Access-Control-Allow-Origin"),
                i % 2 == 0 && !badge ? "https://example.com" : "")
          << "round " << round << ", hit " << i;
      if (badge) {
        EXPECT_TRUE(r.content_type.starts_with("image/svg+xml")) << r.content_type;
        EXPECT_NE(r.body.find("<svg"), std::string::npos) << r.body;
        continue;
      }
      EXPECT_EQ(r.content_type, "application/json");
      auto j = Json(r);
      EXPECT_EQ(j["key"], key);
      EXPECT_EQ(j["counted"], true);
      EXPECT_TRUE(numbers[key].insert(j["hits"].get<int64_t>()).second)
          << "hit number " << j["hits"] << " of " << key << " answered twice";
    }
  }
  for (const auto& [key, n] : sent) {
    Response read = Call(Method::kGet, "/v1/sites/example.com/counters", "key=" + key);
    EXPECT_EQ(Json(read)["hits"], n) << key;
    for (int64_t number : numbers[key]) {
      EXPECT_GE(number, 1);
      EXPECT_LE(number, n);
    }
  }
}

TEST_P(ApiTest, KeyDefaultsToRoot) {
  Response r = Call(Method::kPost, "/v1/sites/example.com/hits");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Json(r)["key"], "/");
}

TEST_P(ApiTest, DaysAreCountedSeparately) {
  Call(Method::kPost, "/v1/sites/example.com/hits");
  clock_.now += 86400;
  Response r = Call(Method::kPost, "/v1/sites/example.com/hits");
  EXPECT_EQ(Json(r)["hits"], 2);
  EXPECT_EQ(Json(r)["today"]["hits"], 1);
}

TEST_P(ApiTest, BadKeysAreRefusedAndCountNothing) {
  std::string long_key(257, 'a');
  for (const std::string& query :
       {std::string("key="), "key=" + long_key, std::string("key=%C3%28"),
        std::string("key=%ED%A0%80"), std::string("key=a%01b"), std::string("key=%7F"),
        std::string("key=%C2%85")}) {
    Response r = Call(Method::kPost, "/v1/sites/example.com/hits", query);
    EXPECT_EQ(r.status, 400) << query;
    EXPECT_EQ(ErrorCode(r), "invalid_key") << query;
  }
  Response bad_escape = Call(Method::kPost, "/v1/sites/example.com/hits", "key=%zz");
  EXPECT_EQ(bad_escape.status, 400);
  EXPECT_EQ(ErrorCode(bad_escape), "invalid_query");
  auto list = store_->ListCounters("example.com", "", 10);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_P(ApiTest, ValidUnicodeKeysAreKept) {
  Response r = Call(Method::kPost, "/v1/sites/example.com/hits", "key=%2Fcaf%C3%A9%2F%F0%9F%8E%89");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(Json(r)["key"], "/café/🎉");
}

TEST_P(ApiTest, UnknownAndInvalidSites) {
  EXPECT_EQ(ErrorCode(Call(Method::kPost, "/v1/sites/nope.org/hits")), "site_not_found");
  Response bad = Call(Method::kPost, "/v1/sites/Bad_Site/hits");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(ErrorCode(bad), "invalid_site");
}

TEST_P(ApiTest, CorsAllowsListedOriginsOnlyAndOnErrorsToo) {
  Response ok =
      Call(Method::kPost, "/v1/sites/example.com/hits", "", {{"origin", "https://example.com"}});
  ASSERT_EQ(ok.status, 200);
  EXPECT_EQ(ok.Header("Access-Control-Allow-Origin"), "https://example.com");
  EXPECT_EQ(ok.Header("Vary"), "Origin");

  Response error = Call(Method::kPost, "/v1/sites/example.com/hits",
                        "key=", {{"origin", "https://example.com"}});
  EXPECT_EQ(error.status, 400);
  EXPECT_EQ(error.Header("Access-Control-Allow-Origin"), "https://example.com");

  Response denied =
      Call(Method::kPost, "/v1/sites/example.com/hits", "", {{"origin", "https://evil.example"}});
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(ErrorCode(denied), "origin_not_allowed");
  EXPECT_TRUE(denied.Header("Access-Control-Allow-Origin").empty());
  EXPECT_EQ(Json(Call(Method::kGet, "/v1/sites/example.com/counters", "key=/"))["hits"], 1)
      << "a refused origin must not be counted";
}

TEST_P(ApiTest, Preflight) {
  Response ok =
      Call(Method::kOptions, "/v1/sites/example.com/hits", "",
           {{"origin", "https://example.com"}, {"access-control-request-method", "POST"}});
  EXPECT_EQ(ok.status, 204);
  EXPECT_EQ(ok.Header("Access-Control-Allow-Origin"), "https://example.com");
  EXPECT_NE(ok.Header("Access-Control-Allow-Methods").find("POST"), std::string_view::npos);
  EXPECT_NE(ok.Header("Access-Control-Allow-Headers").find("X-Api-Key"), std::string_view::npos);
  Response denied = Call(Method::kOptions, "/v1/sites/example.com/hits", "",
                         {{"origin", "https://other.example"}});
  EXPECT_EQ(denied.status, 403);
}

TEST_P(ApiTest, RequiredPublicKey) {
  Response patched = Call(Method::kPatch, "/v1/sites/example.com", "", {Admin()},
                          R"({"require_public_key":true})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(ErrorCode(Call(Method::kPost, "/v1/sites/example.com/hits")), "public_key_required");
  EXPECT_EQ(
      ErrorCode(Call(Method::kPost, "/v1/sites/example.com/hits", "", {{"x-api-key", "pk_wrong"}})),
      "invalid_public_key");
  EXPECT_EQ(
      Call(Method::kPost, "/v1/sites/example.com/hits", "", {{"x-api-key", public_key_}}).status,
      200);
}

TEST_P(ApiTest, SiteLifecycleWithRootToken) {
  Response created = Call(Method::kPost, "/v1/sites", "", {Root()},
                          R"({"site":"blog.example.org","origins":["https://*.example.org"]})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto j = Json(created);
  std::string token = j["admin_token"];
  EXPECT_EQ(token.rfind("tly_", 0), 0u);
  EXPECT_EQ(j["public_key"].get<std::string>().rfind("pk_", 0), 0u);
  EXPECT_EQ(Call(Method::kPost, "/v1/sites", "", {Root()}, R"({"site":"blog.example.org"})").status,
            409);

  // The new site works at once, from a subdomain origin.
  EXPECT_EQ(Call(Method::kPost, "/v1/sites/blog.example.org/hits", "",
                 {{"origin", "https://www.example.org"}})
                .status,
            200);
  Response got =
      Call(Method::kGet, "/v1/sites/blog.example.org", "", {{"authorization", "Bearer " + token}});
  ASSERT_EQ(got.status, 200);
  EXPECT_FALSE(Json(got).contains("admin_token_hash"));
  EXPECT_EQ(got.body.find(HashToken(token)), std::string::npos) << "hashes must not leak";

  Response listed = Call(Method::kGet, "/v1/sites", "", {Root()});
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(Json(listed)["sites"].size(), 2u);

  // Only root deletes.
  EXPECT_EQ(Call(Method::kDelete, "/v1/sites/blog.example.org", "",
                 {{"authorization", "Bearer " + token}})
                .status,
            401);
  EXPECT_EQ(Call(Method::kDelete, "/v1/sites/blog.example.org", "", {Root()}).status, 204);
  EXPECT_EQ(ErrorCode(Call(Method::kPost, "/v1/sites/blog.example.org/hits")), "site_not_found");
}

TEST_P(ApiTest, BadSiteSettingsAreRefused) {
  for (const std::string& body :
       {std::string("{"), std::string("[]"), std::string(R"({"site":"UPPER"})"),
        std::string(R"({"site":"a.b","origins":["ftp://x"]})"),
        std::string(R"({"site":"a.b","origins":"https://x"})"),
        std::string(R"({"site":"a.b","colour":"red"})"),
        std::string(R"({"site":"a.b","require_public_key":"yes"})"),
        std::string("{\"site\":\"a\xff\"}")}) {
    Response r = Call(Method::kPost, "/v1/sites", "", {Root()}, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
  }
}

TEST_P(ApiTest, AdminAuthIsRequiredAndScopedToTheSite) {
  EXPECT_EQ(Call(Method::kGet, "/v1/sites/example.com").status, 401);
  Response wrong = Call(Method::kGet, "/v1/sites/example.com", "",
                        {{"authorization", "Bearer tly_not_the_token"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.Header("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(Call(Method::kGet, "/v1/sites/example.com", "", {Admin()}).status, 200);
  EXPECT_EQ(Call(Method::kGet, "/v1/sites/example.com", "", {Root()}).status, 200);
  // A site's admin token is no root token.
  EXPECT_EQ(Call(Method::kPost, "/v1/sites", "", {Admin()}, R"({"site":"x.org"})").status, 401);
  EXPECT_EQ(Call(Method::kGet, "/v1/sites", "", {Admin()}).status, 401);
}

TEST_P(ApiTest, TokenRotationRetiresTheOldToken) {
  Response rotated = Call(Method::kPost, "/v1/sites/example.com/tokens:rotate", "", {Admin()});
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  std::string fresh = Json(rotated)["admin_token"];
  EXPECT_NE(fresh, admin_token_);
  EXPECT_EQ(Call(Method::kGet, "/v1/sites/example.com", "", {Admin()}).status, 401);
  EXPECT_EQ(Call(Method::kGet, "/v1/sites/example.com", "", {{"authorization", "Bearer " + fresh}})
                .status,
            200);
}

TEST_P(ApiTest, CounterAdministration) {
  Response set = Call(Method::kPut, "/v1/sites/example.com/counters", "key=/moved", {Admin()},
                      R"({"hits":41000})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(Json(set)["hits"], 41000);
  EXPECT_EQ(Json(Call(Method::kPost, "/v1/sites/example.com/hits", "key=/moved"))["hits"], 41001);
  for (const std::string& body :
       {std::string(R"({"hits":-1})"), std::string(R"({"hits":1.5})"),
        std::string(R"({"hits":"3"})"), std::string(R"({"hits":1,"x":2})"),
        std::string(R"({"hits":18446744073709551615})"), std::string("nope")}) {
    EXPECT_EQ(
        Call(Method::kPut, "/v1/sites/example.com/counters", "key=/moved", {Admin()}, body).status,
        400)
        << body;
  }
  EXPECT_EQ(
      Call(Method::kPut, "/v1/sites/example.com/counters", "key=/x", {}, R"({"hits":1})").status,
      401);
  EXPECT_EQ(Call(Method::kDelete, "/v1/sites/example.com/counters", "key=/moved", {Admin()}).status,
            204);
  EXPECT_EQ(Call(Method::kDelete, "/v1/sites/example.com/counters", "key=/moved", {Admin()}).status,
            404);
  Response gone = Call(Method::kGet, "/v1/sites/example.com/counters", "key=/moved");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(ErrorCode(gone), "counter_not_found");
}

TEST_P(ApiTest, CounterListIsPaginated) {
  for (int i = 0; i < 25; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "/p%02d", i);
    ASSERT_EQ(Call(Method::kPost, "/v1/sites/example.com/hits", std::string("key=") + key).status,
              200);
  }
  std::vector<std::string> keys;
  std::string cursor;
  int pages = 0;
  do {
    std::string query = "limit=10" + (cursor.empty() ? "" : "&cursor=" + cursor);
    Response page = Call(Method::kGet, "/v1/sites/example.com/counters", query, {Admin()});
    ASSERT_EQ(page.status, 200) << page.body;
    auto j = Json(page);
    for (const auto& c : j["counters"]) keys.push_back(c["key"]);
    cursor = j["next_cursor"].is_null() ? "" : j["next_cursor"].get<std::string>();
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(keys.size(), 25u);
  EXPECT_EQ(keys.front(), "/p00");
  EXPECT_EQ(keys.back(), "/p24");
  EXPECT_EQ(Call(Method::kGet, "/v1/sites/example.com/counters", "limit=0", {Admin()}).status, 400);
  EXPECT_EQ(Call(Method::kGet, "/v1/sites/example.com/counters", "cursor=xyz", {Admin()}).status,
            400);
}

using Headers = std::vector<std::pair<std::string, std::string>>;

Headers Client(const std::string& ip,
               const std::string& ua = "Mozilla/5.0 (X11; Linux) Firefox/140") {
  return {{"x-forwarded-for", "203.0.113.9, " + ip}, {"user-agent", ua}};
}

TEST_P(ApiTest, VisitorsAreDistinctPerDayAndCounter) {
  auto hit = [&](const std::string& key, Headers h) {
    return Json(Call(Method::kPost, "/v1/sites/example.com/hits", "key=" + key, std::move(h)));
  };
  EXPECT_EQ(hit("/a", Client("198.51.100.1"))["visitors"], 1);
  EXPECT_EQ(hit("/a", Client("198.51.100.1"))["visitors"], 1) << "a reload is no new visitor";
  EXPECT_EQ(hit("/a", Client("198.51.100.2"))["visitors"], 2);
  EXPECT_EQ(hit("/a", Client("198.51.100.1", "Other/1.0"))["visitors"], 3)
      << "another browser on the same address is another visitor";
  auto b = hit("/b", Client("198.51.100.1"));
  EXPECT_EQ(b["visitors"], 1);
  EXPECT_EQ(b["today"]["visitors"], 1);
  clock_.now += 86400;
  ASSERT_TRUE(visitors_->Refresh(clock_.now).ok());
  auto next = hit("/a", Client("198.51.100.1"));
  EXPECT_EQ(next["visitors"], 4) << "a new day counts the visitor again";
  EXPECT_EQ(next["today"]["visitors"], 1);
  EXPECT_EQ(next["hits"], 5);
}

// SQLite only: it reads the database files (DynamoDB's items are not files
// here; the DynamoDB store's own tests check its item layout).
TEST_F(SqliteApiTest, NoIpOrUserAgentIsStored) {
  Call(Method::kPost, "/v1/sites/example.com/hits", "", Client("198.51.100.77", "Secret-UA/9"));
  std::string bytes;
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    std::ifstream in(entry.path(), std::ios::binary);
    bytes.append(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_EQ(bytes.find("198.51.100.77"), std::string::npos);
  EXPECT_EQ(bytes.find("Secret-UA"), std::string::npos);
}

TEST_P(ApiTest, BotsAndPrefetchesAreAnsweredButNotCounted) {
  Call(Method::kPost, "/v1/sites/example.com/hits", "", Client("198.51.100.1"));
  Response bot = Call(Method::kPost, "/v1/sites/example.com/hits", "",
                      Client("198.51.100.2", "Mozilla/5.0 (compatible; Googlebot/2.1)"));
  ASSERT_EQ(bot.status, 200) << bot.body;
  EXPECT_EQ(Json(bot)["counted"], false);
  EXPECT_EQ(Json(bot)["hits"], 1);
  Headers prefetch = Client("198.51.100.3");
  prefetch.emplace_back("sec-purpose", "prefetch;prerender");
  Response pre = Call(Method::kPost, "/v1/sites/example.com/hits", "", prefetch);
  EXPECT_EQ(Json(pre)["counted"], false);
  Response fresh = Call(Method::kPost, "/v1/sites/example.com/hits", "key=/never",
                        Client("198.51.100.4", "AhrefsBot/7.0"));
  EXPECT_EQ(Json(fresh)["hits"], 0) << "a bot on a new counter sees zeros";
  EXPECT_EQ(
      Json(Call(Method::kPost, "/v1/sites/example.com/hits", "", Client("198.51.100.1")))["hits"],
      2);
}

// A page that shows a counter without counting it reads it on every view:
// after the first read from SQLite, reads are answered without the blocking
// executor (Store::PeekCounter), with the same numbers.
TEST_F(SqliteApiTest, RepeatedReadsAreAnsweredFromMemory) {
  for (int i = 0; i < 3; ++i) Call(Method::kPost, "/v1/sites/example.com/hits", "key=/a");
  int posted = executor_.posted;
  Response first = Call(Method::kGet, "/v1/sites/example.com/counters", "key=/a");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(executor_.posted, posted + 1) << "the first read goes to SQLite";
  posted = executor_.posted;
  Response read = Call(Method::kGet, "/v1/sites/example.com/counters", "key=/a");
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.body, first.body);
  EXPECT_EQ(Json(read)["hits"], 3);
  EXPECT_EQ(Json(read)["today"]["hits"], 3);
  EXPECT_EQ(Json(read)["visitors"], 1);
  Response bot = Call(Method::kPost, "/v1/sites/example.com/hits", "key=/a",
                      Client("198.51.100.2", "Mozilla/5.0 (compatible; Googlebot/2.1)"));
  EXPECT_EQ(Json(bot)["hits"], 3);
  EXPECT_EQ(Json(bot)["counted"], false);
  Response badge = Call(Method::kGet, "/v1/sites/example.com/badge.svg", "key=/a");
  ASSERT_EQ(badge.status, 200);
  EXPECT_NE(badge.body.find(">3<"), std::string::npos) << badge.body;
  EXPECT_EQ(executor_.posted, posted) << "answered without the blocking executor";

  // Not held: read from SQLite.
  EXPECT_EQ(Call(Method::kGet, "/v1/sites/example.com/counters", "key=/other").status, 404);
  EXPECT_EQ(executor_.posted, posted + 1);
  // An admin's change is what the next read shows.
  ASSERT_EQ(
      Call(Method::kPut, "/v1/sites/example.com/counters", "key=/a", {Admin()}, R"({"hits":500})")
          .status,
      200);
  EXPECT_EQ(Json(Call(Method::kGet, "/v1/sites/example.com/counters", "key=/a"))["hits"], 500);
  EXPECT_EQ(Json(Call(Method::kPost, "/v1/sites/example.com/hits", "key=/a"))["hits"], 501);
  EXPECT_EQ(Json(Call(Method::kGet, "/v1/sites/example.com/counters", "key=/a"))["hits"], 501);
  // The next day's numbers are not the held ones.
  clock_.now += 86400;
  Response tomorrow = Call(Method::kGet, "/v1/sites/example.com/counters", "key=/a");
  EXPECT_EQ(Json(tomorrow)["hits"], 501);
  EXPECT_EQ(Json(tomorrow)["today"]["hits"], 0);
}

TEST_P(ApiTest, RateLimitRefusesOrIgnoresPerSite) {
  for (int i = 0; i < 60; ++i) {
    ASSERT_EQ(Call(Method::kPost, "/v1/sites/example.com/hits", "", Client("198.51.100.5")).status,
              200);
  }
  Response limited = Call(Method::kPost, "/v1/sites/example.com/hits", "", Client("198.51.100.5"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(ErrorCode(limited), "rate_limited");
  EXPECT_FALSE(limited.Header("Retry-After").empty());
  EXPECT_EQ(limited.Header("RateLimit-Limit"), "60");
  EXPECT_EQ(limited.Header("RateLimit-Remaining"), "0");
  EXPECT_EQ(Call(Method::kPost, "/v1/sites/example.com/hits", "", Client("198.51.100.6")).status,
            200)
      << "another client is not limited";

  ASSERT_EQ(Call(Method::kPatch, "/v1/sites/example.com", "", {Admin()},
                 R"({"rate_limit_ignore":true,"rate_limit_per_minute":100})")
                .status,
            200);
  for (int i = 0; i < 40; ++i)
    Call(Method::kPost, "/v1/sites/example.com/hits", "", Client("198.51.100.5"));
  Response ignored = Call(Method::kPost, "/v1/sites/example.com/hits", "", Client("198.51.100.5"));
  EXPECT_EQ(ignored.status, 200);
  EXPECT_EQ(Json(ignored)["counted"], false);
  // The client's bucket is still empty (a higher limit refills over time, not
  // at once), so all 41 were answered without counting: 60 + 1 other client.
  EXPECT_EQ(Json(ignored)["hits"], 61);
}

TEST_P(ApiTest, LoopbackClientsAreNotRateLimited) {
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(Call(Method::kPost, "/v1/sites/example.com/hits").status, 200) << i;
  }
}

TEST_P(ApiTest, DaysFollowTheSitesTimeZone) {
  ASSERT_EQ(Call(Method::kPatch, "/v1/sites/example.com", "", {Admin()},
                 R"({"timezone":"America/New_York"})")
                .status,
            200);
  Response refused = Call(Method::kPatch, "/v1/sites/example.com", "", {Admin()},
                          R"({"timezone":"Mars/Olympus"})");
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(Json(refused)["error"]["code"], "invalid_site_settings");
  // 2026-11-26 00:00 UTC is still the 25th in New York.
  Call(Method::kPost, "/v1/sites/example.com/hits");
  // Setting a counter answers with today's numbers in the site's zone too:
  // the hit above is on New York's 25th, UTC's 26th has none.
  Response set =
      Call(Method::kPut, "/v1/sites/example.com/counters", "key=/", {Admin()}, R"({"hits":1})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(Json(set)["today"]["hits"], 1) << set.body;
  clock_.now += int64_t{4} * 3600;  // 23:00 in New York: same day
  EXPECT_EQ(Json(Call(Method::kPost, "/v1/sites/example.com/hits"))["today"]["hits"], 2);
  clock_.now += int64_t{2} * 3600;  // 01:00 on the 26th in New York: a new day
  EXPECT_EQ(Json(Call(Method::kPost, "/v1/sites/example.com/hits"))["today"]["hits"], 1);
  auto series = store_->ReadSeries("example.com", "/", "2026-11-25", "2026-11-26");
  ASSERT_TRUE(series.ok());
  ASSERT_EQ(series->size(), 2u);
  EXPECT_EQ((*series)[0].day, "2026-11-25");
  EXPECT_EQ((*series)[0].hits, 2);
}

TEST_P(ApiTest, SeriesIsDenseAndSumsTheSiteWithoutAKey) {
  // clock_: 2026-11-26 00:00 UTC.
  Call(Method::kPost, "/v1/sites/example.com/hits", "key=/a", Client("198.51.100.1"));
  clock_.now -= int64_t{2} * 86400;  // the 24th
  ASSERT_TRUE(visitors_->Refresh(clock_.now).ok());
  Call(Method::kPost, "/v1/sites/example.com/hits", "key=/a", Client("198.51.100.1"));
  Call(Method::kPost, "/v1/sites/example.com/hits", "key=/b", Client("198.51.100.2"));
  Response r = Call(Method::kGet, "/v1/sites/example.com/series",
                    "key=/a&from=2026-11-23&to=2026-11-26", {Admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = Json(r);
  ASSERT_EQ(j["days"].size(), 4u);
  EXPECT_EQ(j["days"][0]["day"], "2026-11-23");
  EXPECT_EQ(j["days"][0]["hits"], 0);
  EXPECT_EQ(j["days"][1]["hits"], 1);
  EXPECT_EQ(j["days"][1]["visitors"], 1);
  EXPECT_EQ(j["days"][2]["hits"], 0);
  EXPECT_EQ(j["days"][3]["hits"], 1);
  EXPECT_EQ(j["total"]["hits"], 2);
  auto site = Json(Call(Method::kGet, "/v1/sites/example.com/series",
                        "from=2026-11-24&to=2026-11-24", {Admin()}));
  EXPECT_TRUE(site["key"].is_null());
  EXPECT_EQ(site["days"][0]["hits"], 2);
  EXPECT_EQ(site["days"][0]["visitors"], 2);
  // Defaults: the last 30 days up to today in the site's zone.
  auto recent = Json(Call(Method::kGet, "/v1/sites/example.com/series", "", {Admin()}));
  EXPECT_EQ(recent["days"].size(), 30u);
  EXPECT_EQ(recent["to"], "2026-11-24");

  EXPECT_EQ(Call(Method::kGet, "/v1/sites/example.com/series", "from=2026-02-30", {Admin()}).status,
            400);
  EXPECT_EQ(
      Call(Method::kGet, "/v1/sites/example.com/series", "from=2026-11-25&to=2026-11-01", {Admin()})
          .status,
      400);
  EXPECT_EQ(
      Call(Method::kGet, "/v1/sites/example.com/series", "from=2020-01-01&to=2026-01-01", {Admin()})
          .status,
      400);
  EXPECT_EQ(Call(Method::kGet, "/v1/sites/example.com/series").status, 401);
}

TEST_P(ApiTest, ExportImportRoundTripGivesIdenticalAnswers) {
  Call(Method::kPost, "/v1/sites/example.com/hits", "key=/a", Client("198.51.100.1"));
  Call(Method::kPost, "/v1/sites/example.com/hits", "key=/a", Client("198.51.100.2"));
  Call(Method::kPut, "/v1/sites/example.com/counters", "key=/moved", {Admin()}, R"({"hits":900})");
  Response r = Call(Method::kGet, "/v1/sites/example.com/export", "", {Admin()});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/x-ndjson; charset=utf-8");
  EXPECT_EQ(r.body.find(admin_token_), std::string::npos);
  EXPECT_EQ(r.body.find(HashToken(admin_token_)), std::string::npos) << "no secrets in exports";

  auto other = OpenEmptyStore("other");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  std::vector<ExportRow> rows;
  std::optional<SiteSettings> settings;
  std::istringstream lines(r.body);
  for (std::string line; std::getline(lines, line);) {
    auto parsed = ParseImportLine(line);
    ASSERT_TRUE(parsed.ok()) << line << ": " << parsed.status().ToString();
    if (parsed->site) settings = parsed->site;
    if (parsed->row) rows.push_back(*parsed->row);
  }
  ASSERT_TRUE(settings.has_value());
  EXPECT_EQ(*settings->name, "example.com");
  EXPECT_EQ(*settings->origins, std::vector<std::string>{"https://example.com"});
  ASSERT_TRUE((*other)->ImportRows("example.com", rows).ok());
  std::string today = "2026-11-26";
  for (const char* key : {"/a", "/moved"}) {
    auto want = store_->ReadCounter("example.com", key, today);
    auto got = (*other)->ReadCounter("example.com", key, today);
    ASSERT_TRUE(want.ok() && got.ok()) << key;
    EXPECT_EQ(got->hits, want->hits) << key;
    EXPECT_EQ(got->visitors, want->visitors) << key;
    EXPECT_EQ(got->today_hits, want->today_hits) << key;
    EXPECT_EQ(got->today_visitors, want->today_visitors) << key;
  }
}

TEST(SiteExportTest, ParsesStartingValuesAndRefusesBadLines) {
  auto start = ParseImportLine(R"({"key":"/old-page","hits":41000})");
  ASSERT_TRUE(start.ok());
  ASSERT_TRUE(start->row.has_value());
  EXPECT_EQ(start->row->hits, 41000);
  EXPECT_TRUE(start->row->day.empty());
  EXPECT_TRUE(ParseImportLine("   ").ok());
  for (const char* bad :
       {"nope", "[]", R"({"key":"","hits":1})", R"({"key":"/","hits":-1})", R"({"key":"/"})",
        R"({"type":"day","key":"/","day":"2026-13-01","hits":1})",
        R"({"type":"wat","key":"/","hits":1})", R"({"type":"site","site":"BAD"})"}) {
    EXPECT_FALSE(ParseImportLine(bad).ok()) << bad;
  }
}

class CompatTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    for (auto [name, origins, require_key] :
         {std::tuple{"countapi", std::vector<std::string>{"*"}, false},
          std::tuple{"default", std::vector<std::string>{"https://resume.example"}, true}}) {
      SiteSettings s;
      s.name = name;
      s.origins = origins;
      s.require_public_key = require_key;
      auto created = CreateSite(*store_, clock_, s);
      ASSERT_TRUE(created.ok());
      registry_.Put(created->record);
      if (std::string(name) == "default") seed_key_ = created->public_key;
    }
  }
  std::string seed_key_;
};

INSTANTIATE_TEST_SUITE_P(Stores, CompatTest, ::testing::Values("sqlite", "dynamodb"), StoreName);

TEST_P(CompatTest, SeedVisitsRoute) {
  Response r = Call(Method::kGet, "/visits/home", "",
                    {{"x-api-key", seed_key_}, {"origin", "https://resume.example"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"visits":1})");
  EXPECT_EQ(r.Header("Access-Control-Allow-Origin"), "https://resume.example");
  EXPECT_EQ(Call(Method::kPost, "/visits/home", "", {{"x-api-key", seed_key_}}).body,
            R"({"visits":2})");
  EXPECT_EQ(Call(Method::kGet, "/visits/home").status, 403) << "the seed's API key is required";
  EXPECT_EQ(Call(Method::kGet, "/visits/home", "",
                 {{"x-api-key", seed_key_}, {"origin", "https://evil.example"}})
                .status,
            403);
  EXPECT_EQ(Call(Method::kDelete, "/visits/home").status, 405);
}

TEST_P(CompatTest, CountApiHitGetAndNames) {
  Response first = Call(Method::kGet, "/hit/mysite.com/Visits_Total");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.body, R"({"value":1})");
  EXPECT_EQ(first.Header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(first.Header("X-Path"), "/mysite.com/Visits_Total");
  EXPECT_EQ(Call(Method::kGet, "/hit/mysite.com/Visits_Total").body, R"({"value":2})");
  EXPECT_EQ(Call(Method::kGet, "/get/mysite.com/Visits_Total").body, R"({"value":2})");
  EXPECT_EQ(Call(Method::kGet, "/get/mysite.com/visits_total").status, 404) << "case-sensitive";
  EXPECT_EQ(Call(Method::kGet, "/get/mysite.com/visits_total").body, R"({"value":null})");
  EXPECT_EQ(Call(Method::kGet, "/hit/solo-key").body, R"({"value":1})") << "namespace default";
  EXPECT_EQ(Call(Method::kGet, "/get/default/solo-key").body, R"({"value":1})");
  EXPECT_EQ(Call(Method::kGet, "/hit/ab/key").status, 400) << "names have 3..64 characters";
  EXPECT_EQ(Call(Method::kGet, "/hit/ns/a%20b").status, 400);
  // Any page may call CountAPI routes.
  EXPECT_EQ(Call(Method::kGet, "/hit/mysite.com/Visits_Total", "",
                 {{"origin", "https://anywhere.example"}})
                .status,
            200);
}

TEST_P(CompatTest, CountApiJsonp) {
  Response r = Call(Method::kGet, "/hit/mysite.com/page", "callback=window.cb_1");
  EXPECT_EQ(r.body, R"(window.cb_1({"value":1});)");
  EXPECT_EQ(r.content_type, "application/javascript; charset=utf-8");
  EXPECT_EQ(Call(Method::kGet, "/hit/mysite.com/page", "callback=alert(1)").status, 400);
}

TEST_P(CompatTest, CountApiCreateSetUpdateWithTheAdminKey) {
  Response created = Call(Method::kGet, "/create", "namespace=mysite.com&key=moved&value=500");
  ASSERT_EQ(created.status, 201) << created.body;
  auto j = Json(created);
  EXPECT_EQ(j["value"], 500);
  std::string admin_key = j["admin_key"];
  EXPECT_EQ(Call(Method::kGet, "/create", "namespace=mysite.com&key=moved").status, 409);
  EXPECT_EQ(Call(Method::kGet, "/hit/mysite.com/moved").body, R"({"value":501})");

  EXPECT_EQ(Call(Method::kGet, "/set/mysite.com/moved", "value=7").status, 401);
  EXPECT_EQ(
      Call(Method::kGet, "/set/mysite.com/moved", "value=7", {{"authorization", "Bearer ak_wrong"}})
          .status,
      401);
  Response set = Call(Method::kGet, "/set/mysite.com/moved", "value=7",
                      {{"authorization", "Bearer " + admin_key}});
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(Json(set)["old_value"], 501);
  EXPECT_EQ(Json(set)["value"], 7);
  Response update = Call(Method::kGet, "/update/mysite.com/moved", "amount=5",
                         {{"authorization", "Bearer " + admin_key}});
  ASSERT_EQ(update.status, 200) << update.body;
  EXPECT_EQ(update.body, R"({"value":12})");
  EXPECT_EQ(Call(Method::kGet, "/update/mysite.com/moved", "amount=-1",
                 {{"authorization", "Bearer " + admin_key}})
                .status,
            400);
  // Another counter's key does not open this one.
  std::string other_key =
      Json(Call(Method::kGet, "/create", "namespace=mysite.com&key=other"))["admin_key"];
  EXPECT_EQ(Call(Method::kGet, "/set/mysite.com/moved", "value=1",
                 {{"authorization", "Bearer " + other_key}})
                .status,
            401);
  Response info = Call(Method::kGet, "/info/mysite.com/moved");
  ASSERT_EQ(info.status, 200);
  EXPECT_EQ(Json(info)["value"], 12);
  EXPECT_EQ(Json(info)["namespace"], "mysite.com");
  Response generated = Call(Method::kGet, "/create");
  ASSERT_EQ(generated.status, 201) << generated.body;
  EXPECT_EQ(Json(generated)["namespace"], "default");
  EXPECT_EQ(Json(generated)["key"].get<std::string>().size(), 16u);
}

TEST_P(ApiTest, RoutingErrors) {
  Response missing = Call(Method::kGet, "/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(ErrorCode(missing), "not_found");
  Response wrong_method = Call(Method::kGet, "/v1/sites/example.com/hits");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.Header("Allow"), "POST, OPTIONS");
  EXPECT_EQ(Call(Method::kPost, "/healthz").status, 405);
}

TEST_P(ApiTest, OpsEndpointsAndStaticFiles) {
  EXPECT_EQ(Call(Method::kGet, "/healthz").status, 200);
  EXPECT_EQ(Call(Method::kGet, "/readyz").status, 200);
  Call(Method::kPost, "/v1/sites/example.com/hits");
  Response metrics = Call(Method::kGet, "/metrics");
  ASSERT_EQ(metrics.status, 200);
  for (const char* needle :
       {"tally_http_requests_total{route=\"hits\",status=\"200\"} 1", "tally_hits_counted_total 1",
        "tally_commit_seconds_bucket", "tally_batch_hits_count", "tally_open_connections"}) {
    EXPECT_NE(metrics.body.find(needle), std::string::npos) << needle;
  }
  Response demo = Call(Method::kGet, "/demo/");
  ASSERT_EQ(demo.status, 200);
  EXPECT_EQ(demo.content_type, "text/html; charset=utf-8");
  EXPECT_NE(demo.body.find("counter.js"), std::string::npos);
  Response js = Call(Method::kGet, "/counter.js");
  ASSERT_EQ(js.status, 200);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  Response root = Call(Method::kGet, "/");
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(root.Header("Location"), "/demo/");
}

}  // namespace
}  // namespace tally

// libFuzzer target: everything of ours between raw request bytes and the api
// Response, on a real SQLite store.
//
// Input format (so that seeds and crashes are readable):
//   METHOD TARGET\n          e.g. "POST /v1/sites/fuzz.example/hits?key=%2F"
//   name: value\n            zero or more headers (names are lower-cased, as
//   ...                      the HTTP transport does)
//   \n
//   BODY                     the rest
// The whole input also goes to the pure parsers and validators directly.
//
// Checked on every answer: exactly one Send per request, within 10 s; status
// in 100..599; JSON bodies parse and are valid UTF-8; every 4xx/5xx is
// {"error":{"code":"...","message":"..."}} (badges: a whole SVG instead).
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <future>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/api.h"
#include "api/query.h"
#include "api/site_admin.h"
#include "api/validation.h"
#include "auth/token.h"
#include "common/blocking_executor.h"
#include "store/sqlite/sqlite_store.h"

namespace tally {
namespace {

// Also in tests/fuzz/request.dict and the seeds, so the fuzzer can get past
// the admin checks.
constexpr std::string_view kRootToken = "fuzz-root-token-0123456789abcdef";

[[noreturn]] void Die(const char* why, const Request& request, const Response& response) {
  std::fprintf(stderr, "INVARIANT BROKEN: %s\nrequest: %s?%s\nresponse %d %.*s: %s\n", why,
               request.path.c_str(), request.query.c_str(), response.status,
               static_cast<int>(response.content_type.size()), response.content_type.data(),
               response.body.c_str());
  std::abort();
}

// Waits for the one answer, which may come from the counting service's writer
// thread (hits) rather than from inside Handle.
class WaitingSink final : public ResponseSink {
 public:
  void Send(Response response) override {
    if (sends_.fetch_add(1) != 0) {
      std::fprintf(stderr, "INVARIANT BROKEN: Send called twice\n");
      std::abort();
    }
    promise_.set_value(std::move(response));
  }
  std::future<Response> future() { return promise_.get_future(); }

 private:
  std::atomic<int> sends_{0};
  std::promise<Response> promise_;
};

struct World {
  std::string dir;
  std::unique_ptr<Store> store;
  SystemClock clock;
  SiteRegistry sites;
  Metrics metrics;
  std::unique_ptr<CountingService> counting;
  InlineExecutor blocking;
  std::unique_ptr<Api> api;
};

// Built once; deliberately never destroyed (the writer thread may still be
// completing when libFuzzer exits).
World* TheWorld() {
  static World* world = [] {
    auto* w = new World;
    std::string base = std::filesystem::temp_directory_path().string() + "/tally-fuzz-XXXXXX";
    if (mkdtemp(base.data()) == nullptr) std::abort();
    w->dir = base;
    std::atexit([] { std::filesystem::remove_all(TheWorld()->dir); });
    // Relaxed: fsync per input would make fuzzing a hundred times slower and
    // durability is not what is fuzzed here.
    auto store = SqliteStore::Open(w->dir + "/fuzz.db", Durability::kRelaxed);
    if (!store.ok()) {
      std::fprintf(stderr, "cannot open store: %s\n", store.status().ToString().c_str());
      std::abort();
    }
    w->store = std::move(store).value();
    SiteSettings open;
    open.name = "fuzz.example";
    open.origins = std::vector<std::string>{"https://fuzz.example", "http://localhost:*"};
    SiteSettings locked;
    locked.name = "locked.example";
    locked.origins = std::vector<std::string>{"*"};
    locked.require_public_key = true;
    for (const SiteSettings& s : {open, locked}) {
      if (!CreateSite(*w->store, w->clock, s).ok()) std::abort();
    }
    auto all = w->store->ListSites();
    if (!all.ok()) std::abort();
    w->sites.ReplaceAll(std::move(all).value());
    w->counting = std::make_unique<CountingService>(*w->store, CountingOptions{}, &w->metrics);
    ApiOptions options;
    options.root_token_hash = HashToken(kRootToken);
    w->api = std::make_unique<Api>(
        ApiContext{*w->store, *w->counting, w->sites, w->blocking, w->metrics, w->clock, options});
    return w;
  }();
  return world;
}

Method ParseMethod(std::string_view m) {
  if (m == "GET") return Method::kGet;
  if (m == "HEAD") return Method::kHead;
  if (m == "POST") return Method::kPost;
  if (m == "PUT") return Method::kPut;
  if (m == "PATCH") return Method::kPatch;
  if (m == "DELETE") return Method::kDelete;
  if (m == "OPTIONS") return Method::kOptions;
  return Method::kOther;
}

std::string_view NextLine(std::string_view& in) {
  size_t eol = in.find('\n');
  std::string_view line = in.substr(0, eol);
  in = eol == std::string_view::npos ? std::string_view() : in.substr(eol + 1);
  return line;
}

Request ParseInput(std::string_view in) {
  Request request;
  request.client_ip = "127.0.0.1";
  std::string_view first = NextLine(in);
  size_t space = first.find(' ');
  request.method = ParseMethod(first.substr(0, space));
  std::string_view target = space == std::string_view::npos ? "" : first.substr(space + 1);
  size_t q = target.find('?');
  request.path.assign(target.substr(0, q));
  if (q != std::string_view::npos) request.query.assign(target.substr(q + 1));
  while (!in.empty()) {
    std::string_view line = NextLine(in);
    if (line.empty()) break;
    size_t colon = line.find(':');
    std::string name(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    request.headers.emplace_back(std::move(name), std::string(value));
  }
  request.body.assign(in);
  return request;
}

bool IsCompatPath(std::string_view path) {
  for (std::string_view prefix :
       {"/hit/", "/get/", "/create", "/set/", "/update/", "/info/", "/visits/"}) {
    if (path.starts_with(prefix)) return true;
  }
  return false;
}

void CheckResponse(const Request& request, const Response& response) {
  if (response.status < 100 || response.status > 599) Die("status out of range", request, response);
  const bool json = response.content_type.starts_with("application/json");
  // Badges answer errors as an error badge, so an <img> shows why; the one
  // exception to "errors are JSON". It must still be a whole SVG document.
  if (response.content_type.starts_with("image/svg+xml")) {
    if (!std::string_view(request.path).ends_with("/badge.svg")) {
      Die("SVG answer outside the badge endpoint", request, response);
    }
    if (!IsValidUtf8(response.body) || !response.body.starts_with("<svg") ||
        !response.body.ends_with("</svg>")) {
      Die("badge is not a whole SVG document", request, response);
    }
    return;
  }
  if (response.status >= 400 && !json) Die("error answer is not JSON", request, response);
  if (!json || response.body.empty()) {
    if (response.status >= 400) Die("error answer without a body", request, response);
    return;
  }
  if (!IsValidUtf8(response.body)) Die("JSON body is not UTF-8", request, response);
  auto body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) Die("body is not JSON", request, response);
  // The compatibility routes answer in the shape of the service they stand
  // in for (CountAPI: 404 {"value":null}); only the rest owes the error shape.
  if (response.status >= 400 && !IsCompatPath(request.path)) {
    const auto* error = body.is_object() && body.contains("error") ? &body["error"] : nullptr;
    if (error == nullptr || !error->is_object() || !error->contains("code") ||
        !(*error)["code"].is_string() || !error->contains("message") ||
        !(*error)["message"].is_string()) {
      Die("error body is not {\"error\":{\"code\",\"message\"}}", request, response);
    }
  }
}

// The pure functions, straight on the raw bytes.
void FuzzParsers(std::string_view data) {
  (void)PercentDecode(data, true);
  auto decoded = PercentDecode(data, false);
  auto query = QueryParams::Parse(data);
  if (query.ok()) {
    if (const std::string* key = query->Find("key")) (void)ValidateKey(*key);
  }
  bool utf8 = IsValidUtf8(data);
  Status key = ValidateKey(data);
  // A valid key is valid UTF-8; a key check never passes what UTF-8 refuses.
  if (key.ok() && !utf8) std::abort();
  if (key.ok() && (data.empty() || data.size() > kMaxKeyBytes)) std::abort();
  (void)IsValidSiteName(data);
  if (decoded.ok()) (void)ValidateKey(*decoded);
  auto json = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (!json.is_discarded()) {
    for (bool allow_name : {true, false}) {
      auto settings = SiteSettingsFromJson(json, allow_name);
      // Whatever it accepts must pass validation.
      if (settings.ok() && !ValidateSiteSettings(*settings).ok()) std::abort();
      if (settings.ok() && !allow_name && settings->name) std::abort();
    }
  }
}

}  // namespace
}  // namespace tally

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tally;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  FuzzParsers(input);

  World* world = TheWorld();
  Request request = ParseInput(input);
  WaitingSink sink;
  auto answer = sink.future();
  world->api->Handle(request, sink);
  if (answer.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    std::fprintf(stderr, "INVARIANT BROKEN: no answer within 10 s to %s?%s\n", request.path.c_str(),
                 request.query.c_str());
    std::abort();
  }
  CheckResponse(request, answer.get());
  return 0;
}

#include "api/compat_endpoints.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <future>

#include <nlohmann/json.hpp>

#include "api/admin_auth.h"
#include "auth/token.h"
#include "common/local_day.h"

namespace tally {
namespace {

// The store's salt table keeps this secret under a name that is no date, so
// ForgetVisitorsBefore (which deletes days) never touches it.
constexpr std::string_view kAdminSecretName = "countapi-admin-secret";

bool IsCountApiName(std::string_view s) {
  if (s.size() < 3 || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool IsJsIdentifierPath(std::string_view s) {
  if (s.empty() || s.size() > 64 || (s[0] >= '0' && s[0] <= '9') || s[0] == '.') return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '$' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::optional<int64_t> ParseCount(const std::string* s) {
  if (s == nullptr) return std::nullopt;
  int64_t v = -1;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || p != s->data() + s->size() || v < 0 || v > (int64_t{1} << 53)) {
    return std::nullopt;
  }
  return v;
}

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xf]);
  }
  return out;
}

// {"visits":N} for the seed's frontend.
class SeedPresenter final : public CounterPresenter {
 public:
  Route route() const override { return Route::kCompat; }
  bool checks_origin() const override { return true; }
  void Present(Response& response, const CounterTotals* totals) const override {
    if (totals != nullptr) response.body = "{\"visits\":" + std::to_string(totals->hits) + "}";
  }
};

// CountAPI's answer: {"value":N} (or {"value":null} for an unknown counter),
// open CORS, X-Path, and JSONP when asked.
class CountApiPresenter final : public CounterPresenter {
 public:
  CountApiPresenter(std::string callback, std::string path)
      : callback_(std::move(callback)), path_(std::move(path)) {}
  Route route() const override { return Route::kCompat; }
  void Present(Response& response, const CounterTotals* totals) const override {
    if (totals != nullptr) {
      response.body = "{\"value\":" + std::to_string(totals->hits) + "}";
    } else if (response.status == 404) {
      response.body = "{\"value\":null}";
    }
    Finish(response, callback_, path_);
  }
  // Shared by every CountAPI answer, also those built without a presenter.
  static void Finish(Response& response, const std::string& callback, const std::string& path) {
    if (!path.empty()) response.SetHeader("X-Path", path);
    response.SetHeader("Access-Control-Allow-Origin", "*");
    if (!callback.empty()) {
      response.body = callback + "(" + response.body + ");";
      response.content_type = "application/javascript; charset=utf-8";
    }
  }

 private:
  std::string callback_;
  std::string path_;
};

// Waits on a blocking-executor thread for one hit to be written.
class WaitedHit final : public HitCompletion {
 public:
  void OnHitDone(const Status& status, const CounterTotals& totals) override {
    promise_.set_value(status.ok() ? Result<CounterTotals>(totals) : Result<CounterTotals>(status));
  }
  Result<CounterTotals> Wait() { return promise_.get_future().get(); }

 private:
  std::promise<Result<CounterTotals>> promise_;
};

void Json(Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.content_type = "application/json";
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  response.SetHeader("Cache-Control", "no-store");
}

}  // namespace

bool CompatEndpoints::Handle(const Request& request, ResponseSink& sink) {
  std::string_view path = request.path;
  if (path.starts_with("/visits/")) {
    Visits(request, path.substr(8), sink);
    return true;
  }
  for (std::string_view verb : {"hit", "get", "set", "update", "info", "create"}) {
    std::string prefix = "/" + std::string(verb);
    if (path == prefix || path.starts_with(prefix + "/")) {
      CountApi(request, verb, path.substr(prefix.size()), sink);
      return true;
    }
  }
  return false;
}

void CompatEndpoints::Visits(const Request& request, std::string_view raw_id, ResponseSink& sink) {
  Response response;
  auto id = PercentDecode(raw_id, /*plus_is_space=*/false);
  if (request.method == Method::kOptions) {
    return public_.Preflight(request, kSeedSite, "GET, POST, OPTIONS", sink);
  }
  if (request.method != Method::kGet && request.method != Method::kPost) {
    SetError(response, 405, "method_not_allowed", "use GET or POST");
    response.SetHeader("Allow", "GET, POST, OPTIONS");
    return tally::Finish(ctx_, sink, Route::kCompat, std::move(response));
  }
  if (!id.ok() || id->empty() || id->find('/') != std::string::npos) {
    SetError(response, 400, "invalid_key", "/visits/{id} takes one path segment");
    return tally::Finish(ctx_, sink, Route::kCompat, std::move(response));
  }
  // The seed's Lambda counted on every call, GET included.
  public_.HitKey(request, kSeedSite, *id, sink, std::make_shared<SeedPresenter>());
}

void CompatEndpoints::CountApi(const Request& request, std::string_view verb, std::string_view rest,
                               ResponseSink& sink) {
  Response response;
  auto query = QueryParams::Parse(request.query);
  std::string callback;
  if (query.ok() && query->Find("callback") != nullptr) callback = *query->Find("callback");
  auto fail = [&](int status, std::string_view code, std::string_view message) {
    SetError(response, status, code, message);
    bool jsonp = IsJsIdentifierPath(callback);
    CountApiPresenter::Finish(response, jsonp ? callback : "", "");
    tally::Finish(ctx_, sink, Route::kCompat, std::move(response));
  };
  if (request.method == Method::kOptions) {
    response.status = 204;
    response.SetHeader("Access-Control-Allow-Origin", "*");
    response.SetHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    response.SetHeader("Access-Control-Allow-Headers", "Authorization, Content-Type");
    response.SetHeader("Access-Control-Max-Age", "86400");
    return tally::Finish(ctx_, sink, Route::kPreflight, std::move(response));
  }
  if (request.method != Method::kGet && request.method != Method::kPost &&
      request.method != Method::kHead) {
    return fail(405, "method_not_allowed", "use GET");
  }
  if (!query.ok()) return fail(400, "invalid_query", query.status().message());
  if (!callback.empty() && !IsJsIdentifierPath(callback)) {
    callback.clear();
    return fail(400, "invalid_callback", "callback must be a JavaScript name");
  }
  if (verb == "create") {
    if (!rest.empty() && rest != "/") return fail(404, "not_found", "no such endpoint");
    return Create(request, *query, sink);
  }
  // /verb/{namespace}/{key} or /verb/{key} in the namespace "default".
  if (!rest.starts_with('/')) return fail(404, "not_found", "name a counter: /hit/namespace/key");
  rest.remove_prefix(1);
  size_t slash = rest.find('/');
  auto ns =
      PercentDecode(slash == std::string_view::npos ? "default" : rest.substr(0, slash), false);
  auto key = PercentDecode(slash == std::string_view::npos ? rest : rest.substr(slash + 1), false);
  if (!ns.ok() || !key.ok() || !IsCountApiName(*ns) || !IsCountApiName(*key)) {
    return fail(400, "invalid_name", "namespace and key must match ^[A-Za-z0-9_.-]{3,64}$");
  }
  std::string path = "/" + *ns + "/" + *key;
  auto presenter = std::make_shared<CountApiPresenter>(callback, path);
  std::string counter = *ns + "/" + *key;
  if (verb == "hit") return public_.HitKey(request, kCountApiSite, counter, sink, presenter);
  if (verb == "get") return public_.ReadKey(request, kCountApiSite, counter, sink, presenter);
  if (verb == "info") return Info(request, *ns, *key, *query, sink);
  return Change(request, verb, *ns, *key, *query, sink);
}

Result<std::string> CompatEndpoints::AdminKey(std::string_view ns, std::string_view key) {
  std::string secret;
  {
    std::lock_guard lock(secret_mu_);
    if (secret_.empty()) {
      auto candidate = NewToken("");
      if (!candidate.ok()) return candidate.status();
      auto stored = ctx_.store.DailySalt(kAdminSecretName, *candidate);
      if (!stored.ok()) return stored.status();
      secret_ = std::move(stored).value();
    }
    secret = secret_;
  }
  std::string name = std::string(ns) + "/" + std::string(key);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(name.data()), name.size(), mac, &mac_len);
  return "ak_" + Hex(mac, 24);
}

void CompatEndpoints::Create(const Request& request, const QueryParams& query, ResponseSink& sink) {
  (void)request;
  std::string callback = query.Find("callback") ? *query.Find("callback") : "";
  std::string ns = query.Find("namespace") ? *query.Find("namespace") : "default";
  std::string key;
  if (query.Find("key")) {
    key = *query.Find("key");
  } else {
    auto random = NewToken("");
    key = random.ok() ? random->substr(0, 16) : "";  // base64url is CountAPI's alphabet
  }
  std::optional<int64_t> value = query.Find("value") ? ParseCount(query.Find("value")) : 0;
  RunBlocking(ctx_, sink, Route::kCompat, [this, callback, ns, key, value] {
    Response response;
    if (!IsCountApiName(ns) || !IsCountApiName(key)) {
      SetError(response, 400, "invalid_name",
               "namespace and key must match ^[A-Za-z0-9_.-]{3,64}$");
    } else if (!value) {
      SetError(response, 400, "invalid_value", "value must be a whole number >= 0");
    } else if (!ctx_.sites.Find(kCountApiSite)) {
      SetError(response, 404, "site_not_found", "the countapi site does not exist here");
    } else {
      std::string counter = ns + "/" + key;
      auto existing = ctx_.store.ReadCounter(kCountApiSite, counter, "0000-00-00");
      auto admin_key = AdminKey(ns, key);
      if (existing.ok()) {
        SetError(response, 409, "counter_exists", "that counter exists already");
      } else if (existing.status().code() != StatusCode::kNotFound) {
        SetErrorFromStatus(response, existing.status());
      } else if (!admin_key.ok()) {
        SetErrorFromStatus(response, admin_key.status());
      } else if (Status set = ctx_.store.SetCounter(kCountApiSite, counter, *value); !set.ok()) {
        SetErrorFromStatus(response, set);
      } else {
        Json(response, 201,
             {{"namespace", ns}, {"key", key}, {"value", *value}, {"admin_key", *admin_key}});
      }
    }
    CountApiPresenter::Finish(response, callback, "/" + ns + "/" + key);
    return response;
  });
}

void CompatEndpoints::Change(const Request& request, std::string_view verb, const std::string& ns,
                             const std::string& key, const QueryParams& query, ResponseSink& sink) {
  std::string callback = query.Find("callback") ? *query.Find("callback") : "";
  bool set = verb == "set";
  std::optional<int64_t> number = ParseCount(query.Find(set ? "value" : "amount"));
  RunBlocking(ctx_, sink, Route::kCompat, [this, &request, set, number, callback, ns, key] {
    Response response;
    std::string counter = ns + "/" + key;
    std::string path = "/" + ns + "/" + key;
    auto finish = [&] {
      CountApiPresenter::Finish(response, callback, path);
      return response;
    };
    // The counter's admin key from /create, or a site admin / root token.
    auto site = ctx_.sites.Find(kCountApiSite);
    auto admin_key = AdminKey(ns, key);
    std::string_view auth = request.Header("authorization");
    bool key_ok = admin_key.ok() && auth.starts_with("Bearer ") &&
                  TokenMatches(auth.substr(7), HashToken(*admin_key));
    if (!key_ok && !CheckAdmin(ctx_, request, site.get()).ok()) {
      SetUnauthorized(response, Status::Unauthenticated("send the admin_key from /create as "
                                                        "Authorization: Bearer <admin_key>"));
      return finish();
    }
    if (site == nullptr) {
      SetError(response, 404, "site_not_found", "the countapi site does not exist here");
      return finish();
    }
    if (!number || (!set && *number < 1)) {
      SetError(response, 400, "invalid_value",
               set ? "value must be a whole number >= 0" : "amount must be a whole number >= 1");
      return finish();
    }
    std::string day = LocalDay(site->timezone, ctx_.clock.NowUnixSeconds());
    auto before = ctx_.store.ReadCounter(kCountApiSite, counter, day);
    if (!before.ok()) {
      SetErrorFromStatus(response, before.status(), "counter_not_found");
      if (response.status == 404) response.body = "{\"value\":null}";
      return finish();
    }
    if (set) {
      Status s = ctx_.store.SetCounter(kCountApiSite, counter, *number);
      if (!s.ok()) {
        SetErrorFromStatus(response, s);
      } else {
        Json(response, 200, {{"old_value", before->hits}, {"value", *number}});
      }
      return finish();
    }
    // Through the counting service, so concurrent hits keep their numbers.
    WaitedHit waited;
    Status submitted = ctx_.counting.Submit(kCountApiSite, counter, day, "", &waited, *number);
    auto after = submitted.ok() ? waited.Wait() : Result<CounterTotals>(submitted);
    if (!after.ok()) {
      SetErrorFromStatus(response, after.status());
    } else {
      Json(response, 200, {{"value", after->hits}});
    }
    return finish();
  });
}

void CompatEndpoints::Info(const Request& request, const std::string& ns, const std::string& key,
                           const QueryParams& query, ResponseSink& sink) {
  (void)request;
  std::string callback = query.Find("callback") ? *query.Find("callback") : "";
  RunBlocking(ctx_, sink, Route::kCompat, [this, callback, ns, key] {
    Response response;
    auto totals = ctx_.store.ReadCounter(kCountApiSite, ns + "/" + key, "0000-00-00");
    if (!totals.ok()) {
      SetErrorFromStatus(response, totals.status(), "counter_not_found");
      if (response.status == 404) response.body = "{\"value\":null}";
    } else {
      Json(response, 200,
           {{"namespace", ns},
            {"key", key},
            {"value", totals->hits},
            {"ttl", -1},
            {"enable_reset", true},
            {"update_lowerbound", 1},
            {"update_upperbound", nullptr}});
    }
    CountApiPresenter::Finish(response, callback, "/" + ns + "/" + key);
    return response;
  });
}

}  // namespace tally

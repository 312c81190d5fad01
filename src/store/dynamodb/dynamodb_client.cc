#include "store/dynamodb/dynamodb_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <deque>
#include <exception>
#include <mutex>
#include <queue>
#include <random>
#include <thread>
#include <utility>

namespace tally {
namespace {

using Clock = std::chrono::steady_clock;

// Sessions kept for reuse between calls; more are made under concurrency.
constexpr size_t kMaxIdleSessions = 8;
// Longest wait inside the multi loop between checks of the retry queue.
constexpr int kMaxPollMs = 50;

size_t AppendToString(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

bool IsWriteOperation(std::string_view op) {
  return op == "PutItem" || op == "UpdateItem" || op == "DeleteItem" || op == "BatchWriteItem" ||
         op == "TransactWriteItems";
}

// Errors that no retry will fix but that are the environment's fault rather
// than a malformed request: the api answers 503 for them, like an outage.
bool IsEnvironmentError(std::string_view type) {
  for (std::string_view t :
       {"ResourceNotFoundException", "UnrecognizedClientException", "InvalidSignatureException",
        "AccessDeniedException", "MissingAuthenticationTokenException", "ExpiredTokenException",
        "IncompleteSignatureException", "ResourceInUseException"}) {
    if (type == t) return true;
  }
  return false;
}

// One attempt of one request on the wire.
struct Transfer {
  size_t index = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string response;
  char error[CURL_ERROR_SIZE] = {};
};

// A finished attempt judged: done (success or final failure) or retry.
struct Verdict {
  bool retry = false;
  DynamoResult result;
};

Verdict Judge(CURLcode code, long http_status, const Transfer& t) {
  Verdict v;
  if (code != CURLE_OK) {
    v.retry = true;
    std::string detail = t.error[0] != '\0' ? t.error : curl_easy_strerror(code);
    v.result.status = Status::Unavailable("DynamoDB unreachable: " + detail);
    return v;
  }
  nlohmann::json body = nlohmann::json::parse(t.response, nullptr, /*allow_exceptions=*/false);
  if (http_status == 200) {
    if (body.is_discarded() || !body.is_object()) {
      // The operation may have been done; callers' writes are idempotent.
      v.retry = true;
      v.result.status = Status::Unavailable("DynamoDB sent an unreadable answer");
      return v;
    }
    v.result.body = std::move(body);
    return v;
  }
  std::string type, message;
  if (body.is_object()) {
    if (auto it = body.find("__type"); it != body.end() && it->is_string()) {
      type = it->get<std::string>();
      if (size_t hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
    }
    for (const char* field : {"message", "Message"}) {
      if (auto it = body.find(field); it != body.end() && it->is_string()) message = *it;
    }
  }
  v.result.error_type = type;
  std::string what = "DynamoDB answered HTTP " + std::to_string(http_status) +
                     (type.empty() ? "" : " " + type) + (message.empty() ? "" : ": " + message);
  if (IsRetryableErrorType(type) || IsRetryableHttpStatus(http_status)) {
    v.retry = true;
    v.result.status = Status::Unavailable(what);
  } else if (IsEnvironmentError(type)) {
    v.result.status = Status::Unavailable(what);
  } else {
    v.result.status = Status::Internal(what);
  }
  return v;
}

}  // namespace

// A curl multi handle (with its connection cache) and idle easy handles.
// Used by one call at a time.
class DynamoDbClient::Session {
 public:
  Session() : multi_(curl_multi_init()), rng_(std::random_device{}()) {}
  ~Session() {
    for (CURL* easy : idle_) curl_easy_cleanup(easy);
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  CURLM* multi() { return multi_; }
  std::mt19937_64& rng() { return rng_; }

  CURL* TakeEasy() {
    if (!idle_.empty()) {
      CURL* easy = idle_.back();
      idle_.pop_back();
      return easy;
    }
    return curl_easy_init();
  }
  void ReturnEasy(CURL* easy) { idle_.push_back(easy); }

 private:
  CURLM* multi_;
  std::vector<CURL*> idle_;
  std::mt19937_64 rng_;
};

Result<std::unique_ptr<DynamoDbClient>> DynamoDbClient::Create(AwsConfig config,
                                                               DynamoDbClientOptions options) {
  static std::once_flag curl_init;
  static CURLcode init_code = CURLE_OK;
  std::call_once(curl_init, [] { init_code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init_code != CURLE_OK) {
    return Status::Internal(std::string("curl_global_init: ") + curl_easy_strerror(init_code));
  }
  if (options.max_in_flight < 1) options.max_in_flight = 1;
  return std::unique_ptr<DynamoDbClient>(new DynamoDbClient(std::move(config), options));
}

DynamoDbClient::DynamoDbClient(AwsConfig config, DynamoDbClientOptions options)
    : config_(std::move(config)),
      options_(options),
      url_(config_.endpoint + "/"),
      sigv4_provider_("aws:amz:" + config_.region + ":dynamodb") {}

DynamoDbClient::~DynamoDbClient() = default;

DynamoDbClientStats DynamoDbClient::stats() const {
  return DynamoDbClientStats{requests_.load(), retries_.load(), writes_.load()};
}

std::unique_ptr<DynamoDbClient::Session> DynamoDbClient::AcquireSession() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_sessions_.empty()) {
      std::unique_ptr<Session> s = std::move(idle_sessions_.back());
      idle_sessions_.pop_back();
      return s;
    }
  }
  auto session = std::make_unique<Session>();
  curl_multi_setopt(session->multi(), CURLMOPT_MAX_HOST_CONNECTIONS,
                    static_cast<long>(options_.max_in_flight));
  return session;
}

void DynamoDbClient::ReleaseSession(std::unique_ptr<Session> session) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_sessions_.size() < kMaxIdleSessions) idle_sessions_.push_back(std::move(session));
}

DynamoResult DynamoDbClient::Call(std::string_view operation, const nlohmann::json& body) {
  DynamoRequest request{std::string(operation), body.dump()};
  DynamoResult result;
  CallAll({&request, 1}, {&result, 1});
  return result;
}

void DynamoDbClient::CallAll(std::span<const DynamoRequest> requests,
                             std::span<DynamoResult> results) {
  CallAllUntil(requests, results, Clock::now() + options_.deadline);
}

void DynamoDbClient::CallAllUntil(std::span<const DynamoRequest> requests,
                                  std::span<DynamoResult> results, Clock::time_point deadline) {
  if (requests.size() != results.size()) {
    for (DynamoResult& r : results) r.status = Status::Internal("CallAll: size mismatch");
    return;
  }
  if (requests.empty()) return;
  std::unique_ptr<Session> session = AcquireSession();
  if (session->multi() == nullptr) {
    for (DynamoResult& r : results) r.status = Status::Internal("curl_multi_init failed");
    return;
  }
  CURLM* multi = session->multi();

  std::deque<size_t> ready;
  for (size_t i = 0; i < requests.size(); ++i) ready.push_back(i);
  using Scheduled = std::pair<Clock::time_point, size_t>;
  std::priority_queue<Scheduled, std::vector<Scheduled>, std::greater<>> waiting;
  std::vector<int> attempts(requests.size(), 0);
  std::vector<std::unique_ptr<Transfer>> in_flight;

  auto finish = [&](size_t index, DynamoResult result) {
    result.attempts = attempts[index];
    results[index] = std::move(result);
  };

  auto start = [&](size_t index) -> bool {
    const DynamoRequest& req = requests[index];
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    auto t = std::make_unique<Transfer>();
    t->index = index;
    t->easy = session->TakeEasy();
    if (t->easy == nullptr) return false;
    const std::string target = "X-Amz-Target: DynamoDB_20120810." + req.operation;
    t->headers = curl_slist_append(nullptr, "Content-Type: application/x-amz-json-1.0");
    t->headers = curl_slist_append(t->headers, target.c_str());
    if (!config_.session_token.empty()) {
      const std::string token = "X-Amz-Security-Token: " + config_.session_token;
      t->headers = curl_slist_append(t->headers, token.c_str());
    }
    CURL* e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    // libcurl 7.88: region and service must be given explicitly.
    curl_easy_setopt(e, CURLOPT_AWS_SIGV4, sigv4_provider_.c_str());
    curl_easy_setopt(e, CURLOPT_USERNAME, config_.access_key_id.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, config_.secret_access_key.c_str());
    if (!config_.ca_bundle.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, config_.ca_bundle.c_str());
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min(options_.connect_timeout, left).count()));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(std::min(options_.attempt_timeout, left).count()));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &AppendToString);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &t->response);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    if (curl_multi_add_handle(multi, e) != CURLM_OK) {
      curl_slist_free_all(t->headers);
      session->ReturnEasy(e);
      return false;
    }
    ++attempts[index];
    requests_.fetch_add(1, std::memory_order_relaxed);
    if (attempts[index] > 1) retries_.fetch_add(1, std::memory_order_relaxed);
    if (IsWriteOperation(req.operation)) writes_.fetch_add(1, std::memory_order_relaxed);
    in_flight.push_back(std::move(t));
    return true;
  };

  std::vector<DynamoResult> last_failure(requests.size());
  auto give_up = [&](size_t index) {
    DynamoResult r = std::move(last_failure[index]);
    if (r.status.ok()) r.status = Status::Unavailable("DynamoDB: deadline passed before a try");
    r.status = Status(r.status.code(), r.status.message() + " (gave up after " +
                                           std::to_string(attempts[index]) + " attempts)");
    finish(index, std::move(r));
  };

  while (!ready.empty() || !waiting.empty() || !in_flight.empty()) {
    const Clock::time_point now = Clock::now();
    while (!waiting.empty() && waiting.top().first <= now) {
      ready.push_back(waiting.top().second);
      waiting.pop();
    }
    while (!ready.empty() && in_flight.size() < static_cast<size_t>(options_.max_in_flight)) {
      size_t index = ready.front();
      ready.pop_front();
      if (!start(index)) give_up(index);
    }
    if (ready.empty() && waiting.empty() && in_flight.empty()) break;

    int running = 0;
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;
      Transfer* raw = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&raw));
      long http_status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http_status);
      curl_multi_remove_handle(multi, easy);
      auto it = std::find_if(in_flight.begin(), in_flight.end(),
                             [&](const auto& t) { return t.get() == raw; });
      if (it == in_flight.end()) continue;  // cannot happen
      std::unique_ptr<Transfer> t = std::move(*it);
      in_flight.erase(it);
      Verdict verdict = Judge(code, http_status, *t);
      curl_slist_free_all(t->headers);
      session->ReturnEasy(easy);
      const size_t index = t->index;
      if (!verdict.retry) {
        finish(index, std::move(verdict.result));
        continue;
      }
      last_failure[index] = std::move(verdict.result);
      const Clock::time_point when =
          Clock::now() + options_.retry.BackoffDelay(attempts[index], session->rng());
      if (when >= deadline) {
        give_up(index);
      } else {
        waiting.emplace(when, index);
      }
    }
    if (in_flight.empty() && ready.empty() && waiting.empty()) break;
    int wait_ms = kMaxPollMs;
    if (!waiting.empty()) {
      auto until =
          std::chrono::duration_cast<std::chrono::milliseconds>(waiting.top().first - Clock::now());
      wait_ms = static_cast<int>(std::clamp<int64_t>(until.count(), 0, kMaxPollMs));
    }
    if (!in_flight.empty()) {
      curl_multi_poll(multi, nullptr, 0, wait_ms, nullptr);
    } else if (wait_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    }
  }
  ReleaseSession(std::move(session));
}

}  // namespace tally

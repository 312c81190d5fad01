#include "store/dynamodb/dynamodb_client.h"

#include <algorithm>
#include <random>
#include <thread>
#include <utility>

#include "aws/sigv4.h"

namespace tally {
namespace {

using Clock = std::chrono::steady_clock;

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

// A finished attempt judged: done (success or final failure) or retry.
struct Verdict {  // NOLINT(bugprone-exception-escape): json's destructor, as DynamoResult's
  bool retry = false;
  DynamoResult result;
};

Verdict Judge(const HttpResponse& answer) {
  Verdict v;
  if (!answer.status.ok()) {
    v.retry = true;
    v.result.status = Status::Unavailable("DynamoDB unreachable: " + answer.status.message());
    return v;
  }
  const int http_status = answer.code;
  nlohmann::json body = nlohmann::json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
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

Result<std::unique_ptr<DynamoDbClient>> DynamoDbClient::Create(AwsConfig config,
                                                               DynamoDbClientOptions options) {
  if (options.max_in_flight < 1) options.max_in_flight = 1;
  HttpClientOptions http_options;
  http_options.max_in_flight = options.max_in_flight;
  http_options.connect_timeout = options.connect_timeout;
  http_options.ca_bundle = config.ca_bundle;
  auto http = HttpClient::Create(config.endpoint, http_options);
  if (!http.ok()) return Status::InvalidArgument("dynamodb store: " + http.status().message());
  return std::unique_ptr<DynamoDbClient>(
      new DynamoDbClient(std::move(config), options, std::move(*http)));
}

DynamoDbClient::DynamoDbClient(AwsConfig config, DynamoDbClientOptions options,
                               std::unique_ptr<HttpClient> http)
    : config_(std::move(config)), options_(options), http_(std::move(http)) {}

DynamoDbClient::~DynamoDbClient() = default;

DynamoDbClientStats DynamoDbClient::stats() const {
  return DynamoDbClientStats{requests_.load(), retries_.load(), writes_.load()};
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
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::vector<size_t> pending(requests.size());
  for (size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  std::vector<int> attempts(requests.size(), 0);
  std::vector<DynamoResult> last_failure(requests.size());

  auto finish = [&](size_t index, DynamoResult result) {
    result.attempts = attempts[index];
    results[index] = std::move(result);
  };
  auto give_up = [&](size_t index) {
    DynamoResult r = std::move(last_failure[index]);
    if (r.status.ok()) r.status = Status::Unavailable("DynamoDB: deadline passed before a try");
    r.status = Status(r.status.code(), r.status.message() + " (gave up after " +
                                           std::to_string(attempts[index]) + " attempts)");
    finish(index, std::move(r));
  };

  std::vector<HttpRequest> wire;
  std::vector<HttpResponse> answers;
  while (!pending.empty()) {
    const Clock::time_point now = Clock::now();
    if (now >= deadline) break;
    // Signed per attempt: a signature is valid for minutes around its time.
    wire.clear();
    for (size_t index : pending) {
      const DynamoRequest& req = requests[index];
      HttpRequest& request = wire.emplace_back();
      request.body = req.body;
      request.headers.emplace_back("Content-Type", "application/x-amz-json-1.0");
      request.headers.emplace_back("X-Amz-Target", "DynamoDB_20120810." + req.operation);
      SignV4(config_, "dynamodb", http_->host_header(), std::chrono::system_clock::now(), &request);
      ++attempts[index];
      requests_.fetch_add(1, std::memory_order_relaxed);
      if (attempts[index] > 1) retries_.fetch_add(1, std::memory_order_relaxed);
      if (IsWriteOperation(req.operation)) writes_.fetch_add(1, std::memory_order_relaxed);
    }
    answers.assign(wire.size(), HttpResponse{});
    http_->SendAll(wire, answers, std::min(deadline, now + options_.attempt_timeout));

    std::vector<size_t> again;
    int attempts_so_far = 0;
    for (size_t k = 0; k < pending.size(); ++k) {
      const size_t index = pending[k];
      Verdict verdict = Judge(answers[k]);
      if (!verdict.retry) {
        finish(index, std::move(verdict.result));
        continue;
      }
      last_failure[index] = std::move(verdict.result);
      attempts_so_far = std::max(attempts_so_far, attempts[index]);
      again.push_back(index);
    }
    pending = std::move(again);
    if (pending.empty()) break;
    const Clock::time_point when = Clock::now() + options_.retry.BackoffDelay(attempts_so_far, rng);
    if (when >= deadline) break;
    std::this_thread::sleep_until(when);
  }
  for (size_t index : pending) give_up(index);
}

}  // namespace tally

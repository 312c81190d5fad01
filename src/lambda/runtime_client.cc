#include "lambda/runtime_client.h"

#include <charconv>
#include <utility>

#include <nlohmann/json.hpp>

namespace tally::lambda {
namespace {

// The Runtime API version every path starts with.
constexpr char kApi[] = "/2018-06-01";

}  // namespace

std::string ErrorDocument(std::string_view error_type, std::string_view message) {
  nlohmann::json doc = {{"errorMessage", std::string(message)},
                        {"errorType", std::string(error_type)},
                        {"stackTrace", nlohmann::json::array()}};
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

RuntimeClient::RuntimeClient(std::string_view endpoint) {
  HttpClientOptions options;
  options.max_in_flight = 1;
  options.connect_timeout = std::chrono::seconds(2);
  auto http = HttpClient::Create("http://" + std::string(endpoint), options);
  if (http.ok()) {
    http_ = std::move(*http);
  } else {
    endpoint_status_ =
        Status::InvalidArgument("AWS_LAMBDA_RUNTIME_API: " + http.status().message());
  }
}

Result<Invocation> RuntimeClient::Next() {
  if (http_ == nullptr) return endpoint_status_;
  HttpRequest request;
  request.method = "GET";
  request.target = std::string(kApi) + "/runtime/invocation/next";
  // No deadline: `next` blocks until an event arrives, as documented.
  HttpResponse reply = http_->Send(request, HttpClient::Clock::time_point::max());
  if (!reply.status.ok()) {
    return Status::Unavailable("Runtime API next: " + reply.status.message());
  }
  if (reply.code != 200) {
    return Status::Unavailable("Runtime API next answered HTTP " + std::to_string(reply.code) +
                               ": " + reply.body);
  }
  Invocation inv;
  inv.request_id = std::string(reply.Header("Lambda-Runtime-Aws-Request-Id"));
  if (inv.request_id.empty()) {
    return Status::Unavailable("Runtime API next sent no Lambda-Runtime-Aws-Request-Id");
  }
  inv.trace_id = std::string(reply.Header("Lambda-Runtime-Trace-Id"));
  inv.function_arn = std::string(reply.Header("Lambda-Runtime-Invoked-Function-Arn"));
  const std::string_view deadline = reply.Header("Lambda-Runtime-Deadline-Ms");
  std::from_chars(deadline.data(), deadline.data() + deadline.size(), inv.deadline_ms);
  inv.event = std::move(reply.body);
  return inv;
}

Status RuntimeClient::Post(const std::string& path, std::string_view body,
                           std::string_view error_type) {
  if (http_ == nullptr) return endpoint_status_;
  HttpRequest request;
  request.target = kApi + path;
  request.body = std::string(body);
  request.headers.emplace_back("Content-Type", "application/json");
  if (!error_type.empty()) {
    request.headers.emplace_back("Lambda-Runtime-Function-Error-Type", std::string(error_type));
  }
  HttpResponse reply = http_->Send(request, HttpClient::Clock::now() + std::chrono::seconds(10));
  if (!reply.status.ok()) {
    return Status::Unavailable("Runtime API " + path + ": " + reply.status.message());
  }
  if (reply.code == 413) {
    return Status::InvalidArgument("Runtime API " + path + ": payload too large");
  }
  if (reply.code != 202) {
    return Status::Unavailable("Runtime API " + path + " answered HTTP " +
                               std::to_string(reply.code) + ": " + reply.body);
  }
  return Status::Ok();
}

Status RuntimeClient::PostResponse(std::string_view request_id, std::string_view json_body) {
  return Post("/runtime/invocation/" + std::string(request_id) + "/response", json_body, "");
}

Status RuntimeClient::PostError(std::string_view request_id, std::string_view error_type,
                                std::string_view message) {
  return Post("/runtime/invocation/" + std::string(request_id) + "/error",
              ErrorDocument(error_type, message), error_type);
}

Status RuntimeClient::PostInitError(std::string_view error_type, std::string_view message) {
  return Post("/runtime/init/error", ErrorDocument(error_type, message), error_type);
}

}  // namespace tally::lambda

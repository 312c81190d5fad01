#include "lambda/runtime_client.h"

#include <curl/curl.h>

#include <cctype>
#include <charconv>
#include <mutex>
#include <utility>

#include <nlohmann/json.hpp>

namespace tally::lambda {
namespace {

struct ReplyBuffers {
  std::string* body;
  std::string* request_id;
  std::string* deadline;
  std::string* trace_id;
  std::string* function_arn;
};

size_t OnBody(char* data, size_t size, size_t count, void* out) {
  static_cast<ReplyBuffers*>(out)->body->append(data, size * count);
  return size * count;
}

// Picks the Lambda-Runtime-* headers out of the response head.
size_t OnHeader(char* data, size_t size, size_t count, void* out) {
  auto* buffers = static_cast<ReplyBuffers*>(out);
  std::string_view line(data, size * count);
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  if (name == "lambda-runtime-aws-request-id") buffers->request_id->assign(value);
  if (name == "lambda-runtime-deadline-ms") buffers->deadline->assign(value);
  if (name == "lambda-runtime-trace-id") buffers->trace_id->assign(value);
  if (name == "lambda-runtime-invoked-function-arn") buffers->function_arn->assign(value);
  return size * count;
}

}  // namespace

std::string ErrorDocument(std::string_view error_type, std::string_view message) {
  nlohmann::json doc = {{"errorMessage", std::string(message)},
                        {"errorType", std::string(error_type)},
                        {"stackTrace", nlohmann::json::array()}};
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

RuntimeClient::RuntimeClient(std::string endpoint)
    : base_("http://" + std::move(endpoint) + "/2018-06-01") {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_ = curl_easy_init();
}

RuntimeClient::~RuntimeClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Status RuntimeClient::Perform(const std::string& path, const std::string* post_body,
                              std::string_view error_type, Reply* reply) {
  CURL* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return Status::Internal("curl_easy_init failed");
  curl_easy_reset(curl);
  std::string url = base_ + path;
  ReplyBuffers buffers{&reply->body, &reply->request_id, &reply->deadline, &reply->trace_id,
                       &reply->function_arn};
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buffers);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &buffers);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
  // The Runtime API is plain HTTP on loopback: never go through a proxy.
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  // No CURLOPT_TIMEOUT: `next` blocks until an event arrives, as documented.
  curl_slist* headers = nullptr;
  if (post_body != nullptr) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    if (!error_type.empty()) {
      std::string h = "Lambda-Runtime-Function-Error-Type: " + std::string(error_type);
      headers = curl_slist_append(headers, h.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post_body->size()));
  }
  CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (code != CURLE_OK) {
    return Status::Unavailable("Runtime API " + path + ": " +
                               (error[0] != '\0' ? error : curl_easy_strerror(code)));
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
  return Status::Ok();
}

Result<Invocation> RuntimeClient::Next() {
  Reply reply;
  Status s = Perform("/runtime/invocation/next", nullptr, "", &reply);
  if (!s.ok()) return s;
  if (reply.status != 200) {
    return Status::Unavailable("Runtime API next answered HTTP " + std::to_string(reply.status) +
                               ": " + reply.body);
  }
  if (reply.request_id.empty()) {
    return Status::Unavailable("Runtime API next sent no Lambda-Runtime-Aws-Request-Id");
  }
  Invocation inv;
  inv.request_id = std::move(reply.request_id);
  inv.trace_id = std::move(reply.trace_id);
  inv.function_arn = std::move(reply.function_arn);
  inv.event = std::move(reply.body);
  std::from_chars(reply.deadline.data(), reply.deadline.data() + reply.deadline.size(),
                  inv.deadline_ms);
  return inv;
}

Status RuntimeClient::Post(const std::string& path, std::string_view body,
                           std::string_view error_type, long expected) {
  std::string owned(body);
  Reply reply;
  Status s = Perform(path, &owned, error_type, &reply);
  if (!s.ok()) return s;
  if (reply.status == 413) {
    return Status::InvalidArgument("Runtime API " + path + ": payload too large");
  }
  if (reply.status != expected) {
    return Status::Unavailable("Runtime API " + path + " answered HTTP " +
                               std::to_string(reply.status) + ": " + reply.body);
  }
  return Status::Ok();
}

Status RuntimeClient::PostResponse(std::string_view request_id, std::string_view json_body) {
  return Post("/runtime/invocation/" + std::string(request_id) + "/response", json_body, "", 202);
}

Status RuntimeClient::PostError(std::string_view request_id, std::string_view error_type,
                                std::string_view message) {
  return Post("/runtime/invocation/" + std::string(request_id) + "/error",
              ErrorDocument(error_type, message), error_type, 202);
}

Status RuntimeClient::PostInitError(std::string_view error_type, std::string_view message) {
  return Post("/runtime/init/error", ErrorDocument(error_type, message), error_type, 202);
}

}  // namespace tally::lambda

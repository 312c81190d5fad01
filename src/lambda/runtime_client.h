// RuntimeClient: the AWS Lambda Runtime API (2018-06-01) as documented in
// "Using the Lambda runtime API for custom runtimes", over plain HTTP to the
// endpoint in AWS_LAMBDA_RUNTIME_API (host:port on loopback), over one
// kept-alive connection (aws/http_client.h).
//
//   GET  /2018-06-01/runtime/invocation/next          (no timeout: blocks
//        until an event arrives; the sandbox may freeze meanwhile)
//   POST /2018-06-01/runtime/invocation/{id}/response
//   POST /2018-06-01/runtime/invocation/{id}/error
//   POST /2018-06-01/runtime/init/error
//
// Thread safety: not thread-safe; one thread (the invocation loop) owns it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "aws/http_client.h"
#include "common/status.h"

namespace tally::lambda {

// One event handed out by /invocation/next, with the headers that describe it.
struct Invocation {
  std::string request_id;    // Lambda-Runtime-Aws-Request-Id
  int64_t deadline_ms = 0;   // Lambda-Runtime-Deadline-Ms (Unix epoch ms), 0 if absent
  std::string trace_id;      // Lambda-Runtime-Trace-Id
  std::string function_arn;  // Lambda-Runtime-Invoked-Function-Arn
  std::string event;         // the body: the event as JSON text
};

class RuntimeClient {
 public:
  // Makes a client for `endpoint` ("host:port", as in AWS_LAMBDA_RUNTIME_API).
  // No request is sent yet; with a malformed endpoint every call fails.
  explicit RuntimeClient(std::string_view endpoint);
  RuntimeClient(const RuntimeClient&) = delete;
  RuntimeClient& operator=(const RuntimeClient&) = delete;

  // Waits, without a timeout, for the next event. Unavailable if the Runtime
  // API cannot be reached or answers other than 200, or sends no request id.
  Result<Invocation> Next();

  // Reports the result of invocation `request_id` (a JSON document).
  // Unavailable if not accepted with 202 (413 for a too large payload is
  // reported as InvalidArgument, so the caller can send an error instead).
  Status PostResponse(std::string_view request_id, std::string_view json_body);

  // Reports that invocation `request_id` failed, with Lambda's error shape
  // {"errorMessage","errorType","stackTrace":[]} and the
  // Lambda-Runtime-Function-Error-Type header.
  Status PostError(std::string_view request_id, std::string_view error_type,
                   std::string_view message);

  // Reports that initialisation failed; Lambda then discards the sandbox.
  Status PostInitError(std::string_view error_type, std::string_view message);

 private:
  Status Post(const std::string& path, std::string_view body, std::string_view error_type);

  std::unique_ptr<HttpClient> http_;  // null if the endpoint is malformed
  Status endpoint_status_;
};

// The error document Lambda expects in /error and /init/error bodies.
std::string ErrorDocument(std::string_view error_type, std::string_view message);

}  // namespace tally::lambda

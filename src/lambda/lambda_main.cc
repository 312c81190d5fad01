// tally-lambda: the `bootstrap` of Tally's Lambda custom runtime.
//
// Init: settings from the environment (lambda_app.h), then the store; any
// failure is posted to /runtime/init/error and the process exits 1. Then the
// invocation loop: next → handle → response (or error for events that are
// not API Gateway's), then upkeep, forever. HTTP errors — 4xx, 503 when the
// store is down — are normal responses; the function stays alive.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "aws/aws_config.h"
#include "lambda/lambda_app.h"
#include "lambda/runtime_client.h"
#include "store/dynamodb/dynamodb_store.h"

namespace {

// Opens "dynamodb:TABLE" (the only store a Lambda can use: SQLite files do
// not survive the sandbox), with the AWS_* environment Lambda provides.
tally::Result<std::unique_ptr<tally::Store>> OpenDynamoDb(std::string_view spec) {
  constexpr std::string_view kScheme = "dynamodb:";
  if (spec.substr(0, kScheme.size()) != kScheme || spec.size() == kScheme.size()) {
    return tally::Status::InvalidArgument("the Lambda stores in DynamoDB: set TABLE_NAME");
  }
  auto config = tally::AwsConfig::FromEnvironment();
  if (!config.ok()) return config.status();
  auto store = tally::DynamoDbStore::Open(std::string(spec.substr(kScheme.size())),
                                          std::move(config).value());
  if (!store.ok()) return store.status();
  return std::unique_ptr<tally::Store>(std::move(store).value());
}

int Run() {
  const char* endpoint = std::getenv("AWS_LAMBDA_RUNTIME_API");
  if (endpoint == nullptr || *endpoint == '\0') {
    spdlog::error("AWS_LAMBDA_RUNTIME_API is not set: run me inside AWS Lambda");
    return 2;
  }
  tally::lambda::RuntimeClient runtime(endpoint);

  std::unique_ptr<tally::lambda::LambdaApp> app;
  tally::Status init = [&]() -> tally::Status {
    auto settings = tally::lambda::SettingsFromEnvironment();
    if (!settings.ok()) return settings.status();
    auto created = tally::lambda::LambdaApp::Create(*settings, OpenDynamoDb);
    if (!created.ok()) return created.status();
    app = std::move(created).value();
    return tally::Status::Ok();
  }();
  if (!init.ok()) {
    spdlog::error("init failed: {}", init.ToString());
    tally::Status posted = runtime.PostInitError("Runtime.InitError", init.ToString());
    if (!posted.ok()) spdlog::error("could not report the init error: {}", posted.ToString());
    return 1;
  }

  while (true) {
    auto invocation = runtime.Next();
    if (!invocation.ok()) {
      // The Runtime API is gone: the sandbox is shutting down.
      spdlog::error("{}", invocation.status().ToString());
      return 1;
    }
    if (!invocation->trace_id.empty()) {
      setenv("_X_AMZN_TRACE_ID", invocation->trace_id.c_str(), 1);
    } else {
      unsetenv("_X_AMZN_TRACE_ID");
    }
    auto result = app->HandleEvent(invocation->event);
    tally::Status posted;
    if (result.ok()) {
      posted = runtime.PostResponse(invocation->request_id, *result);
      if (posted.code() == tally::StatusCode::kInvalidArgument) {  // 413: too large
        posted = runtime.PostError(invocation->request_id, "Function.ResponseSizeTooLarge",
                                   posted.message());
      }
    } else {
      spdlog::warn("invocation {}: {}", invocation->request_id, result.status().ToString());
      posted = runtime.PostError(invocation->request_id, "InvalidEvent", result.status().message());
    }
    if (!posted.ok()) spdlog::error("{}", posted.ToString());
    app->Upkeep();
  }
}

}  // namespace

int main() {
  signal(SIGPIPE, SIG_IGN);
  // provided.al2023 may have no /usr/share/zoneinfo: the package brings its
  // own (deploy/aws/package.sh), which cctz finds through TZDIR.
  if (std::getenv("TZDIR") == nullptr) {
    if (const char* root = std::getenv("LAMBDA_TASK_ROOT"); root != nullptr) {
      std::string zoneinfo = std::string(root) + "/zoneinfo";
      if (access(zoneinfo.c_str(), R_OK) == 0) setenv("TZDIR", zoneinfo.c_str(), 1);
    }
  }
  // Lambda sends each line of stdout/stderr to CloudWatch Logs; no colours.
  spdlog::set_pattern("[%l] %v");
  return Run();
}

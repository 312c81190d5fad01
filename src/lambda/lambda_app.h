// LambdaApp: Tally's api wired for an AWS Lambda sandbox — the same parts as
// `tally serve` (src/cli/serve_command.cc), minus the HTTP server and the
// background threads that a frozen sandbox cannot run, plus the translation
// of API Gateway events.
//
// Thread safety: HandleEvent and Upkeep are called by the one invocation
// thread, one event at a time (Lambda never overlaps invocations in a
// sandbox); the counting service's writer thread answers hits meanwhile.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/api.h"
#include "api/bot_filter.h"
#include "api/rate_limiter.h"
#include "common/blocking_executor.h"
#include "common/clock.h"
#include "common/status.h"
#include "counting/counting_service.h"
#include "counting/visitor_hasher.h"

namespace tally::lambda {

struct LambdaSettings {
  std::string store_spec;          // "dynamodb:TABLE" in AWS
  std::string root_token;          // empty: root admin endpoints answer 401
  int rate_limit_per_minute = 60;  // per client, as tally serve; 0 = off
};

// Reads the settings from the environment: the store from TABLE_NAME
// (→ "dynamodb:TABLE"), else TALLY_STORE (any --store spec, for local runs);
// the root token from the SSM parameter named by TALLY_ADMIN_TOKEN_PARAMETER
// (GetParameter WithDecryption), else from TALLY_ADMIN_TOKEN; the rate limit
// from TALLY_RATE_LIMIT_PER_MINUTE. InvalidArgument if no store is named or
// a value is malformed; the SSM error if the parameter cannot be read.
Result<LambdaSettings> SettingsFromEnvironment();

// Opens the store a spec names. The function passes a DynamoDB-only opener
// (so the package carries no SQLite); tests may pass OpenStore.
using StoreOpener = std::function<Result<std::unique_ptr<Store>>(std::string_view spec)>;

class LambdaApp {
 public:
  // Opens the store with `open` and loads the sites and visitor salts. Any
  // failure is returned (the caller reports it to /runtime/init/error).
  static Result<std::unique_ptr<LambdaApp>> Create(const LambdaSettings& settings,
                                                   const StoreOpener& open);
  ~LambdaApp();  // commits what the counting service still holds

  // Handles one invocation: `event` is the event's JSON text. Returns the
  // JSON result for API Gateway — every HTTP outcome, errors included (a
  // store outage is a 503 response). InvalidArgument only if `event` is not
  // an API Gateway proxy event; then the caller posts an invocation error.
  Result<std::string> HandleEvent(std::string_view event);

  // Work to do between invocations (after the response is posted): reloads
  // the sites every few seconds, so that sites changed by other sandboxes
  // reach this one, and refreshes the visitor salts. Failures are logged.
  void Upkeep();

 private:
  explicit LambdaApp(std::unique_ptr<Store> store, const LambdaSettings& settings);

  std::unique_ptr<Store> store_;
  SystemClock clock_;
  SiteRegistry registry_;
  VisitorHasher visitors_;
  BotFilter bots_;
  RateLimiter rate_limiter_;
  Metrics metrics_;
  CountingService counting_;
  InlineExecutor blocking_;
  std::unique_ptr<Api> api_;
  std::chrono::steady_clock::time_point sites_loaded_;
  std::chrono::steady_clock::time_point salts_loaded_;
};

}  // namespace tally::lambda

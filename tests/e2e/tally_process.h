// Runs the real `tally` binary for process-level tests: `tally serve` as a
// child process on a loopback port and a fresh SQLite file, and one-shot CLI
// commands.
//
// Everything a child writes goes to files in the test's temp dir (the server
// to tally.log), which TallyServerTest prints when a test fails.
//
// Not thread-safe: one thread of the test drives a TallyProcess.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e/http_client.h"

namespace tally::e2e {

// The root token every test server gets (TALLY_ADMIN_TOKEN).
inline constexpr std::string_view kRootToken = "e2e-root-token-0123456789abcdef";

// Path of the tally binary under test (from the build).
std::string TallyBinary();

// A temp dir that is removed with everything in it when this goes away
// (unless TALLY_E2E_KEEP is set, for debugging).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct ServeOptions {
  // Replace the default `--listen 127.0.0.1:0 --store sqlite:DIR/tally.db`
  // (the --port-file flag is always passed).
  bool default_flags = true;
  std::vector<std::string> extra_args;
  // NAME=value entries added to the child's environment. TALLY_* variables of
  // the test's own environment are never passed on, so tests are hermetic.
  std::vector<std::string> env;
  bool with_root_token = true;
};

class TallyProcess {
 public:
  // Uses `dir` for the database, port file and log; it must outlive this.
  explicit TallyProcess(std::string dir);
  ~TallyProcess();  // SIGKILLs a child that is still running
  TallyProcess(const TallyProcess&) = delete;
  TallyProcess& operator=(const TallyProcess&) = delete;

  // Starts `tally serve` and waits until it wrote its port file and answers
  // /healthz (at most `timeout`). On failure the child is killed and the
  // reason is returned; "" on success.
  std::string Start(ServeOptions options = {},
                    std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // Starts again with the options of the last Start, on the same database.
  std::string Restart() { return Start(options_); }

  // SIGTERM, then waits for the exit. Returns the exit code, or -1 if the
  // child did not exit normally within `timeout` (it is SIGKILLed then).
  int Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Sends SIGTERM and returns at once; WaitExit() collects the exit code.
  void SendTerm();
  int WaitExit(std::chrono::milliseconds timeout);
  // SIGKILL and reap: the crash case.
  void Kill();

  bool running() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string db_path() const { return dir_ + "/tally.db"; }
  std::string log_path() const { return dir_ + "/tally.log"; }
  std::string Log() const;
  // Polls the log until it contains `text`; false after `timeout`.
  bool WaitForLog(std::string_view text, std::chrono::milliseconds timeout) const;

 private:
  std::string dir_;
  ServeOptions options_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

struct CliResult {
  int exit_code = -1;  // -1 if killed by a signal or timed out
  std::string out;
  std::string err;
};

// Runs `tally args...` in `dir` with `env` (NAME=value) added to a
// TALLY_*-free environment, and waits (at most `timeout`) for it to exit.
CliResult RunTally(const std::string& dir, const std::vector<std::string>& args,
                   const std::vector<std::string>& env = {},
                   std::chrono::milliseconds timeout = std::chrono::seconds(20));

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, std::string_view text);
// A port that was free a moment ago (bind to 0, read it, close).
uint16_t PickFreePort();

// The body as JSON, or a discarded value if it is not JSON.
nlohmann::json ParseJson(std::string_view body);
// Checks an error answer: `status`, JSON {"error":{"code":code,"message":...}}.
::testing::AssertionResult IsJsonError(const HttpResponse& response, int status,
                                       std::string_view code);
// The value of the sample `series` (e.g. `tally_hits_counted_total` or
// `tally_http_requests_total{route="hits",status="200"}`) in Prometheus text.
std::optional<double> MetricValue(std::string_view exposition, std::string_view series);

Headers RootAuth();
Headers Bearer(std::string_view token);

// A fixture with a running server on a fresh database; prints the server's
// log when a test fails.
class TallyServerTest : public ::testing::Test {
 protected:
  TallyServerTest() : server_(dir_.path()) {}
  void SetUp() override;
  void TearDown() override;

  uint16_t port() const { return server_.port(); }
  HttpResponse Call(std::string_view method, std::string_view target, const Headers& headers = {},
                    std::string_view body = {}) {
    return Fetch(port(), method, target, headers, body);
  }
  // Creates a site through POST /v1/sites and returns the 201 body (with
  // admin_token and public_key); fails the test otherwise.
  nlohmann::json CreateSite(const nlohmann::json& settings);
  // POST .../hits; returns the response.
  HttpResponse Hit(std::string_view site, std::string_view encoded_key,
                   const Headers& headers = {});
  // The counter's hits via the public read, or -1 if it cannot be read.
  int64_t ReadHits(std::string_view site, std::string_view encoded_key,
                   const Headers& headers = {});

  TempDir dir_;
  TallyProcess server_;
};

}  // namespace tally::e2e

// DynaliteProcess: a real DynamoDB API (npm `dynalite`) on a loopback port,
// started and stopped by the test, with its data in a temp dir so that it
// can be killed and started again on the same data.
//
// Also the helpers every DynamoDB test needs: the AwsConfig that points at
// it, a fresh table, a free port.
//
// Not thread-safe: one thread of the test drives a DynaliteProcess.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "aws/aws_config.h"
#include "common/status.h"
#include "store/dynamodb/dynamodb_client.h"

namespace tally::testing {

// tests/dynamodb in the source tree (where node_modules is).
std::string DynamoDbTestDir();

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeLoopbackPort();

class DynaliteProcess {
 public:
  DynaliteProcess();
  ~DynaliteProcess();  // kills dynalite and removes its data
  DynaliteProcess(const DynaliteProcess&) = delete;
  DynaliteProcess& operator=(const DynaliteProcess&) = delete;

  // Installs the npm tools if needed, starts dynalite and waits until it
  // answers (at most 20 s). "" on success, else what went wrong.
  std::string Start();
  // SIGKILL, as a crash or a network outage would look to the client.
  void Kill();
  // Starts again on the same port and data. "" on success.
  std::string Restart();

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Credentials and region for it (dynalite checks the format, not the keys).
  AwsConfig Config() const;
  // Exports the same as AWS_* variables into this process's environment,
  // for code that reads them (the store factory, child processes).
  void ExportEnvironment() const;

 private:
  std::string Spawn();
  pid_t pid_ = -1;
  int port_ = 0;
  std::string data_dir_;
  // dynalite's output, next to data_dir_; kept only when it failed to start,
  // since the error message points there.
  bool keep_log_ = false;
};

// Creates a table with a unique name in the Tally layout and waits until it
// is active. Returns its name, or a failed Status.
Result<std::string> CreateUniqueTable(const AwsConfig& config);

}  // namespace tally::testing

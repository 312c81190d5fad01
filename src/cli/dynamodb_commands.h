// `tally dynamodb ...`: operator commands for the DynamoDB backend.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace tally {

struct DynamoDbCommandArgs {
  std::string table;
};

// Adds `dynamodb create-table TABLE` under `app`, filling `args` when
// parsed. Returns the create-table subcommand (check ->parsed()).
CLI::App* AddDynamoDbCommands(CLI::App& app, DynamoDbCommandArgs& args);

// Creates the table (on-demand billing, TTL on `ttl`, the listing index)
// with the AWS_* environment and waits until it is ACTIVE; an existing
// table is accepted. Prints a JSON line on stdout; returns the exit code.
int RunDynamoDbCreateTable(const DynamoDbCommandArgs& args);

}  // namespace tally

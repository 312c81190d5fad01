#include "cli/dynamodb_commands.h"

#include <iostream>

#include <nlohmann/json.hpp>

#include "aws/aws_config.h"
#include "store/dynamodb/dynamodb_client.h"
#include "store/dynamodb/dynamodb_table.h"

namespace tally {

CLI::App* AddDynamoDbCommands(CLI::App& app, DynamoDbCommandArgs& args) {
  auto* dynamodb =
      app.add_subcommand("dynamodb",
                         "DynamoDB backend (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
                         "AWS_SESSION_TOKEN, AWS_ENDPOINT_URL_DYNAMODB)");
  dynamodb->require_subcommand(1);
  auto* create = dynamodb->add_subcommand(
      "create-table",
      "create the table for --store dynamodb:TABLE (on-demand, TTL on `ttl`); waits until active");
  create->add_option("table", args.table, "table name")->required();
  return create;
}

int RunDynamoDbCreateTable(const DynamoDbCommandArgs& args) {
  Result<AwsConfig> config = AwsConfig::FromEnvironment();
  if (!config.ok()) {
    std::cerr << "tally: " << config.status().message() << "\n";
    return 2;
  }
  DynamoDbClientOptions options;
  options.deadline = std::chrono::seconds(20);
  Result<std::unique_ptr<DynamoDbClient>> client = DynamoDbClient::Create(*config, options);
  if (!client.ok()) {
    std::cerr << "tally: " << client.status().message() << "\n";
    return 1;
  }
  Result<CreateTableReport> report = CreateTallyTable(**client, args.table);
  if (!report.ok()) {
    std::cerr << "tally: create-table " << args.table << ": " << report.status().message() << "\n";
    return 1;
  }
  if (!report->note.empty()) std::cerr << "tally: note: " << report->note << "\n";
  nlohmann::json out = {{"table", args.table},
                        {"status", "ACTIVE"},
                        {"created", report->created},
                        {"ttl", report->ttl_enabled ? "enabled" : "unsupported by endpoint"}};
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace tally

// `tally`: one binary for the server and its administration.
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "cli/config.h"
#include "cli/data_commands.h"
#include "cli/dynamodb_commands.h"
#include "cli/serve_command.h"
#include "cli/site_commands.h"

namespace {

constexpr const char* kDefaultStore = "sqlite:./data/tally.db";

// The flag's value if it was given on the command line.
std::optional<std::string> Given(const CLI::Option* option, const std::string& value) {
  if (option->count() > 0) return value;
  return std::nullopt;
}

}  // namespace

// An exception escaping main (out of memory, say) terminates the program,
// which is what it should do.
int main(int argc, char** argv) {  // NOLINT(bugprone-exception-escape): see above
  CLI::App app{
      "Tally: a visitor counter backend. A page calls its HTTP API when it loads; Tally counts "
      "the visit durably and answers with the new number.\n\n"
      "Settings: a flag beats its TALLY_* environment variable, which beats the config file, "
      "which beats the default."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tally 0.1.0");

  std::string config_path, store_flag;
  app.add_option("--config", config_path, "config file of `name = value` lines (env TALLY_CONFIG)");
  auto* store_opt = app.add_option(
      "--store", store_flag,
      "where counts live: sqlite:PATH (env TALLY_STORE, default sqlite:./data/tally.db)");

  // serve
  auto* serve = app.add_subcommand("serve", "run the HTTP server");
  serve->fallthrough();
  std::string listen, durability, token_file, port_file, threads;
  bool no_demo = false;
  auto* listen_opt = serve->add_option(
      "--listen", listen, "HOST:PORT to listen on (env TALLY_LISTEN, default 127.0.0.1:8080)");
  auto* durability_opt = serve->add_option(
      "--durability", durability,
      "strict: a hit is answered after it is on disk (fsync, default); relaxed: after the OS "
      "has it, synced within 1 s (env TALLY_DURABILITY)");
  auto* token_file_opt = serve->add_option(
      "--admin-token-file", token_file,
      "file holding the root admin token (env TALLY_ADMIN_TOKEN_FILE; or put the token itself "
      "in TALLY_ADMIN_TOKEN)");
  auto* threads_opt = serve->add_option(
      "--threads", threads, "network threads (env TALLY_THREADS, default: one per core)");
  serve->add_option("--port-file", port_file, "write the bound port to this file once listening");
  serve->add_flag("--no-demo-site", no_demo, "do not create the `demo` site on start");
  std::string trust_proxy, rate_limit, bot_patterns;
  auto* trust_proxy_opt = serve->add_option(
      "--trust-proxy", trust_proxy,
      "true: the client is the last X-Forwarded-For address (behind your own proxy or load "
      "balancer); false: the peer address (env TALLY_TRUST_PROXY, default false)");
  auto* rate_limit_opt = serve->add_option(
      "--rate-limit", rate_limit,
      "hits a client may count per site and minute unless the site sets its own; 0 = off "
      "(env TALLY_RATE_LIMIT, default 60)");
  auto* bot_patterns_opt = serve->add_option(
      "--bot-patterns", bot_patterns,
      "file of User-Agent substrings (one a line) whose hits are not counted; replaces the "
      "built-in list (env TALLY_BOT_PATTERNS)");

  // sites ...
  tally::SiteCommandArgs site_args;
  std::string require_key;
  auto* sites = app.add_subcommand("sites", "manage sites (straight on the store)");
  sites->require_subcommand(1);
  sites->fallthrough();
  auto add_settings = [&](CLI::App* cmd) {
    cmd->add_option("--origin", site_args.origins,
                    "allowed browser origin, repeatable: https://example.com, "
                    "https://*.example.com, http://localhost:* or *");
    cmd->add_option("--require-public-key", require_key, "true: public calls must send x-api-key")
        ->check(CLI::IsMember({"true", "false"}));
    cmd->add_option("--timezone", site_args.timezone, "IANA time zone of the site's days (UTC)");
  };
  auto* create = sites->add_subcommand("create", "create a site; prints its admin token once");
  create->add_option("name", site_args.name, "site name, e.g. example.com")->required();
  add_settings(create);
  auto* list = sites->add_subcommand("list", "list sites");
  auto* show = sites->add_subcommand("show", "show one site");
  show->add_option("name", site_args.name, "site name")->required();
  auto* update = sites->add_subcommand("update", "change a site's settings");
  update->add_option("name", site_args.name, "site name")->required();
  add_settings(update);
  auto* del = sites->add_subcommand("delete", "delete a site and all its counters");
  del->add_option("name", site_args.name, "site name")->required();
  for (auto* cmd : {create, list, show, update, del}) cmd->fallthrough();

  // tokens rotate
  auto* tokens = app.add_subcommand("tokens", "manage a site's secrets");
  tokens->require_subcommand(1);
  tokens->fallthrough();
  auto* rotate = tokens->add_subcommand(
      "rotate", "replace a site's admin token (or public key); the old one stops working");
  rotate->add_option("name", site_args.name, "site name")->required();
  rotate->add_option("--kind", site_args.kind, "admin (default) or public")
      ->check(CLI::IsMember({"admin", "public"}));
  rotate->fallthrough();

  // export / import
  tally::DataCommandArgs data_args;
  auto* export_cmd = app.add_subcommand("export", "write a site's counters and days as NDJSON");
  export_cmd->add_option("site", data_args.site, "site name")->required();
  export_cmd->add_option("--out", data_args.file, "file to write (default: standard output)");
  export_cmd->fallthrough();
  auto* import_cmd = app.add_subcommand(
      "import",
      "load NDJSON from `tally export` (or lines like {\"key\":\"/\",\"hits\":41000} to set "
      "starting values); creates the site if missing");
  import_cmd->add_option("file", data_args.file, "file to read, - for standard input")->required();
  import_cmd->add_option("--site", data_args.site, "import into this site instead of the file's");
  import_cmd->fallthrough();

  tally::DynamoDbCommandArgs dynamodb_args;
  auto* create_table = tally::AddDynamoDbCommands(app, dynamodb_args);

  CLI11_PARSE(app, argc, argv);
  if (create_table->parsed()) return tally::RunDynamoDbCreateTable(dynamodb_args);

  if (config_path.empty()) {
    if (const char* env = std::getenv("TALLY_CONFIG"); env != nullptr) config_path = env;
  }
  tally::ConfigFile config;
  if (!config_path.empty()) {
    auto loaded = tally::ConfigFile::Load(config_path);
    if (!loaded.ok()) {
      std::cerr << "tally: " << loaded.status().message() << "\n";
      return 2;
    }
    config = std::move(loaded).value();
  }
  std::string store = tally::ResolveSetting(Given(store_opt, store_flag), "TALLY_STORE", config,
                                            "store", kDefaultStore);

  if (serve->parsed()) {
    tally::ServeSettings s;
    s.store = store;
    s.listen = tally::ResolveSetting(Given(listen_opt, listen), "TALLY_LISTEN", config, "listen",
                                     "127.0.0.1:8080");
    s.durability = tally::ResolveSetting(Given(durability_opt, durability), "TALLY_DURABILITY",
                                         config, "durability", "strict");
    std::string threads_value =
        tally::ResolveSetting(Given(threads_opt, threads), "TALLY_THREADS", config, "threads", "0");
    try {
      s.threads = std::stoi(threads_value);
    } catch (const std::exception&) {
      std::cerr << "tally: --threads must be a number\n";
      return 2;
    }
    s.port_file = port_file;
    std::string trust = tally::ResolveSetting(Given(trust_proxy_opt, trust_proxy),
                                              "TALLY_TRUST_PROXY", config, "trust-proxy", "false");
    if (trust != "true" && trust != "false") {
      std::cerr << "tally: --trust-proxy must be true or false\n";
      return 2;
    }
    s.trust_proxy = trust == "true";
    std::string limit = tally::ResolveSetting(Given(rate_limit_opt, rate_limit), "TALLY_RATE_LIMIT",
                                              config, "rate-limit", "60");
    try {
      s.rate_limit_per_minute = std::stoi(limit);
    } catch (const std::exception&) {
      s.rate_limit_per_minute = -1;
    }
    if (s.rate_limit_per_minute < 0) {
      std::cerr << "tally: --rate-limit must be a number >= 0\n";
      return 2;
    }
    s.bot_patterns_file = tally::ResolveSetting(Given(bot_patterns_opt, bot_patterns),
                                                "TALLY_BOT_PATTERNS", config, "bot-patterns", "");
    s.demo_site = !no_demo;
    std::string token_path =
        tally::ResolveSetting(Given(token_file_opt, token_file), "TALLY_ADMIN_TOKEN_FILE", config,
                              "admin-token-file", "");
    if (!token_path.empty()) {
      auto token = tally::ReadSecretFile(token_path);
      if (!token.ok()) {
        std::cerr << "tally: " << token.status().message() << "\n";
        return 2;
      }
      s.root_token = std::move(token).value();
    } else if (const char* env = std::getenv("TALLY_ADMIN_TOKEN"); env != nullptr) {
      s.root_token = env;
    }
    if (!s.root_token.empty() && s.root_token.size() < 24) {
      std::cerr << "tally: the root token must be at least 24 characters (128 bits of "
                   "randomness, e.g. `openssl rand -base64 24`)\n";
      return 2;
    }
    return tally::RunServe(s);
  }

  data_args.store = store;
  if (export_cmd->parsed()) return tally::RunExport(data_args);
  if (import_cmd->parsed()) return tally::RunImport(data_args);

  site_args.store = store;
  if (!require_key.empty()) site_args.require_public_key = require_key == "true";
  if (create->parsed()) return tally::RunSitesCreate(site_args);
  if (list->parsed()) return tally::RunSitesList(site_args);
  if (show->parsed()) return tally::RunSitesShow(site_args);
  if (update->parsed()) return tally::RunSitesUpdate(site_args);
  if (del->parsed()) return tally::RunSitesDelete(site_args);
  if (rotate->parsed()) return tally::RunTokensRotate(site_args);
  return 2;
}

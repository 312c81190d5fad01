// The `tally` command line: site administration straight on a store file,
// help texts, and where settings come from (flag > env > config > default).
#include <gtest/gtest.h>

#include <fstream>

#include "e2e/tally_process.h"

namespace tally::e2e {
namespace {

using nlohmann::json;

class CliE2eTest : public ::testing::Test {
 protected:
  std::string Store() const { return "sqlite:" + dir_.path() + "/cli.db"; }
  CliResult Tally(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), {"--store", Store()});
    return RunTally(dir_.path(), args, env);
  }
  TempDir dir_;
};

TEST_F(CliE2eTest, HelpMentionsTheOptions) {
  CliResult help = RunTally(dir_.path(), {"--help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  for (const char* word : {"serve", "sites", "tokens", "--store", "--config"}) {
    EXPECT_NE(help.out.find(word), std::string::npos) << word << "\n" << help.out;
  }
  CliResult serve = RunTally(dir_.path(), {"serve", "--help"});
  EXPECT_EQ(serve.exit_code, 0) << serve.err;
  for (const char* word : {"--listen", "--durability", "strict", "relaxed", "--port-file",
                           "TALLY_LISTEN", "--admin-token-file"}) {
    EXPECT_NE(serve.out.find(word), std::string::npos) << word << "\n" << serve.out;
  }
  EXPECT_NE(RunTally(dir_.path(), {}).exit_code, 0);
  EXPECT_NE(RunTally(dir_.path(), {"frobnicate"}).exit_code, 0);
}

TEST_F(CliE2eTest, SitesLifecycle) {
  CliResult created = Tally({"sites", "create", "cli.example", "--origin", "https://cli.example",
                             "--origin", "https://*.cli.example", "--require-public-key", "true"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  json site = ParseJson(created.out);
  ASSERT_TRUE(site.is_object()) << created.out;
  EXPECT_EQ(site["site"], "cli.example");
  EXPECT_EQ(site["origins"], json::array({"https://cli.example", "https://*.cli.example"}));
  EXPECT_EQ(site["require_public_key"], true);
  ASSERT_TRUE(site["admin_token"].is_string());
  ASSERT_TRUE(site["public_key"].is_string());
  const std::string token = site["admin_token"];

  CliResult again = Tally({"sites", "create", "cli.example"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_FALSE(again.err.empty());
  EXPECT_NE(Tally({"sites", "create", "Bad_Name"}).exit_code, 0);
  EXPECT_NE(Tally({"sites", "create", "x.example", "--origin", "ftp://x"}).exit_code, 0);

  CliResult list = Tally({"sites", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  json sites = ParseJson(list.out);
  ASSERT_TRUE(sites.is_array()) << list.out;
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_EQ(sites[0]["site"], "cli.example");

  CliResult show = Tally({"sites", "show", "cli.example"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(ParseJson(show.out)["site"], "cli.example");
  // Secrets are printed once, at creation; never again.
  EXPECT_EQ(show.out.find(token), std::string::npos);
  EXPECT_EQ(list.out.find(token), std::string::npos);
  EXPECT_EQ(show.out.find("admin_token"), std::string::npos);
  EXPECT_NE(Tally({"sites", "show", "ghost.example"}).exit_code, 0);

  CliResult update =
      Tally({"sites", "update", "cli.example", "--origin", "*", "--require-public-key", "false"});
  ASSERT_EQ(update.exit_code, 0) << update.err;
  json updated = ParseJson(update.out);
  EXPECT_EQ(updated["origins"], json::array({"*"}));
  EXPECT_EQ(updated["require_public_key"], false);
  EXPECT_EQ(ParseJson(Tally({"sites", "show", "cli.example"}).out)["origins"], json::array({"*"}));
  EXPECT_NE(Tally({"sites", "update", "ghost.example", "--origin", "*"}).exit_code, 0);

  CliResult del = Tally({"sites", "delete", "cli.example"});
  EXPECT_EQ(del.exit_code, 0) << del.err;
  EXPECT_NE(Tally({"sites", "show", "cli.example"}).exit_code, 0);
  EXPECT_NE(Tally({"sites", "delete", "cli.example"}).exit_code, 0);
  EXPECT_EQ(ParseJson(Tally({"sites", "list"}).out), json::array());
}

TEST_F(CliE2eTest, CliChangesReachARunningServer) {
  CliResult created = Tally({"sites", "create", "live.example"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string first_token = ParseJson(created.out)["admin_token"];

  TallyProcess server(dir_.path());
  ServeOptions options;
  options.default_flags = false;
  options.extra_args = {"--listen", "127.0.0.1:0", "--store", Store()};
  ASSERT_EQ(server.Start(options), "") << server.Log();
  EXPECT_EQ(Fetch(server.port(), "GET", "/v1/sites/live.example", Bearer(first_token)).status, 200);

  CliResult rotated = Tally({"tokens", "rotate", "live.example"});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  const std::string second_token = ParseJson(rotated.out).value("admin_token", "");
  ASSERT_FALSE(second_token.empty()) << rotated.out;
  EXPECT_NE(second_token, first_token);
  // Admin calls read the site from the store, so the rotation is in force at once.
  EXPECT_EQ(Fetch(server.port(), "GET", "/v1/sites/live.example", Bearer(first_token)).status, 401);
  EXPECT_EQ(Fetch(server.port(), "GET", "/v1/sites/live.example", Bearer(second_token)).status,
            200);

  CliResult pk = Tally({"tokens", "rotate", "live.example", "--kind", "public"});
  ASSERT_EQ(pk.exit_code, 0) << pk.err;
  EXPECT_TRUE(ParseJson(pk.out)["public_key"].is_string());
  EXPECT_FALSE(ParseJson(pk.out).contains("admin_token"));
  EXPECT_NE(Tally({"tokens", "rotate", "live.example", "--kind", "root"}).exit_code, 0);
  EXPECT_NE(Tally({"tokens", "rotate", "ghost.example"}).exit_code, 0);
  EXPECT_EQ(server.Terminate(), 0);
}

TEST_F(CliE2eTest, StoreComesFromFlagThenEnvThenConfig) {
  const std::string flag_db = "sqlite:" + dir_.path() + "/flag.db";
  const std::string env_db = "sqlite:" + dir_.path() + "/env.db";
  const std::string cfg_db = "sqlite:" + dir_.path() + "/cfg.db";
  const std::string config = dir_.path() + "/tally.conf";
  WriteFile(config, "# test config\nstore = \"" + cfg_db + "\"\n");

  ASSERT_EQ(RunTally(dir_.path(), {"--config", config, "sites", "create", "cfg.example"}).exit_code,
            0);
  ASSERT_EQ(RunTally(dir_.path(), {"--config", config, "sites", "create", "env.example"},
                     {"TALLY_STORE=" + env_db})
                .exit_code,
            0);
  ASSERT_EQ(RunTally(dir_.path(),
                     {"--config", config, "--store", flag_db, "sites", "create", "flag.example"},
                     {"TALLY_STORE=" + env_db})
                .exit_code,
            0);
  auto names = [&](const std::string& store) {
    std::vector<std::string> out;
    for (const auto& s :
         ParseJson(RunTally(dir_.path(), {"--store", store, "sites", "list"}).out)) {
      out.push_back(s["site"]);
    }
    return out;
  };
  EXPECT_EQ(names(cfg_db), std::vector<std::string>{"cfg.example"});
  EXPECT_EQ(names(env_db), std::vector<std::string>{"env.example"});
  EXPECT_EQ(names(flag_db), std::vector<std::string>{"flag.example"});
  // TALLY_CONFIG names the config file too.
  CliResult via_env = RunTally(dir_.path(), {"sites", "list"}, {"TALLY_CONFIG=" + config});
  EXPECT_EQ(ParseJson(via_env.out).size(), 1u) << via_env.out << via_env.err;
  // Default: ./data/tally.db in the working directory.
  ASSERT_EQ(RunTally(dir_.path(), {"sites", "create", "default.example"}).exit_code, 0);
  EXPECT_EQ(names("sqlite:" + dir_.path() + "/data/tally.db"),
            std::vector<std::string>{"default.example"});
  // A config file that cannot be read is an error, not silently ignored.
  EXPECT_NE(
      RunTally(dir_.path(), {"--config", dir_.path() + "/missing.conf", "sites", "list"}).exit_code,
      0);
}

TEST_F(CliE2eTest, ServeListenComesFromFlagThenEnvThenConfig) {
  const uint16_t config_port = PickFreePort();
  const uint16_t env_port = PickFreePort();
  ASSERT_NE(config_port, env_port);
  const std::string config = dir_.path() + "/serve.conf";
  WriteFile(config, "listen = 127.0.0.1:" + std::to_string(config_port) +
                        "\nstore = sqlite:" + dir_.path() + "/serve.db\n");

  // Config file only: its listen and store are used.
  TallyProcess server(dir_.path());
  ServeOptions options;
  options.default_flags = false;
  options.extra_args = {"--config", config};
  ASSERT_EQ(server.Start(options), "") << server.Log();
  EXPECT_EQ(server.port(), config_port);
  EXPECT_EQ(server.Terminate(), 0);
  EXPECT_TRUE(std::ifstream(dir_.path() + "/serve.db").good());

  // The environment beats the file.
  options.env = {"TALLY_LISTEN=127.0.0.1:" + std::to_string(env_port)};
  ASSERT_EQ(server.Start(options), "") << server.Log();
  EXPECT_EQ(server.port(), env_port);
  EXPECT_EQ(server.Terminate(), 0);

  // The flag beats both.
  options.extra_args = {"--config", config, "--listen", "127.0.0.1:0"};
  ASSERT_EQ(server.Start(options), "") << server.Log();
  EXPECT_NE(server.port(), env_port);
  EXPECT_NE(server.port(), config_port);
  EXPECT_EQ(server.Terminate(), 0);
}

TEST_F(CliE2eTest, ServeRefusesBadSettings) {
  const std::string store = "sqlite:" + dir_.path() + "/bad.db";
  auto serve = [&](std::vector<std::string> args, const std::vector<std::string>& env,
                   const std::string& store_spec = "") {
    std::vector<std::string> all = {"serve", "--store", store_spec.empty() ? store : store_spec};
    all.insert(all.end(), args.begin(), args.end());
    return RunTally(dir_.path(), all, env, std::chrono::seconds(10));
  };
  // A short root token is refused rather than run with weak protection.
  EXPECT_EQ(serve({"--listen", "127.0.0.1:0"}, {"TALLY_ADMIN_TOKEN=short"}).exit_code, 2);
  EXPECT_EQ(serve({"--listen", "127.0.0.1:0", "--durability", "sometimes"}, {}).exit_code, 2);
  EXPECT_EQ(serve({"--listen", "nonsense"}, {}).exit_code, 2);
  EXPECT_NE(serve({"--listen", "127.0.0.1:0"}, {}, "nosuch:thing").exit_code, 0);
}

TEST_F(CliE2eTest, RootTokenFromFile) {
  const std::string token_file = dir_.path() + "/root.token";
  WriteFile(token_file, "file-root-token-0123456789abcdef\n");
  TallyProcess server(dir_.path());
  ServeOptions options;
  options.with_root_token = false;
  options.extra_args = {"--admin-token-file", token_file};
  ASSERT_EQ(server.Start(options), "") << server.Log();
  EXPECT_EQ(
      Fetch(server.port(), "GET", "/v1/sites", Bearer("file-root-token-0123456789abcdef")).status,
      200);
  EXPECT_EQ(Fetch(server.port(), "GET", "/v1/sites", RootAuth()).status, 401);
}

}  // namespace
}  // namespace tally::e2e

// The proof that the Lambda package works: the real zip, unpacked into an
// otherwise empty directory and run there with `unshare -r chroot` — so the
// host's libraries are out of reach — against our Runtime API emulator
// (runtime_api_emulator.js, which also plays SSM Parameter Store) with
// DynamoDB served by dynalite. The events are AWS's own samples
// (src/lambda/testdata) turned into Tally requests.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "aws/http_client.h"
#include "dynalite_process.h"
#include "lambda/test_events.h"

namespace tally::testing {
namespace {

using lambda::HttpEvent;
using lambda::RestEvent;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr char kRootToken[] = "root-token-from-ssm";
constexpr char kTokenParameter[] = "/tally/admin-token";

// One HTTP call to the emulator's control endpoints: {status, body}; status
// 0 if no answer came.
std::pair<long, std::string> Http(const std::string& url, const std::string* post = nullptr) {
  const size_t path_start = url.find('/', url.find("://") + 3);
  auto client = HttpClient::Create(url.substr(0, path_start));
  if (!client.ok()) return {0, client.status().message()};
  HttpRequest request;
  request.method = post != nullptr ? "POST" : "GET";
  request.target = url.substr(path_start);
  if (post != nullptr) request.body = *post;
  HttpResponse response =
      (*client)->Send(request, HttpClient::Clock::now() + std::chrono::seconds(60));
  if (!response.status.ok()) return {0, response.status.message()};
  return {response.code, response.body};
}

pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  return pid;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class LambdaPackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tally-lambda-pkg-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "root/var/task");
    ASSERT_EQ(std::system(("unzip -q " + std::string(TALLY_LAMBDA_ZIP) + " -d " +
                           (dir_ / "root/var/task").string())
                              .c_str()),
              0);
    ASSERT_EQ(dynalite_.Start(), "");
    auto table = CreateUniqueTable(dynalite_.Config());
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    table_ = *table;
    std::string port_file = (dir_ / "emulator.port").string();
    emulator_ =
        Spawn({"node", std::string(TALLY_LAMBDA_TEST_DIR) + "/runtime_api_emulator.js",
               "--port-file", port_file, "--ssm", std::string(kTokenParameter) + "=" + kRootToken,
               "--secret-key", dynalite_.Config().secret_access_key},
              {"PATH=/usr/bin:/bin"}, (dir_ / "emulator.log").string());
    for (int i = 0; i < 200 && !fs::exists(port_file); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(fs::exists(port_file)) << ReadFile((dir_ / "emulator.log").string());
    emulator_base_ = "http://127.0.0.1:" + ReadFile(port_file);
  }
  void TearDown() override {
    for (pid_t pid : {function_, emulator_}) {
      if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
    if (HasFailure()) {
      std::cerr << "function log:\n" << ReadFile((dir_ / "function.log").string()) << "\n";
    }
    fs::remove_all(dir_);
  }

  // Starts root/var/task/bootstrap inside the otherwise empty root, with the
  // environment Lambda gives a function plus the template's variables.
  void StartFunction(const std::string& token_parameter = kTokenParameter) {
    AwsConfig aws = dynalite_.Config();
    std::string runtime_api = emulator_base_.substr(std::string("http://").size());
    std::vector<std::string> env = {
        "AWS_LAMBDA_RUNTIME_API=" + runtime_api,
        "LAMBDA_TASK_ROOT=/var/task",
        "_HANDLER=bootstrap",
        "AWS_LAMBDA_FUNCTION_NAME=tally",
        "AWS_REGION=" + aws.region,
        "AWS_ACCESS_KEY_ID=" + aws.access_key_id,
        "AWS_SECRET_ACCESS_KEY=" + aws.secret_access_key,
        "AWS_SESSION_TOKEN=session-token-of-the-role",
        "AWS_ENDPOINT_URL_DYNAMODB=" + dynalite_.endpoint(),
        "AWS_ENDPOINT_URL_SSM=" + emulator_base_,
        "TABLE_NAME=" + table_,
        "TALLY_ADMIN_TOKEN_PARAMETER=" + token_parameter,
    };
    std::string chroot = fs::exists("/usr/sbin/chroot") ? "/usr/sbin/chroot" : "/usr/bin/chroot";
    function_ = Spawn({"unshare", "-r", chroot, (dir_ / "root").string(), "/var/task/bootstrap"},
                      env, (dir_ / "function.log").string());
  }

  json State() { return json::parse(Http(emulator_base_ + "/test/state").second); }

  // Sends `event` through the emulator and returns what the function posted.
  json Invoke(const std::string& event) {
    auto [status, body] = Http(emulator_base_ + "/test/invoke?timeout_ms=30000", &event);
    EXPECT_EQ(status, 200) << body;
    return status == 200 ? json::parse(body) : json();
  }
  // Invoke, expecting a /response; returns the API Gateway result.
  json Call(const std::string& event) {
    json r = Invoke(event);
    EXPECT_EQ(r.value("kind", ""), "response") << r.dump();
    return r.contains("body") ? json::parse(r["body"].get<std::string>()) : json();
  }
  static json Body(const json& result) { return json::parse(result["body"].get<std::string>()); }
  bool FunctionAlive() { return function_ > 0 && waitpid(function_, nullptr, WNOHANG) == 0; }

  fs::path dir_;
  DynaliteProcess dynalite_;
  std::string table_;
  pid_t emulator_ = -1;
  pid_t function_ = -1;
  std::string emulator_base_;
};

TEST_F(LambdaPackageTest, PackageHoldsOnlyWhatItNeeds) {
  fs::path task = dir_ / "root/var/task";
  EXPECT_TRUE(fs::is_regular_file(task / "bootstrap"));
  for (const auto& entry : fs::directory_iterator(task)) {
    std::string name = entry.path().filename();
    EXPECT_TRUE(name == "bootstrap" || name == "lib" || name == "zoneinfo") << name;
  }
  EXPECT_TRUE(fs::exists(task / "zoneinfo/Europe/Paris"));
  // Zone aliases are links to their zone, inside the package.
  EXPECT_TRUE(fs::is_symlink(task / "zoneinfo/US/Eastern"));
  EXPECT_TRUE(fs::is_regular_file(task / "zoneinfo/US/Eastern"));
  // The function opens DynamoDB only: no SQLite in the package, and no
  // libcurl with the protocol libraries it would drag in.
  EXPECT_FALSE(fs::exists(task / "lib/libsqlite3.so.0"));
  EXPECT_FALSE(fs::exists(task / "lib/libcurl.so.4"));
  // This zip is made from the test build's binary (-O2, shared OpenSSL, web
  // pages compiled in); deploy/aws/package.sh's own build (-Os, static
  // OpenSSL, no pages) is the one that meets the 5 MB target.
  EXPECT_LE(fs::file_size(TALLY_LAMBDA_ZIP), 7u * 1024 * 1024);
}

TEST_F(LambdaPackageTest, ServesApiGatewayEventsIsolated) {
  StartFunction();
  json created = Call(RestEvent(
      "POST", "/v1/sites", {}, {{"Authorization", std::string("Bearer ") + kRootToken}},
      R"({"site":"example.com","origins":["https://example.com"],"timezone":"Europe/Paris"})"));
  ASSERT_EQ(created["statusCode"], 201) << created.dump();
  json state = State();
  EXPECT_EQ(state["ssmCalls"], 1);
  EXPECT_EQ(state["violations"], json::array());
  // A zone known by an alias name (a link in the package's zoneinfo).
  json aliased = Call(RestEvent("POST", "/v1/sites", {},
                                {{"Authorization", std::string("Bearer ") + kRootToken}},
                                R"({"site":"alias.example.com","timezone":"US/Eastern"})"));
  EXPECT_EQ(aliased["statusCode"], 201) << aliased.dump();

  // Hit (REST API event), hit (HTTP API event), read.
  json hit = Call(RestEvent("POST", "/v1/sites/example.com/hits", {{"key", {"/"}}},
                            {{"Origin", "https://example.com"}}));
  ASSERT_EQ(hit["statusCode"], 200) << hit.dump();
  EXPECT_EQ(Body(hit)["hits"], 1);
  EXPECT_EQ(hit["multiValueHeaders"]["Access-Control-Allow-Origin"], json({"https://example.com"}));
  json hit2 = Call(HttpEvent("POST", "/v1/sites/example.com/hits", "key=%2F",
                             {{"origin", "https://example.com"}}));
  ASSERT_EQ(hit2["statusCode"], 200) << hit2.dump();
  EXPECT_EQ(Body(hit2)["hits"], 2);
  EXPECT_FALSE(hit2.contains("multiValueHeaders"));
  json read = Call(RestEvent("GET", "/v1/sites/example.com/counters", {{"key", {"/"}}}));
  EXPECT_EQ(Body(read)["hits"], 2);
  EXPECT_EQ(Body(read)["visitors"], 2);  // two source IPs

  // CORS preflight, without any key or token.
  json preflight = Call(
      RestEvent("OPTIONS", "/v1/sites/example.com/hits", {},
                {{"Origin", "https://example.com"}, {"Access-Control-Request-Method", "POST"}}));
  EXPECT_EQ(preflight["statusCode"], 204);
  EXPECT_EQ(preflight["headers"]["Access-Control-Allow-Origin"], "https://example.com");

  // Bad input and an unknown route are ordinary HTTP answers.
  json bad =
      Call(RestEvent("POST", "/v1/sites/example.com/hits", {{"key", {std::string("\x01")}}}));
  EXPECT_EQ(bad["statusCode"], 400) << bad.dump();
  json unknown = Call(HttpEvent("GET", "/v2/nothing", ""));
  EXPECT_EQ(unknown["statusCode"], 404);

  // An event that is not API Gateway's is an invocation error, and the
  // function carries on.
  json error = Invoke(R"({"Records":[{"eventSource":"aws:sqs"}]})");
  EXPECT_EQ(error["kind"], "error");
  EXPECT_EQ(error["errorType"], "InvalidEvent");
  EXPECT_EQ(json::parse(error["body"].get<std::string>())["errorType"], "InvalidEvent");
  EXPECT_EQ(Call(RestEvent("GET", "/healthz", {}))["statusCode"], 200);
  EXPECT_TRUE(FunctionAlive());
  EXPECT_EQ(State()["violations"], json::array());
}

TEST_F(LambdaPackageTest, StoreDownIs503AndFunctionStaysAlive) {
  StartFunction();
  json created = Call(RestEvent("POST", "/v1/sites", {},
                                {{"Authorization", std::string("Bearer ") + kRootToken}},
                                R"({"site":"example.com","origins":["*"]})"));
  ASSERT_EQ(created["statusCode"], 201) << created.dump();
  std::string hit = RestEvent("POST", "/v1/sites/example.com/hits", {{"key", {"/"}}});
  ASSERT_EQ(Call(hit)["statusCode"], 200);

  dynalite_.Kill();
  json down = Call(hit);
  EXPECT_EQ(down["statusCode"], 503) << down.dump();
  EXPECT_FALSE(down["headers"].value("Retry-After", "").empty()) << down.dump();
  EXPECT_TRUE(FunctionAlive());

  ASSERT_EQ(dynalite_.Restart(), "");
  json up = Call(hit);
  EXPECT_EQ(up["statusCode"], 200) << up.dump();
  EXPECT_EQ(Body(up)["hits"], 2);
  EXPECT_TRUE(FunctionAlive());
}

TEST_F(LambdaPackageTest, InitFailureIsPostedToInitError) {
  StartFunction("/tally/no-such-parameter");
  auto [status, body] = Http(emulator_base_ + "/test/init-error?timeout_ms=30000");
  ASSERT_EQ(status, 200) << body;
  json posted = json::parse(body);
  EXPECT_EQ(posted["errorType"], "Runtime.InitError");
  EXPECT_NE(posted["body"].get<std::string>().find("ParameterNotFound"), std::string::npos);
  int wstatus = 0;
  ASSERT_EQ(waitpid(function_, &wstatus, 0), function_);
  function_ = -1;
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0);
  json state = State();
  EXPECT_EQ(state["nextCalls"], 0);
  EXPECT_EQ(state["violations"], json::array());
}

TEST_F(LambdaPackageTest, HostLibrariesAreOutOfReach) {
  // Without its bundled libstdc++ the function cannot start: the chroot
  // really hides the host's copy (so the passing tests above used the
  // bundled ones).
  fs::remove(dir_ / "root/var/task/lib/libstdc++.so.6");
  StartFunction();
  int wstatus = 0;
  ASSERT_EQ(waitpid(function_, &wstatus, 0), function_);
  function_ = -1;
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0);
  EXPECT_NE(ReadFile((dir_ / "function.log").string()).find("libstdc++"), std::string::npos);
}

}  // namespace
}  // namespace tally::testing

#include "e2e/tally_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

extern char** environ;

namespace tally::e2e {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(10);

// The test's environment without TALLY_* (a developer's TALLY_STORE must not
// leak into a test), plus `extra`.
std::vector<std::string> ChildEnv(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "TALLY_", 6) != 0) env.emplace_back(*e);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Spawns `args` in `dir` with stdout to `out_path` and stderr to `err_path`
// (both appended; the same file is fine). Returns the pid or -1.
pid_t Spawn(const std::string& dir, std::vector<std::string> args, std::vector<std::string> env,
            const std::string& out_path, const std::string& err_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  if (err_path == out_path) {
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  } else {
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
  }
  // glibc 2.29+: the child starts in the test's temp dir, so relative paths
  // (the default ./data/tally.db) land there.
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  auto argv = CStrings(args);
  auto envp = CStrings(env);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Waits for `pid` to exit; returns its exit code, or -1 (signal, timeout:
// then it is SIGKILLed and reaped).
int Reap(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0) return -1;
    if (Clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

std::string TallyBinary() { return TALLY_BINARY; }

TempDir::TempDir() {
  std::string base = std::filesystem::temp_directory_path().string() + "/tally-e2e-XXXXXX";
  char* made = mkdtemp(base.data());
  if (made == nullptr) {
    std::cerr << "mkdtemp failed: " << std::strerror(errno) << "\n";
    std::abort();
  }
  path_ = made;
}

TempDir::~TempDir() {
  if (std::getenv("TALLY_E2E_KEEP") != nullptr) {
    std::cerr << "keeping " << path_ << "\n";
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

TallyProcess::TallyProcess(std::string dir) : dir_(std::move(dir)) {}

TallyProcess::~TallyProcess() { Kill(); }

std::string TallyProcess::Start(ServeOptions options, std::chrono::milliseconds timeout) {
  if (running()) return "already running";
  options_ = options;
  const std::string port_file = dir_ + "/port";
  std::filesystem::remove(port_file);
  std::vector<std::string> args = {TallyBinary(), "serve", "--port-file", port_file};
  if (options.default_flags) {
    args.insert(args.end(), {"--listen", "127.0.0.1:0", "--store", "sqlite:" + db_path()});
  }
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  std::vector<std::string> env = options.env;
  if (options.with_root_token) env.push_back("TALLY_ADMIN_TOKEN=" + std::string(kRootToken));
  {
    std::ofstream log(log_path(), std::ios::app);
    log << "---- tally serve started by the test ----\n";
  }
  pid_ = Spawn(dir_, args, ChildEnv(env), log_path(), log_path());
  if (pid_ < 0) return "cannot spawn " + TallyBinary();

  const auto deadline = Clock::now() + timeout;
  port_ = 0;
  while (Clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return "tally serve exited early with " +
             std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
    }
    if (port_ == 0) {
      // The server writes "PORT\n"; a file without the newline is half-written.
      std::string text = ReadFile(port_file);
      if (!text.empty() && text.back() == '\n') port_ = static_cast<uint16_t>(std::stoi(text));
    }
    if (port_ != 0) {
      HttpClient client(port_, std::chrono::seconds(2));
      if (client.Request("GET", "/healthz").status == 200) return "";
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  Kill();
  return "tally serve did not become healthy in time";
}

void TallyProcess::SendTerm() {
  if (running()) kill(pid_, SIGTERM);
}

int TallyProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (!running()) return -1;
  int code = Reap(pid_, timeout);
  pid_ = -1;
  return code;
}

int TallyProcess::Terminate(std::chrono::milliseconds timeout) {
  SendTerm();
  return WaitExit(timeout);
}

void TallyProcess::Kill() {
  if (!running()) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string TallyProcess::Log() const { return ReadFile(log_path()); }

bool TallyProcess::WaitForLog(std::string_view text, std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  do {
    if (Log().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(kPollInterval);
  } while (Clock::now() < deadline);
  return false;
}

CliResult RunTally(const std::string& dir, const std::vector<std::string>& args,
                   const std::vector<std::string>& env, std::chrono::milliseconds timeout) {
  static int counter = 0;
  const std::string stem = dir + "/cli-" + std::to_string(++counter);
  std::vector<std::string> argv = {TallyBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  CliResult result;
  pid_t pid = Spawn(dir, argv, ChildEnv(env), stem + ".out", stem + ".err");
  if (pid < 0) return result;
  result.exit_code = Reap(pid, timeout);
  result.out = ReadFile(stem + ".out");
  result.err = ReadFile(stem + ".err");
  return result;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

uint16_t PickFreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

nlohmann::json ParseJson(std::string_view body) {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

::testing::AssertionResult IsJsonError(const HttpResponse& response, int status,
                                       std::string_view code) {
  auto fail = [&](std::string_view why) {
    return ::testing::AssertionFailure() << why << "; expected " << status << " " << code
                                         << ", got " << response.status << " " << response.body;
  };
  if (response.status != status) return fail("wrong status");
  auto type = response.Header("Content-Type");
  if (!type || !type->starts_with("application/json")) return fail("not application/json");
  auto body = ParseJson(response.body);
  if (body.is_discarded()) return fail("body is not JSON");
  if (!body.is_object() || body.size() != 1 || !body.contains("error") ||
      !body["error"].is_object()) {
    return fail("not {\"error\":{...}}");
  }
  const auto& error = body["error"];
  if (!error.contains("code") || !error["code"].is_string()) return fail("no error.code");
  if (!error.contains("message") || !error["message"].is_string() ||
      error["message"].get<std::string>().empty()) {
    return fail("no error.message");
  }
  if (error["code"] != code) return fail("wrong error.code");
  return ::testing::AssertionSuccess();
}

std::optional<double> MetricValue(std::string_view exposition, std::string_view series) {
  size_t pos = 0;
  while (pos < exposition.size()) {
    size_t eol = exposition.find('\n', pos);
    std::string_view line = exposition.substr(pos, eol == std::string_view::npos ? eol : eol - pos);
    pos = eol == std::string_view::npos ? exposition.size() : eol + 1;
    if (line.size() > series.size() && line.starts_with(series) && line[series.size()] == ' ') {
      return std::stod(std::string(line.substr(series.size() + 1)));
    }
  }
  return std::nullopt;
}

Headers RootAuth() { return Bearer(kRootToken); }

Headers Bearer(std::string_view token) {
  return {{"Authorization", "Bearer " + std::string(token)}};
}

void TallyServerTest::SetUp() {
  std::string started = server_.Start();
  ASSERT_EQ(started, "") << server_.Log();
}

void TallyServerTest::TearDown() {
  if (HasFailure()) {
    std::cerr << "==== tally serve log (" << server_.log_path() << ") ====\n"
              << server_.Log() << "==== end of log ====\n";
  }
  server_.Kill();
}

nlohmann::json TallyServerTest::CreateSite(const nlohmann::json& settings) {
  HttpResponse created = Call("POST", "/v1/sites", RootAuth(), settings.dump());
  EXPECT_EQ(created.status, 201) << created.body;
  auto body = ParseJson(created.body);
  if (body.is_discarded() || !body.is_object()) return nlohmann::json::object();
  return body;
}

HttpResponse TallyServerTest::Hit(std::string_view site, std::string_view encoded_key,
                                  const Headers& headers) {
  return Call("POST", "/v1/sites/" + std::string(site) + "/hits?key=" + std::string(encoded_key),
              headers);
}

int64_t TallyServerTest::ReadHits(std::string_view site, std::string_view encoded_key,
                                  const Headers& headers) {
  HttpResponse read =
      Call("GET", "/v1/sites/" + std::string(site) + "/counters?key=" + std::string(encoded_key),
           headers);
  if (read.status != 200) return -1;
  auto body = ParseJson(read.body);
  if (!body.is_object() || !body.contains("hits") || !body["hits"].is_number_integer()) return -1;
  return body["hits"].get<int64_t>();
}

}  // namespace tally::e2e

#include "dynalite_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "store/dynamodb/dynamodb_table.h"

namespace tally::testing {

std::string DynamoDbTestDir() { return TALLY_DYNAMODB_TEST_DIR; }

int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

namespace {

bool Connectable(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

DynaliteProcess::DynaliteProcess() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "tally-dynalite-XXXXXX").string();
  if (mkdtemp(tmpl.data()) != nullptr) data_dir_ = tmpl;
}

DynaliteProcess::~DynaliteProcess() {
  Kill();
  if (data_dir_.empty()) return;
  std::error_code ignored;  // a destructor must not throw
  std::filesystem::remove_all(data_dir_, ignored);
  if (!keep_log_) std::filesystem::remove(data_dir_ + ".log", ignored);
}

std::string DynaliteProcess::Start() {
  const std::string install = DynamoDbTestDir() + "/install-npm-tools.sh";
  if (std::system(install.c_str()) != 0) return "could not install the npm tools: " + install;
  port_ = FreeLoopbackPort();
  return Spawn();
}

std::string DynaliteProcess::Restart() { return Spawn(); }

std::string DynaliteProcess::Spawn() {
  if (data_dir_.empty()) return "no temp dir";
  const std::string dynalite = DynamoDbTestDir() + "/node_modules/dynalite/cli.js";
  const std::string log = data_dir_ + ".log";
  pid_ = ::fork();
  if (pid_ < 0) return "fork failed";
  if (pid_ == 0) {
    FILE* out = std::freopen(log.c_str(), "a", stdout);
    (void)out;
    ::dup2(STDOUT_FILENO, STDERR_FILENO);
    const std::string port = std::to_string(port_);
    ::execlp("node", "node", dynalite.c_str(), "--host", "127.0.0.1", "--port", port.c_str(),
             "--path", data_dir_.c_str(), "--createTableMs", "50", "--deleteTableMs", "50",
             "--updateTableMs", "50", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < until) {
    if (Connectable(port_)) return "";
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      keep_log_ = true;
      return "dynalite exited at start; see " + log;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Kill();
  keep_log_ = true;
  return "dynalite did not listen within 20 s; see " + log;
}

void DynaliteProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

AwsConfig DynaliteProcess::Config() const {
  AwsConfig config;
  config.access_key_id = "AKIDEXAMPLE";
  config.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  config.region = "us-east-1";
  config.endpoint = endpoint();
  return config;
}

void DynaliteProcess::ExportEnvironment() const {
  AwsConfig c = Config();
  ::setenv("AWS_ACCESS_KEY_ID", c.access_key_id.c_str(), 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", c.secret_access_key.c_str(), 1);
  ::setenv("AWS_REGION", c.region.c_str(), 1);
  ::setenv("AWS_ENDPOINT_URL_DYNAMODB", c.endpoint.c_str(), 1);
  ::unsetenv("AWS_SESSION_TOKEN");
}

Result<std::string> CreateUniqueTable(const AwsConfig& config) {
  static std::atomic<int> n{0};
  const std::string table =
      "tally-test-" + std::to_string(::getpid()) + "-" + std::to_string(n.fetch_add(1));
  Result<std::unique_ptr<DynamoDbClient>> client = DynamoDbClient::Create(config);
  if (!client.ok()) return client.status();
  Result<CreateTableReport> report = CreateTallyTable(**client, table, std::chrono::seconds(30));
  if (!report.ok()) return report.status();
  return table;
}

}  // namespace tally::testing

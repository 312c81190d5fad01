// Issue 3, point 6 over real HTTP against a real `tally serve` and SQLite
// file: live counts as Server-Sent Events, the per-client cap, and no leak
// when thousands of clients open streams and vanish in every way a TCP
// client can (clean close, reset, half-close, gone before the answer).
#include <gtest/gtest.h>

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "e2e/tally_process.h"

namespace tally::e2e {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kSite[] = "live.example";

int ConnectLoopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

std::string StreamRequest(const std::string& key, const std::string& client_ip) {
  return "GET /v1/sites/" + std::string(kSite) + "/stream?key=" + key +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nX-Forwarded-For: " +
         client_ip + "\r\n\r\n";
}

bool SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// One live stream, read as raw bytes: the response head, then events (the
// body has no framing: it ends with the connection).
class SseClient {
 public:
  SseClient(uint16_t port, const std::string& key, const std::string& client_ip) {
    fd_ = ConnectLoopback(port);
    if (fd_ >= 0 && !SendAll(fd_, StreamRequest(key, client_ip))) Close();
  }
  ~SseClient() { Close(); }
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Reads the response head; returns the status (0 on failure). The head
  // stays in head().
  int ReadHead(milliseconds timeout = milliseconds(5000)) {
    const auto deadline = Clock::now() + timeout;
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(deadline)) return 0;
    }
    head_ = buffer_.substr(0, end + 2);
    buffer_.erase(0, end + 4);
    if (head_.size() < 12 || !head_.starts_with("HTTP/1.1 ")) return 0;
    return std::stoi(head_.substr(9, 3));
  }

  // The next complete event block ("...\n\n"), or "" on timeout / EOF.
  std::string NextBlock(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    size_t end;
    while ((end = buffer_.find("\n\n")) == std::string::npos) {
      if (!Fill(deadline)) return "";
    }
    std::string block = buffer_.substr(0, end + 2);
    buffer_.erase(0, end + 2);
    return block;
  }

  // The data of the next `count` event (skipping retry: and comments), or a
  // discarded value on timeout.
  json NextCount(milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return json(json::value_t::discarded);
      std::string block = NextBlock(left);
      if (block.empty()) return json(json::value_t::discarded);
      if (!block.starts_with("event: count\n")) continue;
      size_t data = block.find("data: ");
      if (data == std::string::npos) return json(json::value_t::discarded);
      return ParseJson(std::string_view(block).substr(data + 6, block.find('\n', data) - data - 6));
    }
  }

  const std::string& head() const { return head_; }
  const std::string& pending() const { return buffer_; }
  int fd() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  bool Fill(Clock::time_point deadline) {
    if (fd_ < 0) return false;
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd_, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
  std::string head_;
};

// The pid of the `tally serve` this test process started (its only child
// at the time), found through /proc; -1 if none.
pid_t ServerPid() {
  const pid_t self = ::getpid();
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return -1;
  pid_t found = -1;
  while (dirent* entry = ::readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::string stat = ReadFile(std::string("/proc/") + entry->d_name + "/stat");
    // pid (comm) state ppid ...
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    int ppid = 0;
    char state = 0;
    if (std::sscanf(stat.c_str() + paren + 1, " %c %d", &state, &ppid) != 2) continue;
    std::string cmdline = ReadFile(std::string("/proc/") + entry->d_name + "/cmdline");
    if (ppid == self && cmdline.find("serve") != std::string::npos) {
      found = static_cast<pid_t>(std::atoi(entry->d_name));
      break;
    }
  }
  ::closedir(proc);
  return found;
}

// The descriptors of `pid`: those of the SQLite files (a bounded pool of
// reader connections that grows with concurrent reads) and all others
// (sockets, pipes, event and timer fds), where a leak would show.
struct Fds {
  int sqlite = 0;
  int other = 0;
};

Fds OpenFds(pid_t pid) {
  const std::string base = "/proc/" + std::to_string(pid) + "/fd";
  Fds fds;
  DIR* dir = ::opendir(base.c_str());
  if (dir == nullptr) return {-1, -1};
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    char target[512] = {};
    // If it fails (the descriptor just closed), target stays empty: "other".
    (void)::readlink((base + "/" + entry->d_name).c_str(), target, sizeof target - 1);
    if (std::string_view(target).find("/tally.db") != std::string_view::npos) {
      ++fds.sqlite;
    } else {
      ++fds.other;
    }
  }
  ::closedir(dir);
  return fds;
}

// What the descriptors of `pid` point at, one a line, for failure messages.
std::string FdTargets(pid_t pid) {
  const std::string base = "/proc/" + std::to_string(pid) + "/fd";
  std::string out;
  DIR* dir = ::opendir(base.c_str());
  if (dir == nullptr) return out;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    char target[512] = {};
    ssize_t n = ::readlink((base + "/" + entry->d_name).c_str(), target, sizeof target - 1);
    out.append(entry->d_name).append(" -> ").append(n > 0 ? target : "?").append("\n");
  }
  ::closedir(dir);
  return out;
}

// Resident memory in KiB, from /proc/PID/status.
long RssKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return -1;
}

class StreamE2eTest : public TallyServerTest {
 protected:
  void SetUp() override {
    // Enough descriptors for the leak test, in this process and (inherited)
    // in the server.
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < 8192) {
      limit.rlim_cur = std::min<rlim_t>(8192, limit.rlim_max);
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    ServeOptions options;
    options.extra_args = {"--trust-proxy", "true"};
    ASSERT_EQ(server_.Start(options), "") << server_.Log();
    json site = CreateSite({{"site", kSite}, {"origins", {"https://live.example"}}});
    ASSERT_TRUE(site.contains("admin_token")) << site.dump();
  }

  std::optional<double> Metric(std::string_view series) {
    HttpResponse r = Call("GET", "/metrics");
    if (r.status != 200) return std::nullopt;
    return MetricValue(r.body, series);
  }

  // Polls until `done` or `timeout`.
  template <typename F>
  bool PollUntil(F done, milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return true;
  }
};

TEST_F(StreamE2eTest, FirstEventHasTheCountAndHitsArriveWithinASecond) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Hit(kSite, "/live").status, 200);
  SseClient stream(port(), "/live", "198.51.100.1");
  ASSERT_TRUE(stream.ok());
  ASSERT_EQ(stream.ReadHead(), 200) << stream.head();
  EXPECT_NE(stream.head().find("Content-Type: text/event-stream"), std::string::npos)
      << stream.head();
  EXPECT_NE(stream.head().find("Cache-Control: no-cache"), std::string::npos) << stream.head();
  std::string first = stream.NextBlock(milliseconds(2000));
  EXPECT_TRUE(first.starts_with("retry: ")) << first;
  json initial = stream.NextCount(milliseconds(2000));
  ASSERT_TRUE(initial.is_object()) << stream.pending();
  EXPECT_EQ(initial["site"], kSite);
  EXPECT_EQ(initial["key"], "/live");
  EXPECT_EQ(initial["hits"], 3);
  EXPECT_EQ(initial["today"]["hits"], 3);

  // One hit: its number arrives within about a second.
  auto sent = Clock::now();
  ASSERT_EQ(Hit(kSite, "/live").status, 200);
  json next = stream.NextCount(milliseconds(1500));
  auto took = Clock::now() - sent;
  ASSERT_TRUE(next.is_object()) << "no event after a hit";
  EXPECT_EQ(next["hits"], 4);
  EXPECT_LT(took, milliseconds(1100));

  // A burst is coalesced: at most a few events a second, the last one exact.
  const auto burst_start = Clock::now();
  for (int i = 0; i < 40; ++i) ASSERT_EQ(Hit(kSite, "/live").status, 200);
  int events = 0;
  json last;
  while (!last.is_object() || last["hits"] != 44) {
    last = stream.NextCount(milliseconds(1500));
    ASSERT_TRUE(last.is_object()) << "the final count never arrived";
    ++events;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - burst_start).count();
  EXPECT_LE(events, 4 * seconds + 2) << events << " events in " << seconds << " s";
  EXPECT_LT(events, 40) << "40 hits must not become 40 events";

  // Another counter's hits do not show up here.
  ASSERT_EQ(Hit(kSite, "/elsewhere").status, 200);
  EXPECT_TRUE(stream.NextCount(milliseconds(600)).is_discarded());
}

TEST_F(StreamE2eTest, StreamErrors) {
  HttpResponse r = Call("GET", "/v1/sites/nope.example/stream?key=/");
  EXPECT_TRUE(IsJsonError(r, 404, "site_not_found"));
  EXPECT_TRUE(IsJsonError(Call("GET", std::string("/v1/sites/") + kSite + "/stream?key="), 400,
                          "invalid_key"));
  EXPECT_EQ(Call("POST", std::string("/v1/sites/") + kSite + "/stream").status, 405);
  EXPECT_EQ(Call("GET", std::string("/v1/sites/") + kSite + "/stream?key=/",
                 {{"Origin", "https://evil.example"}})
                .status,
            403);
}

TEST_F(StreamE2eTest, PerClientCapAnswers429) {
  std::vector<std::unique_ptr<SseClient>> streams;
  for (int i = 0; i < 16; ++i) {
    streams.push_back(std::make_unique<SseClient>(port(), "/cap", "198.51.100.7"));
    ASSERT_EQ(streams.back()->ReadHead(), 200) << i << " " << streams.back()->head();
  }
  HttpResponse over = Call("GET", std::string("/v1/sites/") + kSite + "/stream?key=/cap",
                           {{"X-Forwarded-For", "198.51.100.7"}});
  EXPECT_TRUE(IsJsonError(over, 429, "too_many_streams"));
  EXPECT_TRUE(over.HasHeader("Retry-After"));
  // Other clients are not affected.
  SseClient other(port(), "/cap", "198.51.100.8");
  EXPECT_EQ(other.ReadHead(), 200);
  EXPECT_EQ(Metric("tally_open_streams").value_or(-1), 17);
  // A closed stream frees its place.
  streams.pop_back();
  EXPECT_TRUE(PollUntil(
      [&] {
        SseClient again(port(), "/cap", "198.51.100.7");
        return again.ReadHead() == 200;
      },
      milliseconds(3000)));
}

// How a client leaves its stream.
enum class Leave { kClose, kReset, kHalfClose, kBeforeAnswer };

TEST_F(StreamE2eTest, ThousandsOfAbandonedStreamsLeakNothing) {
  const pid_t pid = ServerPid();
  ASSERT_GT(pid, 0);
  ASSERT_EQ(Metric("tally_open_streams").value_or(-1), 0);
  // An upper bound: a connection of the fixture's set-up may still be
  // closing when this is read (seen under load: baseline 2, then 1), so
  // "back to where it was" below means "not above it".
  const double base_connections = Metric("tally_open_connections").value_or(-1);
  const Fds start_fds = OpenFds(pid);
  ASSERT_GT(start_fds.other, 0);
  const std::string start_fd_targets = FdTargets(pid);
  const long base_rss = RssKib(pid);
  // Memory is also compared with what it was after the first wave: pools
  // that grow on demand up to a fixed size (malloc arenas, SQLite's reader
  // connections and caches) are full by then; what grows after that leaks.

  constexpr int kWaves = 6;
  constexpr int kPerWave = 500;
  long warm_rss = -1;
  int streams_seen = 0;
  for (int wave = 0; wave < kWaves; ++wave) {
    struct Open {
      int fd;
      Leave leave;
    };
    std::vector<Open> open;
    open.reserve(kPerWave);
    std::string burst;
    for (int i = 0; i < kPerWave; ++i) {
      int fd = ConnectLoopback(port());
      ASSERT_GE(fd, 0) << "wave " << wave << " stream " << i << ": " << std::strerror(errno);
      // Distinct clients (at most 16 streams each), counters shared by many.
      int n = wave * kPerWave + i;
      std::string ip = "10.0." + std::to_string(n / 250) + "." + std::to_string(n % 250 + 1);
      ASSERT_TRUE(SendAll(fd, StreamRequest("/k" + std::to_string(i % 7), ip)));
      open.push_back({fd, static_cast<Leave>(i % 4)});
    }
    // Everyone but the impatient waits for the answer and the first event.
    for (Open& o : open) {
      if (o.leave == Leave::kBeforeAnswer) {
        ::close(o.fd);
        o.fd = -1;
      }
    }
    for (Open& o : open) {
      if (o.fd < 0) continue;
      std::string got;
      const auto deadline = Clock::now() + milliseconds(10000);
      while (got.find("event: count") == std::string::npos && Clock::now() < deadline) {
        pollfd p{o.fd, POLLIN, 0};
        if (::poll(&p, 1, 1000) <= 0) continue;
        char chunk[2048];
        ssize_t n = ::recv(o.fd, chunk, sizeof chunk, 0);
        if (n <= 0) break;
        got.append(chunk, static_cast<size_t>(n));
      }
      ASSERT_TRUE(got.starts_with("HTTP/1.1 200")) << "wave " << wave << ": " << got;
      ASSERT_NE(got.find("event: count"), std::string::npos) << got;
      ++streams_seen;
    }
    // While they are open the server counts them (the impatient ones may
    // already be gone).
    double live = Metric("tally_open_streams").value_or(-1);
    EXPECT_GE(live, kPerWave * 0.75) << "wave " << wave;
    // Some hits, so the hub has events to push at the leaving streams.
    for (int k = 0; k < 7; ++k) Hit(kSite, "/k" + std::to_string(k));
    // Leave.
    for (Open& o : open) {
      if (o.fd < 0) continue;
      switch (o.leave) {
        case Leave::kClose:
          ::close(o.fd);
          o.fd = -1;
          break;
        case Leave::kReset: {
          linger l{1, 0};  // close() sends RST instead of FIN
          ::setsockopt(o.fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
          ::close(o.fd);
          o.fd = -1;
          break;
        }
        case Leave::kHalfClose:
          // FIN sent, still able to receive: the socket stays open here.
          ::shutdown(o.fd, SHUT_WR);
          break;
        case Leave::kBeforeAnswer:
          break;
      }
    }
    // The half-closed ones: the server must drop them without our help...
    bool dropped = PollUntil([&] { return Metric("tally_open_streams").value_or(-1) == 0; },
                             milliseconds(5000));
    EXPECT_TRUE(dropped) << "wave " << wave
                         << ": streams still open: " << Metric("tally_open_streams").value_or(-1);
    // ...and then we close our ends too.
    for (Open& o : open) {
      if (o.fd >= 0) ::close(o.fd);
    }
    if (wave == 0) {
      warm_rss = RssKib(pid);
      ASSERT_TRUE(PollUntil(
          [&] {
            double open = Metric("tally_open_connections").value_or(-1);
            return open >= 0 && open <= base_connections;
          },
          milliseconds(5000)));
    }
  }
  EXPECT_EQ(streams_seen, kWaves * kPerWave * 3 / 4);

  // Everything returns to where it was.
  EXPECT_TRUE(PollUntil([&] { return Metric("tally_open_streams").value_or(-1) == 0; },
                        milliseconds(5000)));
  EXPECT_TRUE(PollUntil(
      [&] {
        double open = Metric("tally_open_connections").value_or(-1);
        return open >= 0 && open <= base_connections;
      },
      milliseconds(5000)))
      << "open connections " << Metric("tally_open_connections").value_or(-1) << ", baseline "
      << base_connections;
  Fds fds;
  EXPECT_TRUE(PollUntil(
      [&] {
        fds = OpenFds(pid);
        return std::abs(fds.other - start_fds.other) <= 5;
      },
      milliseconds(5000)))
      << "server descriptors other than SQLite's: " << fds.other << ", at the start "
      << start_fds.other << "\nat the start:\n"
      << start_fd_targets << "now:\n"
      << FdTargets(pid);
  // SQLite's: the writer and at most one reader per blocking thread (4), each
  // with the database and the WAL, plus the shared memory file, plus the
  // store's own descriptor of the WAL for Sync().
  EXPECT_LE(fds.sqlite, 2 * (1 + 4) + 1 + 1) << FdTargets(pid);
  const long rss = RssKib(pid);
  std::cout << "[ rss KiB ] start " << base_rss << ", after the first wave " << warm_rss
            << ", at the end " << rss << "\n";
  EXPECT_LE(rss, base_rss + 20L * 1024) << "resident memory grew by more than 20 MiB";
  EXPECT_LE(rss, warm_rss + 8L * 1024) << "memory keeps growing wave after wave";

  // And the server still serves streams.
  SseClient after(port(), "/k0", "198.51.100.99");
  ASSERT_EQ(after.ReadHead(), 200);
  EXPECT_TRUE(after.NextCount(milliseconds(2000)).is_object());
}

}  // namespace
}  // namespace tally::e2e

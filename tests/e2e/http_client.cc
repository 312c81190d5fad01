#include "e2e/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace tally::e2e {
namespace {

using Clock = std::chrono::steady_clock;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return v;
  }
  return std::nullopt;
}

HttpClient::HttpClient(uint16_t port, std::chrono::milliseconds timeout)
    : port_(port), timeout_(timeout) {}

HttpClient::~HttpClient() { Close(); }

bool HttpClient::Connect() {
  if (fd_ >= 0) return true;
  buffer_.clear();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    Close();
    return false;
  }
  // Tests send small requests and wait for answers; Nagle would only add delay.
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return true;
}

void HttpClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

bool HttpClient::SendRaw(std::string_view bytes) {
  if (fd_ < 0) return false;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool HttpClient::Fill(Clock::time_point deadline) {
  if (fd_ < 0) {
    error_ = ReadError::kClosed;
    return false;
  }
  pollfd p{fd_, POLLIN, 0};
  int ready = ::poll(&p, 1, MillisLeft(deadline));
  if (ready == 0) {
    error_ = ReadError::kTimeout;
    return false;
  }
  if (ready < 0) {
    if (errno == EINTR) return true;
    error_ = ReadError::kClosed;
    return false;
  }
  char chunk[16384];
  ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) {
    if (n < 0 && errno == EINTR) return true;
    error_ = ReadError::kClosed;
    return false;
  }
  buffer_.append(chunk, static_cast<size_t>(n));
  return true;
}

bool HttpClient::FillTo(size_t n, Clock::time_point deadline) {
  while (buffer_.size() < n) {
    if (!Fill(deadline)) return false;
  }
  return true;
}

std::optional<HttpResponse> HttpClient::Fail(ReadError error) {
  error_ = error;
  return std::nullopt;
}

std::optional<HttpResponse> HttpClient::ReadResponse(bool head_request) {
  error_ = ReadError::kNone;
  const auto deadline = Clock::now() + timeout_;
  size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(deadline)) return std::nullopt;
  }
  std::string_view head(buffer_.data(), header_end);
  HttpResponse response;

  // Status line: HTTP/1.1 200 OK
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) {
    return Fail(ReadError::kMalformed);
  }
  auto [p, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, response.status);
  if (ec != std::errc() || p != status_line.data() + 12) return Fail(ReadError::kMalformed);
  response.reason = std::string(Trim(status_line.substr(12)));

  std::string_view rest = eol == std::string_view::npos ? "" : head.substr(eol + 2);
  while (!rest.empty()) {
    size_t e = rest.find("\r\n");
    std::string_view line = rest.substr(0, e);
    rest = e == std::string_view::npos ? "" : rest.substr(e + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Fail(ReadError::kMalformed);
    response.headers.emplace_back(std::string(line.substr(0, colon)),
                                  std::string(Trim(line.substr(colon + 1))));
  }
  buffer_.erase(0, header_end + 4);

  // Body framing, RFC 9112 section 6.3.
  const bool no_body = head_request || response.status == 204 || response.status == 304 ||
                       (response.status >= 100 && response.status < 200);
  if (no_body) return response;
  auto te = response.Header("Transfer-Encoding");
  if (te && EqualsIgnoreCase(*te, "chunked")) {
    for (;;) {
      size_t line_end;
      while ((line_end = buffer_.find("\r\n")) == std::string::npos) {
        if (!Fill(deadline)) return std::nullopt;
      }
      size_t size = 0;
      auto [q, e] = std::from_chars(buffer_.data(), buffer_.data() + line_end, size, 16);
      if (e != std::errc() || q == buffer_.data()) return Fail(ReadError::kMalformed);
      buffer_.erase(0, line_end + 2);
      if (size == 0) {
        // Trailers (none expected) end with an empty line.
        size_t end;
        while ((end = buffer_.find("\r\n")) == std::string::npos) {
          if (!Fill(deadline)) return std::nullopt;
        }
        buffer_.erase(0, end + 2);
        return response;
      }
      if (!FillTo(size + 2, deadline)) return std::nullopt;
      response.body.append(buffer_, 0, size);
      buffer_.erase(0, size + 2);
    }
  }
  if (auto cl = response.Header("Content-Length")) {
    size_t length = 0;
    const std::string& text = *cl;
    auto [q, e] = std::from_chars(text.data(), text.data() + text.size(), length);
    if (e != std::errc() || q != text.data() + text.size()) return Fail(ReadError::kMalformed);
    if (!FillTo(length, deadline)) return std::nullopt;
    response.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return response;
  }
  // Neither: the body runs to the end of the connection.
  while (Fill(deadline)) {
  }
  if (error_ == ReadError::kTimeout) return std::nullopt;
  error_ = ReadError::kNone;
  response.body = std::move(buffer_);
  Close();
  return response;
}

bool HttpClient::WaitForClose(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Fill(deadline)) {
  }
  return error_ == ReadError::kClosed;
}

HttpResponse HttpClient::Request(std::string_view method, std::string_view target,
                                 const Headers& headers, std::string_view body) {
  HttpResponse failed;
  if (!Connect()) {
    failed.reason = "connect failed";
    return failed;
  }
  std::string out;
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  for (const auto& [name, value] : headers)
    out.append(name).append(": ").append(value).append("\r\n");
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  out.append("\r\n").append(body);
  if (!SendRaw(out)) {
    Close();
    failed.reason = "send failed";
    return failed;
  }
  auto response = ReadResponse(method == "HEAD");
  if (!response) {
    failed.reason = error_ == ReadError::kTimeout  ? "timeout"
                    : error_ == ReadError::kClosed ? "connection closed"
                                                   : "malformed response";
    Close();
    return failed;
  }
  auto connection = response->Header("Connection");
  if (connection && EqualsIgnoreCase(*connection, "close")) Close();
  return std::move(*response);
}

HttpResponse Fetch(uint16_t port, std::string_view method, std::string_view target,
                   const Headers& headers, std::string_view body) {
  HttpClient client(port);
  return client.Request(method, target, headers, body);
}

}  // namespace tally::e2e

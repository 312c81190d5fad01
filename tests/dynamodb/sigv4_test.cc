// Our signed DynamoDB request (aws/sigv4.h, through DynamoDbClient) against the AWS
// SDK for JavaScript's own signer (@smithy/signature-v4): for the same
// request, keys, session token and time, the Authorization headers must be
// equal. The request is captured by a loopback listener of the test's own.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dynalite_process.h"
#include "store/dynamodb/dynamodb_client.h"

namespace tally {
namespace {

struct CapturedRequest {
  std::string request_line;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Accepts one connection on `listener`, reads one request, answers `{}`.
CapturedRequest ServeOne(int listener) {
  CapturedRequest captured;
  int fd = ::accept(listener, nullptr, nullptr);
  if (fd < 0) return captured;
  std::string data;
  char buf[4096];
  size_t header_end = std::string::npos;
  size_t content_length = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (header_end == std::string::npos) {
      header_end = data.find("\r\n\r\n");
      if (header_end == std::string::npos) continue;
      std::istringstream lines(data.substr(0, header_end));
      std::string line;
      std::getline(lines, captured.request_line);
      while (std::getline(lines, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        captured.headers[name] = value;
      }
      content_length = std::stoul(captured.headers["content-length"]);
      if (captured.headers.count("expect")) {
        const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
        (void)!::write(fd, kContinue, sizeof kContinue - 1);
      }
    }
    if (data.size() >= header_end + 4 + content_length) break;
  }
  captured.body = data.substr(header_end + 4, content_length);
  const char kAnswer[] =
      "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\n"
      "Connection: close\r\n\r\n{}";
  (void)!::write(fd, kAnswer, sizeof kAnswer - 1);
  ::close(fd);
  return captured;
}

std::string RunNode(const std::string& script, const std::string& input) {
  // Per process: ctest runs the test variants in parallel.
  const std::string in_path =
      ::testing::TempDir() + "/sigv4_input_" + std::to_string(::getpid()) + ".json";
  std::ofstream(in_path) << input;
  const std::string cmd =
      "cd '" + testing::DynamoDbTestDir() + "' && node " + script + " < '" + in_path + "' 2>&1";
  std::string out;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return "<popen failed>";
  char buf[1024];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  ::pclose(pipe);
  return out;
}

class SigV4Test : public ::testing::TestWithParam<bool> {};

TEST_P(SigV4Test, OurAuthorizationEqualsTheAwsSdkSigners) {
  const bool with_session_token = GetParam();
  ASSERT_EQ(std::system((testing::DynamoDbTestDir() + "/install-npm-tools.sh").c_str()), 0);
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);

  AwsConfig config;
  config.access_key_id = "AKIDEXAMPLE";
  config.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  if (with_session_token) config.session_token = "FwoGZXIvYXdzEXAMPLE//token+with/slashes==";
  config.region = "eu-central-1";
  config.endpoint = "http://127.0.0.1:" + std::to_string(port);
  DynamoDbClientOptions options;
  options.deadline = std::chrono::seconds(5);
  auto client = DynamoDbClient::Create(config, options);
  ASSERT_TRUE(client.ok());

  CapturedRequest captured;
  std::thread server([&] { captured = ServeOne(listener); });
  // A body with non-ASCII and a long key.
  nlohmann::json body = {{"TableName", "tally"},
                         {"Key",
                          {{"pk", {{"S", "c#example.com#/caf\xC3\xA9 " + std::string(1500, 'x')}}},
                           {"sk", {{"S", "total"}}}}}};
  DynamoResult result = (*client)->Call("GetItem", body);
  server.join();
  ::close(listener);
  ASSERT_TRUE(result.ok()) << result.status.ToString();

  EXPECT_EQ(captured.request_line.substr(0, 7), "POST / ");
  EXPECT_EQ(captured.headers["x-amz-target"], "DynamoDB_20120810.GetItem");
  EXPECT_EQ(captured.headers["content-type"], "application/x-amz-json-1.0");
  EXPECT_EQ(captured.body, body.dump());
  const std::string authorization = captured.headers["authorization"];
  const std::string amz_date = captured.headers["x-amz-date"];
  ASSERT_FALSE(authorization.empty());
  ASSERT_EQ(amz_date.size(), 16u) << amz_date;
  if (with_session_token) {
    EXPECT_EQ(captured.headers["x-amz-security-token"], config.session_token);
  } else {
    EXPECT_EQ(captured.headers.count("x-amz-security-token"), 0u);
  }

  // The headers we signed, by name; they must include the ones that matter.
  const size_t sh = authorization.find("SignedHeaders=");
  ASSERT_NE(sh, std::string::npos) << authorization;
  std::string signed_list = authorization.substr(sh + 14);
  signed_list = signed_list.substr(0, signed_list.find(','));
  std::vector<std::string> signed_headers;
  std::stringstream list(signed_list);
  for (std::string name; std::getline(list, name, ';');) signed_headers.push_back(name);
  for (const char* required : {"content-type", "host", "x-amz-date", "x-amz-target"}) {
    EXPECT_NE(std::find(signed_headers.begin(), signed_headers.end(), required),
              signed_headers.end())
        << required << " is not signed: " << signed_list;
  }
  if (with_session_token) {
    EXPECT_NE(std::find(signed_headers.begin(), signed_headers.end(), "x-amz-security-token"),
              signed_headers.end());
  }

  nlohmann::json headers = nlohmann::json::object();
  for (const std::string& name : signed_headers) headers[name] = captured.headers[name];
  nlohmann::json input = {
      {"method", "POST"},
      {"host", "127.0.0.1:" + std::to_string(port)},
      {"path", "/"},
      {"headers", headers},
      {"body", captured.body},
      {"accessKeyId", config.access_key_id},
      {"secretAccessKey", config.secret_access_key},
      {"sessionToken", config.session_token},
      {"region", config.region},
      {"service", "dynamodb"},
      {"amzDate", amz_date},
      {"applyChecksum", captured.headers.count("x-amz-content-sha256") > 0},
  };
  const std::string expected = RunNode("sigv4_sign.js", input.dump());
  EXPECT_EQ(authorization, expected);
  EXPECT_NE(authorization.find("Credential=AKIDEXAMPLE/" + amz_date.substr(0, 8) +
                               "/eu-central-1/dynamodb/aws4_request"),
            std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(WithAndWithoutSessionToken, SigV4Test, ::testing::Bool());

}  // namespace
}  // namespace tally

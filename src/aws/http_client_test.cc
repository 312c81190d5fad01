// HttpClient against loopback servers of the test's own (Beast, synchronous):
// plain and TLS, keep-alive reuse, parallel sends, a server that closes kept-
// alive connections, silence until the deadline, refused connections, and
// certificates that must be refused.
#include "aws/http_client.h"

#include <utility>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <functional>
#include <thread>

#include <gtest/gtest.h>

namespace tally {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Accepts connections on 127.0.0.1 and runs `serve` for each on its own thread.
class LoopbackServer {
 public:
  using Serve = std::function<void(tcp::socket)>;
  explicit LoopbackServer(Serve serve)
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        serve_(std::move(serve)) {
    thread_ = std::thread([this] {
      for (;;) {
        beast::error_code ec;
        tcp::socket socket(io_);
        acceptor_.accept(socket, ec);
        if (ec || stopping_) return;
        ++connections_;
        workers_.emplace_back([this, s = std::move(socket)]() mutable { serve_(std::move(s)); });
      }
    });
  }
  ~LoopbackServer() {
    stopping_ = true;
    beast::error_code ec;
    // Wake the accept with a connection of our own, then join everything.
    tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
    for (std::thread& t : workers_) t.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_; }
  std::string origin(std::string_view scheme = "http") const {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port());
  }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  Serve serve_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::vector<std::thread> workers_;
  std::thread thread_;
};

// Answers every request on a connection with 200 and a body echoing the
// method, target, Host header and body, keeping the connection open.
template <class Stream>
void Echo(Stream& stream, int max_requests = 1000, bool close_after_each = false) {
  beast::flat_buffer buffer;
  for (int i = 0; i < max_requests; ++i) {
    http::request<http::string_body> request;
    beast::error_code ec;
    http::read(stream, buffer, request, ec);
    if (ec) return;
    http::response<http::string_body> response(http::status::ok, 11);
    response.set("X-Echo", "yes");
    response.body() = std::string(request.method_string()) + " " + std::string(request.target()) +
                      " " + std::string(request[http::field::host]) + " " + request.body();
    response.prepare_payload();
    http::write(stream, response, ec);
    if (ec || close_after_each) return;
  }
}

HttpRequest Post(std::string body, std::string target = "/") {
  HttpRequest request;
  request.target = std::move(target);
  request.body = std::move(body);
  request.headers.emplace_back("Content-Type", "text/plain");
  return request;
}

HttpClient::Clock::time_point In(std::chrono::milliseconds d) {
  return HttpClient::Clock::now() + d;
}

TEST(HttpClientTest, SendsAndReusesOneKeptAliveConnection) {
  LoopbackServer server([](tcp::socket s) { Echo(s); });
  auto client = HttpClient::Create(server.origin());
  ASSERT_TRUE(client.ok()) << client.status().message();
  EXPECT_EQ((*client)->host_header(), "127.0.0.1:" + std::to_string(server.port()));
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = (*client)->Send(Post("n" + std::to_string(i), "/x?y=1"), In(5s));
    ASSERT_TRUE(r.status.ok()) << r.status.message();
    EXPECT_EQ(r.code, 200);
    EXPECT_EQ(r.body,
              "POST /x?y=1 127.0.0.1:" + std::to_string(server.port()) + " n" + std::to_string(i));
    EXPECT_EQ(r.Header("x-echo"), "yes");
    EXPECT_EQ(r.Header("X-Missing"), "");
  }
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClientTest, SendAllAnswersEveryRequestInOrderWithBoundedConnections) {
  LoopbackServer server([](tcp::socket s) { Echo(s); });
  HttpClientOptions options;
  options.max_in_flight = 4;
  auto client = HttpClient::Create(server.origin(), options);
  ASSERT_TRUE(client.ok());
  std::vector<HttpRequest> requests;
  requests.reserve(40);
  for (int i = 0; i < 40; ++i) requests.push_back(Post(std::to_string(i)));
  std::vector<HttpResponse> responses(requests.size());
  (*client)->SendAll(requests, responses, In(10s));
  for (size_t i = 0; i < responses.size(); ++i) {
    ASSERT_TRUE(responses[i].status.ok()) << i << ": " << responses[i].status.message();
    EXPECT_TRUE(responses[i].body.ends_with(" " + std::to_string(i))) << responses[i].body;
  }
  EXPECT_LE(server.connections(), 4);
}

TEST(HttpClientTest, ResendsOnANewConnectionWhenTheServerClosedAKeptAliveOne) {
  // The server says keep-alive but closes after every answer, as servers do
  // with connections that idled too long.
  LoopbackServer server([](tcp::socket s) { Echo(s, 1, /*close_after_each=*/true); });
  auto client = HttpClient::Create(server.origin());
  ASSERT_TRUE(client.ok());
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = (*client)->Send(Post("again"), In(5s));
    ASSERT_TRUE(r.status.ok()) << r.status.message();
    EXPECT_TRUE(r.body.ends_with(" again"));
  }
  EXPECT_EQ(server.connections(), 3);
}

TEST(HttpClientTest, ASilentServerFailsAtTheDeadline) {
  std::atomic<bool> release{false};
  LoopbackServer server([&](tcp::socket s) {
    while (!release) std::this_thread::sleep_for(10ms);
    s.close();
  });
  auto client = HttpClient::Create(server.origin());
  ASSERT_TRUE(client.ok());
  HttpResponse r = (*client)->Send(Post("hello?"), In(300ms));
  release = true;
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status.message().find("timed out"), std::string::npos) << r.status.message();
}

TEST(HttpClientTest, ARefusedConnectionIsUnavailable) {
  int port;
  {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  auto client = HttpClient::Create("http://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(client.ok());
  std::vector<HttpRequest> requests(3, Post("x"));
  std::vector<HttpResponse> responses(3);
  (*client)->SendAll(requests, responses, In(5s));
  for (const HttpResponse& r : responses) {
    EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
    EXPECT_NE(r.status.message().find("cannot connect"), std::string::npos) << r.status.message();
  }
}

TEST(HttpClientTest, AnOversizedAnswerFails) {
  for (bool chunked : {false, true}) {
    LoopbackServer server([chunked](tcp::socket s) {
      beast::flat_buffer buffer;
      http::request<http::string_body> request;
      beast::error_code ec;
      http::read(s, buffer, request, ec);
      http::response<http::string_body> response(http::status::ok, 11);
      response.body() = std::string(4096, 'x');
      response.prepare_payload();
      if (chunked) response.chunked(true);
      http::write(s, response, ec);
    });
    HttpClientOptions options;
    options.max_response_body = 1024;
    auto client = HttpClient::Create(server.origin(), options);
    ASSERT_TRUE(client.ok());
    HttpResponse r = (*client)->Send(Post("x"), In(5s));
    EXPECT_EQ(r.status.code(), StatusCode::kUnavailable) << "chunked " << chunked;
  }
}

TEST(HttpClientTest, RejectsMalformedOrigins) {
  for (const char* origin : {"ftp://example.com", "example.com", "http://", "http://host:port",
                             "http://host:123456", "https://host/path"}) {
    EXPECT_EQ(HttpClient::Create(origin).status().code(), StatusCode::kInvalidArgument) << origin;
  }
  auto client = HttpClient::Create("https://dynamodb.eu-west-1.amazonaws.com/");
  ASSERT_TRUE(client.ok());
  EXPECT_EQ((*client)->host_header(), "dynamodb.eu-west-1.amazonaws.com");
  auto with_port = HttpClient::Create("http://[::1]:8000");
  ASSERT_TRUE(with_port.ok());
  EXPECT_EQ((*with_port)->host_header(), "[::1]:8000");
  HttpClientOptions options;
  options.ca_bundle = "/nonexistent/ca.pem";
  EXPECT_EQ(HttpClient::Create("https://example.com", options).status().code(),
            StatusCode::kInvalidArgument);
}

// A self-signed certificate for `dns_name` and 127.0.0.1, with its key, as
// PEM files in the test's temporary directory.
struct TestCertificate {
  std::string cert_path;
  std::string key_path;
};

TestCertificate MakeCertificate(const std::string& dns_name, bool with_loopback_ip) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(dns_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  std::string san = "DNS:" + dns_name + (with_loopback_ip ? ",IP:127.0.0.1" : "");
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, san.c_str()},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, key, EVP_sha256());
  static int serial = 0;
  TestCertificate files{::testing::TempDir() + "/cert" + std::to_string(++serial) + ".pem",
                        ::testing::TempDir() + "/key" + std::to_string(serial) + ".pem"};
  FILE* f = std::fopen(files.cert_path.c_str(), "w");
  PEM_write_X509(f, cert);
  std::fclose(f);
  f = std::fopen(files.key_path.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(key);
  return files;
}

// A TLS echo server presenting `certificate`.
LoopbackServer::Serve TlsEcho(const TestCertificate& certificate) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->use_certificate_chain_file(certificate.cert_path);
  context->use_private_key_file(certificate.key_path, ssl::context::pem);
  return [context](tcp::socket s) {
    beast::ssl_stream<tcp::socket> stream(std::move(s), *context);
    beast::error_code ec;
    stream.handshake(ssl::stream_base::server, ec);
    if (!ec) Echo(stream);
  };
}

TEST(HttpClientTest, TlsWithATrustedCertificateForTheHost) {
  TestCertificate certificate = MakeCertificate("localhost", /*with_loopback_ip=*/true);
  LoopbackServer server(TlsEcho(certificate));
  HttpClientOptions options;
  options.ca_bundle = certificate.cert_path;
  for (std::string host : {"127.0.0.1", "localhost"}) {
    auto client =
        HttpClient::Create("https://" + host + ":" + std::to_string(server.port()), options);
    ASSERT_TRUE(client.ok()) << client.status().message();
    for (int i = 0; i < 2; ++i) {
      HttpResponse r = (*client)->Send(Post("secret"), In(5s));
      ASSERT_TRUE(r.status.ok()) << host << ": " << r.status.message();
      EXPECT_TRUE(r.body.ends_with(" secret"));
    }
  }
  EXPECT_EQ(server.connections(), 2);  // one per client, kept alive
}

TEST(HttpClientTest, TlsRefusesAnUntrustedCertificate) {
  TestCertificate certificate = MakeCertificate("localhost", true);
  LoopbackServer server(TlsEcho(certificate));
  auto client = HttpClient::Create(server.origin("https"));  // system CAs only
  ASSERT_TRUE(client.ok());
  HttpResponse r = (*client)->Send(Post("secret"), In(5s));
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status.message().find("TLS handshake"), std::string::npos) << r.status.message();
}

TEST(HttpClientTest, TlsRefusesACertificateForAnotherHost) {
  TestCertificate certificate = MakeCertificate("other.example", /*with_loopback_ip=*/false);
  LoopbackServer server(TlsEcho(certificate));
  HttpClientOptions options;
  options.ca_bundle = certificate.cert_path;  // trusted, but not for this host
  auto client = HttpClient::Create(server.origin("https"), options);
  ASSERT_TRUE(client.ok());
  HttpResponse r = (*client)->Send(Post("secret"), In(5s));
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status.message().find("TLS handshake"), std::string::npos) << r.status.message();
}

}  // namespace
}  // namespace tally

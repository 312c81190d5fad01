// An HTTP/1.x request parser that writes straight into a tally::Request.
#pragma once

// Boost 1.74's Asio uses std::exchange without including <utility>; with g++ 12
// in C++20 mode that breaks unless <utility> comes first.
#include <utility>

#include <boost/beast/http/basic_parser.hpp>

#include "api/request.h"

namespace tally::http {

// Parses one request into a caller-owned tally::Request, so no intermediate
// beast::http::fields (one heap node per header) is built and then copied.
// Header names are lower-cased, the target is split into raw path and raw
// query (no decoding: the api decodes), and the body is appended as it
// arrives, chunked or not. Limits are basic_parser's: header_limit() counts
// the request line too; body_limit() bounds the decoded body.
//
// One parser per request (basic_parser cannot be reset); one thread at a time.
class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  // `out` must outlive the parser; it should be Clear()ed beforehand.
  explicit RequestParser(Request& out) : out_(out) {}

  // 10 for HTTP/1.0, 11 for HTTP/1.1; valid once the request line is parsed.
  int version() const { return version_; }
  // True if the client sent `Expect: 100-continue` (and waits for a
  // "100 Continue" before sending the body).
  bool expects_continue() const { return expects_continue_; }

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;
  using verb = boost::beast::http::verb;
  using field = boost::beast::http::field;

  void on_request_impl(verb method, string_view method_str, string_view target, int version,
                       error_code& ec) override;
  void on_response_impl(int, string_view, int, error_code&) override {}
  void on_field_impl(field name, string_view name_string, string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& ec) override;
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t remain, string_view body, error_code& ec) override;
  void on_finish_impl(error_code&) override {}

  Request& out_;
  int version_ = 11;
  bool expects_continue_ = false;
};

// Maps a Beast verb onto the api's Method (kOther for the rest).
Method ToMethod(boost::beast::http::verb verb);

}  // namespace tally::http

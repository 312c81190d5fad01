#include "server/request_parser.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

namespace tally::http {

namespace beast_http = boost::beast::http;

Method ToMethod(beast_http::verb verb) {
  switch (verb) {
    case beast_http::verb::get:
      return Method::kGet;
    case beast_http::verb::head:
      return Method::kHead;
    case beast_http::verb::post:
      return Method::kPost;
    case beast_http::verb::put:
      return Method::kPut;
    case beast_http::verb::patch:
      return Method::kPatch;
    case beast_http::verb::delete_:
      return Method::kDelete;
    case beast_http::verb::options:
      return Method::kOptions;
    default:
      return Method::kOther;
  }
}

void RequestParser::on_request_impl(verb method, string_view /*method_str*/, string_view target,
                                    int version, error_code& ec) {
  out_.method = ToMethod(method);
  version_ = version;
  // absolute-form ("http://host/path?q", RFC 9112 section 3.2.2) is what a
  // client sends to a proxy; servers must accept it too. Keep path and query.
  bool absolute_form = target.starts_with("http://") || target.starts_with("https://");
  if (absolute_form) {
    std::size_t authority = target.find("//") + 2;
    std::size_t path_start = target.find_first_of("/?", authority);
    target = path_start == string_view::npos ? string_view() : target.substr(path_start);
  } else if (target.empty() || (target.front() != '/' && target != "*")) {
    // origin-form starts with '/'; '*' (asterisk-form) is for OPTIONS. The
    // api routes on the rest, so reject it here.
    ec = beast_http::error::bad_target;
    return;
  }
  std::size_t question = target.find('?');
  std::size_t path_size = question == string_view::npos ? target.size() : question;
  out_.path.assign(target.data(), path_size);
  if (question != string_view::npos) {
    out_.query.assign(target.data() + question + 1, target.size() - question - 1);
  }
  if (out_.path.empty()) out_.path = "/";  // "http://host" or "http://host?q"
}

void RequestParser::on_field_impl(field name, string_view name_string, string_view value,
                                  error_code& /*ec*/) {
  if (name == field::expect && boost::beast::iequals(value, "100-continue")) {
    expects_continue_ = true;
  }
  auto& header = out_.AddHeader();  // reuses the previous request's strings
  header.first.resize(name_string.size());
  for (std::size_t i = 0; i < name_string.size(); ++i) {
    char c = name_string[i];
    header.first[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  header.second.assign(value.data(), value.size());
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      error_code& /*ec*/) {
  // basic_parser has already checked content_length against body_limit().
  if (content_length) out_.body.reserve(static_cast<std::size_t>(*content_length));
}

std::size_t RequestParser::on_body_impl(string_view body, error_code& /*ec*/) {
  out_.body.append(body.data(), body.size());
  return body.size();
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t /*remain*/, string_view body,
                                              error_code& /*ec*/) {
  out_.body.append(body.data(), body.size());
  return body.size();
}

}  // namespace tally::http

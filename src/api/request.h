// The transport-neutral request and response that the api layer works on.
//
// The HTTP server and the Lambda adapter translate their own representations
// into these and back; nothing in src/api knows about sockets or events.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tally {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

// One HTTP request. Header names are stored lower-case (the transport does
// that); values as received. Only the query string's raw form is kept; the
// api parses it.
struct Request {
  Method method = Method::kGet;
  std::string path;   // raw path, percent-encoded as received, no query
  std::string query;  // raw query string without '?', may be empty
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string body;
  std::string client_ip;  // peer address as seen by the transport

  // Returns the first header with `lower_name`, or an empty view.
  std::string_view Header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
      if (name == lower_name) return value;
    }
    return {};
  }
  bool HasHeader(std::string_view lower_name) const {
    for (const auto& h : headers) {
      if (h.first == lower_name) return true;
    }
    return false;
  }

  // Appends a header field with both strings empty, for the transport to
  // fill in. Its strings are those of a field Clear() removed, when there
  // is one: a client that sends the same fields on every request of a
  // connection (browsers do) then costs no heap allocation for them, though
  // values such as a User-Agent are longer than a std::string holds inline.
  std::pair<std::string, std::string>& AddHeader() {
    if (spare_headers_.empty()) return headers.emplace_back();
    auto& header = headers.emplace_back(std::move(spare_headers_.back()));
    spare_headers_.pop_back();
    header.first.clear();
    header.second.clear();
    return header;
  }

  // Clears all fields but keeps their capacity, so a connection can reuse one
  // Request for every request it reads.
  void Clear() {
    method = Method::kGet;
    path.clear();
    query.clear();
    // Last field first, so that AddHeader hands the n-th field of the next
    // request the strings the n-th field had in this one. What is kept is
    // bounded, whatever the client sends.
    while (!headers.empty()) {
      auto& header = headers.back();
      if (spare_headers_.size() < kMaxSpareHeaders &&
          header.first.capacity() + header.second.capacity() <= kMaxSpareHeaderBytes) {
        spare_headers_.push_back(std::move(header));
      }
      headers.pop_back();
    }
    body.clear();
    client_ip.clear();
  }

 private:
  static constexpr size_t kMaxSpareHeaders = 32;
  static constexpr size_t kMaxSpareHeaderBytes = 512;
  // Header strings kept by Clear() for AddHeader, last-to-be-reused first.
  std::vector<std::pair<std::string, std::string>> spare_headers_;
};

}  // namespace tally

// See request.h.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tally {

// The writing end of a live response (Server-Sent Events), implemented by the
// transport. Thread-safe.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Queues `data` after what was queued before. Returns false once the
  // client is gone or too slow; the producer should then drop the sink.
  virtual bool Push(std::string data) = 0;
  // True once the connection is closed; the producer may drop the sink.
  virtual bool closed() const = 0;
};

// Produces a live response. The transport writes the response's head and
// body, then calls Attach once with the sink for everything after.
class EventSource {
 public:
  virtual ~EventSource() = default;
  virtual void Attach(std::shared_ptr<EventSink> sink) = 0;
};

// A response header's name: a string literal (only char arrays convert), so
// that naming a header never allocates (names such as
// Access-Control-Allow-Origin are longer than a std::string holds without a
// heap block).
class HeaderName {
 public:
  template <size_t N>
  constexpr HeaderName(const char (&literal)[N])  // NOLINT(google-explicit-constructor)
      : name_(literal, N - 1) {}
  operator std::string_view() const { return name_; }  // NOLINT(google-explicit-constructor)
  std::string_view view() const { return name_; }

 private:
  std::string_view name_;
};

struct Response {
  int status = 200;
  // A string literal (every content type the api sends is one), for the
  // same reason as HeaderName.
  std::string_view content_type = "application/json";
  std::string body;
  // Extra headers (CORS, Retry-After, Cache-Control, ...). Names as they
  // should be sent.
  std::vector<std::pair<HeaderName, std::string>> headers;
  // Set by the api when the connection should be closed after this response
  // (e.g. the request could not be framed reliably).
  bool close_connection = false;
  // Set for a live response: no Content-Length, the connection stays open
  // for what `events` pushes, and is closed afterwards.
  std::shared_ptr<EventSource> events;

  void SetHeader(HeaderName name, std::string_view value) {
    for (auto& h : headers) {
      if (h.first.view() == name.view()) {
        h.second.assign(value);
        return;
      }
    }
    if (spare_values_.empty()) {
      headers.emplace_back(name, std::string(value));
      return;
    }
    // A value string Clear() kept: no allocation if it is long enough.
    headers.emplace_back(name, std::move(spare_values_.back()));
    spare_values_.pop_back();
    headers.back().second.assign(value);
  }
  std::string_view Header(std::string_view name) const {
    for (const auto& h : headers) {
      if (h.first.view() == name) return h.second;
    }
    return {};
  }
  // Resets every field but keeps (boundedly) the capacity of the body, of
  // the header list and of the header values, so that a Response reused for
  // the next answer costs no heap allocation (see
  // ResponseSink::TakeSpareResponse).
  void Clear() {
    status = 200;
    content_type = "application/json";
    body.clear();
    if (body.capacity() > kMaxSpareBodyBytes) std::string().swap(body);  // an export, say
    // Last first: SetHeader hands the n-th header the n-th value's string.
    while (!headers.empty()) {
      std::string& value = headers.back().second;
      if (spare_values_.size() < kMaxSpareValues && value.capacity() <= kMaxSpareValueBytes) {
        value.clear();
        spare_values_.push_back(std::move(value));
      }
      headers.pop_back();
    }
    close_connection = false;
    events.reset();
  }

 private:
  static constexpr size_t kMaxSpareBodyBytes = size_t{64} * 1024;
  static constexpr size_t kMaxSpareValues = 16;
  static constexpr size_t kMaxSpareValueBytes = 512;
  std::vector<std::string> spare_values_;  // kept by Clear() for SetHeader
};

// Receives the response to one request. The api calls Send exactly once per
// request, on any thread (a network thread, a store worker, or the group
// commit writer); implementations must hand the response back to their own
// thread themselves.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void Send(Response response) = 0;

  // An empty Response that keeps the buffers of an earlier one sent through
  // this sink, for the api to build its answer in: a transport that answers
  // many requests per connection can then do so without heap allocations.
  // Call only inside RequestHandler::Handle, on its thread, before Send. The
  // default has no buffers to give.
  virtual Response TakeSpareResponse() { return Response(); }
};

}  // namespace tally

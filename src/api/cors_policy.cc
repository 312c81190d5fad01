#include "api/cors_policy.h"

namespace tally {
namespace {

struct Origin {
  std::string_view scheme;
  std::string_view host;
  std::string_view port;  // empty if none
};

// Splits "scheme://host[:port]"; false if it is not of that form.
bool SplitOrigin(std::string_view s, Origin* out) {
  size_t sep = s.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  out->scheme = s.substr(0, sep);
  std::string_view rest = s.substr(sep + 3);
  if (rest.empty() || rest.find('/') != std::string_view::npos) return false;
  // An IPv6 host is bracketed ("[::1]:8080"); its colons are not the port's.
  size_t host_end = rest.starts_with('[') ? rest.find(']') : 0;
  if (host_end == std::string_view::npos) return false;
  size_t colon = rest.find(':', host_end);
  if (colon != std::string_view::npos) {
    out->host = rest.substr(0, colon);
    out->port = rest.substr(colon + 1);
    if (out->port.empty()) return false;
  } else {
    out->host = rest;
    out->port = {};
  }
  return !out->host.empty();
}

bool HostMatches(std::string_view pattern, std::string_view host) {
  if (pattern.starts_with("*.")) {
    std::string_view suffix = pattern.substr(1);  // ".example.com"
    return host.size() > suffix.size() && host.ends_with(suffix);
  }
  return pattern == host;
}

}  // namespace

Status ValidateOriginPattern(std::string_view pattern) {
  if (pattern == "*") return Status::Ok();
  Origin o;
  if (!SplitOrigin(pattern, &o) || (o.scheme != "http" && o.scheme != "https")) {
    return Status::InvalidArgument(
        "an origin must look like https://example.com, https://*.example.com, "
        "http://localhost:* or *");
  }
  if (o.host.find('*') != std::string_view::npos &&
      !(o.host.starts_with("*.") && o.host.find('*', 1) == std::string_view::npos)) {
    return Status::InvalidArgument(
        "'*' may only stand for a whole subdomain (https://*.example.com)");
  }
  if (o.port != "*" && !o.port.empty() &&
      o.port.find_first_not_of("0123456789") != std::string_view::npos) {
    return Status::InvalidArgument("an origin's port must be a number or *");
  }
  return Status::Ok();
}

bool OriginAllowed(const std::vector<std::string>& patterns, std::string_view origin) {
  Origin o;
  if (!SplitOrigin(origin, &o)) return false;
  for (const std::string& pattern : patterns) {
    if (pattern == "*") return true;
    Origin p;
    if (!SplitOrigin(pattern, &p)) continue;
    if (p.scheme != o.scheme || !HostMatches(p.host, o.host)) continue;
    if (p.port == "*" || p.port == o.port) return true;
  }
  return false;
}

void AddCorsHeaders(Response& response, std::string_view origin) {
  if (origin.empty()) return;
  response.SetHeader("Access-Control-Allow-Origin", origin);
  response.SetHeader("Vary", "Origin");
  response.SetHeader("Access-Control-Expose-Headers",
                     "Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset");
}

void SetPreflightAnswer(Response& response, std::string_view origin, std::string_view methods) {
  response.status = 204;
  response.body.clear();
  AddCorsHeaders(response, origin);
  response.SetHeader("Access-Control-Allow-Methods", methods);
  response.SetHeader("Access-Control-Allow-Headers", "Content-Type, X-Api-Key, Authorization");
  response.SetHeader("Access-Control-Max-Age", "86400");
}

}  // namespace tally

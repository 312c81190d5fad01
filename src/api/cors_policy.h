// Which browser origins may call a site's endpoints, and the CORS headers
// that say so.
//
// An origin pattern is one of:
//   "*"                         any origin
//   "https://example.com"       exactly that origin (scheme, host, port)
//   "https://*.example.com"     any subdomain of example.com over https
//   "http://localhost:*"        that host over http on any port (or none)
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "api/response.h"
#include "common/status.h"

namespace tally {

// InvalidArgument unless `pattern` is one of the forms above.
Status ValidateOriginPattern(std::string_view pattern);

// True if `origin` (as sent in the Origin header) matches one of `patterns`.
bool OriginAllowed(const std::vector<std::string>& patterns, std::string_view origin);

// Adds the headers that let a browser at `origin` read the answer. Does
// nothing for an empty origin (not a browser's cross-origin call).
void AddCorsHeaders(Response& response, std::string_view origin);

// Turns `response` into the answer to a preflight from an allowed `origin`
// for endpoints that accept `methods` (e.g. "GET, POST, OPTIONS").
void SetPreflightAnswer(Response& response, std::string_view origin, std::string_view methods);

}  // namespace tally

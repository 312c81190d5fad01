// The one place that turns errors into HTTP answers.
//
// Every error body has the shape {"error":{"code":"...","message":"..."}}.
#pragma once

#include <string_view>

#include "api/response.h"
#include "common/status.h"

namespace tally {

// Fills `response` with an error answer. `code` is a stable machine-readable
// name (snake_case), `message` is for people. Adds Retry-After for 429/503.
void SetError(Response& response, int http_status, std::string_view code, std::string_view message);

// Maps a Status from a lower layer to its HTTP answer. `not_found_code`
// names what was not found (e.g. "site_not_found").
void SetErrorFromStatus(Response& response, const Status& status,
                        std::string_view not_found_code = "not_found");

// Appends `s` to `out` as the inside of a JSON string (without quotes).
// `s` must be valid UTF-8; control characters are escaped.
void AppendJsonEscaped(std::string& out, std::string_view s);

}  // namespace tally

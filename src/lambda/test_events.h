// API Gateway events for tests, built from AWS's own sample events in
// src/lambda/testdata (SAM CLI's `generate-event` / aws-lambda-go's
// events/testdata), so that every Lambda test speaks the real shapes.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace tally::lambda {

// The sample event `name` (a file in src/lambda/testdata), parsed.
nlohmann::json LoadFixture(const std::string& name);

// The REST API (payload 1.0) sample turned into `method` `path`, with
// `query` as multiValueQueryStringParameters ({"key": ["/"]}), `headers`
// ({"Origin": "..."}) added to multiValueHeaders, and `body` (none if empty).
std::string RestEvent(const std::string& method, const std::string& path,
                      const nlohmann::json& query,
                      nlohmann::json headers = nlohmann::json::object(),
                      const std::string& body = "");

// The HTTP API (payload 2.0) sample turned into `method` `path`?`query`,
// from source IP 198.51.100.7, with `headers` added.
std::string HttpEvent(const std::string& method, const std::string& path, const std::string& query,
                      nlohmann::json headers = nlohmann::json::object());

}  // namespace tally::lambda

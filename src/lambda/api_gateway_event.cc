#include "lambda/api_gateway_event.h"

#include <array>
#include <cctype>
#include <utility>

namespace tally::lambda {
namespace {

using nlohmann::json;

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The string at `key` of `object`, "" if absent or null; false if present
// with another type.
bool GetString(const json& object, const char* key, std::string* out) {
  out->clear();
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

// The object at `key` (null if absent or null); false for another type.
bool GetObject(const json& object, const char* key, const json** out) {
  static const json kNull;
  *out = &kNull;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return true;
  if (!it->is_object()) return false;
  *out = &*it;
  return true;
}

Status BadField(std::string_view field) {
  return Status::InvalidArgument("malformed API Gateway event: bad `" + std::string(field) + "`");
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t extra = c < 0x80           ? 0
                   : (c >> 5) == 0x6  ? 1
                   : (c >> 4) == 0xe  ? 2
                   : (c >> 3) == 0x1e ? 3
                                      : 4;
    if (extra == 4 || i + extra >= s.size() + (extra == 0 ? 1 : 0)) return false;
    for (size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    }
    i += extra + 1;
  }
  return true;
}

// Adds "name=value" pairs of a v1 query object (decoded values) to `query`.
Status AppendQuery(const json& params, bool multi, std::string* query) {
  for (auto it = params.begin(); it != params.end(); ++it) {
    auto add = [&](const json& value) -> bool {
      if (!value.is_string()) return false;
      if (!query->empty()) query->push_back('&');
      query->append(PercentEncode(it.key()));
      query->push_back('=');
      query->append(PercentEncode(value.get_ref<const std::string&>()));
      return true;
    };
    if (multi) {
      if (!it->is_array()) return BadField("multiValueQueryStringParameters");
      for (const json& v : *it) {
        if (!add(v)) return BadField("multiValueQueryStringParameters");
      }
    } else if (!it->is_null() && !add(*it)) {
      return BadField("queryStringParameters");
    }
  }
  return Status::Ok();
}

Status AppendHeaders(const json& headers, bool multi, Request* request) {
  for (auto it = headers.begin(); it != headers.end(); ++it) {
    std::string name = Lower(it.key());
    if (multi) {
      if (!it->is_array()) return BadField("multiValueHeaders");
      for (const json& v : *it) {
        if (!v.is_string()) return BadField("multiValueHeaders");
        request->headers.emplace_back(name, v.get<std::string>());
      }
    } else if (it->is_string()) {
      request->headers.emplace_back(std::move(name), it->get<std::string>());
    } else if (!it->is_null()) {
      return BadField("headers");
    }
  }
  return Status::Ok();
}

Status DecodeBody(const json& event, Request* request) {
  std::string body;
  if (!GetString(event, "body", &body)) return BadField("body");
  bool base64 = false;
  if (auto it = event.find("isBase64Encoded"); it != event.end() && !it->is_null()) {
    if (!it->is_boolean()) return BadField("isBase64Encoded");
    base64 = it->get<bool>();
  }
  if (!base64) {
    request->body = std::move(body);
    return Status::Ok();
  }
  if (!Base64Decode(body, &request->body)) return BadField("body");
  return Status::Ok();
}

Result<DecodedEvent> DecodeV1(const json& event) {
  DecodedEvent decoded;
  decoded.format = PayloadFormat::kRestV1;
  Request& r = decoded.request;
  std::string method;
  if (!GetString(event, "httpMethod", &method) || method.empty()) return BadField("httpMethod");
  r.method = ParseMethod(method);
  if (!GetString(event, "path", &r.path) || r.path.empty()) return BadField("path");
  // API Gateway hands the path decoded; the api expects it as sent, so
  // re-encode what cannot appear raw in a path.
  std::string path;
  for (char c : r.path) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '?' || c == '#' || c == '%') {
      path += PercentEncode(std::string_view(&c, 1));
    } else {
      path.push_back(c);
    }
  }
  r.path = std::move(path);

  const json* multi_query = nullptr;
  const json* query = nullptr;
  if (!GetObject(event, "multiValueQueryStringParameters", &multi_query)) {
    return BadField("multiValueQueryStringParameters");
  }
  if (!GetObject(event, "queryStringParameters", &query)) return BadField("queryStringParameters");
  Status s = multi_query->is_object() ? AppendQuery(*multi_query, true, &r.query)
             : query->is_object()     ? AppendQuery(*query, false, &r.query)
                                      : Status::Ok();
  if (!s.ok()) return s;

  const json* multi_headers = nullptr;
  const json* headers = nullptr;
  if (!GetObject(event, "multiValueHeaders", &multi_headers)) return BadField("multiValueHeaders");
  if (!GetObject(event, "headers", &headers)) return BadField("headers");
  s = multi_headers->is_object() ? AppendHeaders(*multi_headers, true, &r)
      : headers->is_object()     ? AppendHeaders(*headers, false, &r)
                                 : Status::Ok();
  if (!s.ok()) return s;

  const json* context = nullptr;
  const json* identity = nullptr;
  if (!GetObject(event, "requestContext", &context)) return BadField("requestContext");
  if (context->is_object()) {
    if (!GetObject(*context, "identity", &identity)) return BadField("requestContext.identity");
    if (identity->is_object() && !GetString(*identity, "sourceIp", &r.client_ip)) {
      return BadField("requestContext.identity.sourceIp");
    }
  }
  s = DecodeBody(event, &r);
  if (!s.ok()) return s;
  return decoded;
}

Result<DecodedEvent> DecodeV2(const json& event) {
  DecodedEvent decoded;
  decoded.format = PayloadFormat::kHttpV2;
  Request& r = decoded.request;
  const json* context = nullptr;
  const json* http = nullptr;
  if (!GetObject(event, "requestContext", &context) || !context->is_object()) {
    return BadField("requestContext");
  }
  if (!GetObject(*context, "http", &http) || !http->is_object()) {
    return BadField("requestContext.http");
  }
  std::string method;
  if (!GetString(*http, "method", &method) || method.empty()) {
    return BadField("requestContext.http.method");
  }
  r.method = ParseMethod(method);
  if (!GetString(*http, "sourceIp", &r.client_ip)) return BadField("requestContext.http.sourceIp");
  if (!GetString(event, "rawPath", &r.path)) return BadField("rawPath");
  if (r.path.empty() && !GetString(*http, "path", &r.path))
    return BadField("requestContext.http.path");
  if (r.path.empty()) return BadField("rawPath");
  if (!GetString(event, "rawQueryString", &r.query)) return BadField("rawQueryString");

  const json* headers = nullptr;
  if (!GetObject(event, "headers", &headers)) return BadField("headers");
  if (headers->is_object()) {
    Status s = AppendHeaders(*headers, false, &r);
    if (!s.ok()) return s;
  }
  if (auto it = event.find("cookies"); it != event.end() && !it->is_null()) {
    if (!it->is_array()) return BadField("cookies");
    std::string cookie;
    for (const json& c : *it) {
      if (!c.is_string()) return BadField("cookies");
      if (!cookie.empty()) cookie += "; ";
      cookie += c.get<std::string>();
    }
    if (!cookie.empty()) r.headers.emplace_back("cookie", std::move(cookie));
  }
  Status s = DecodeBody(event, &r);
  if (!s.ok()) return s;
  return decoded;
}

}  // namespace

Method ParseMethod(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, Method>, 7> kMethods{{
      {"GET", Method::kGet},
      {"HEAD", Method::kHead},
      {"POST", Method::kPost},
      {"PUT", Method::kPut},
      {"PATCH", Method::kPatch},
      {"DELETE", Method::kDelete},
      {"OPTIONS", Method::kOptions},
  }};
  for (const auto& [text, method] : kMethods) {
    if (text == name) return method;
  }
  return Method::kOther;
}

Result<DecodedEvent> DecodeEvent(const json& event) {
  if (!event.is_object()) return Status::InvalidArgument("the event is not a JSON object");
  auto version = event.find("version");
  if (version != event.end() && version->is_string() && *version == "2.0") return DecodeV2(event);
  if (event.contains("httpMethod")) return DecodeV1(event);
  return Status::InvalidArgument(
      "not an API Gateway proxy event (neither payload format 1.0 nor 2.0)");
}

json EncodeResponse(const Response& response, PayloadFormat format) {
  json out = json::object();
  out["statusCode"] = response.status;
  // Header name (as first sent) → values, in order of first appearance.
  std::vector<std::pair<std::string, std::vector<std::string>>> headers;
  auto add = [&headers](std::string_view name, std::string_view value) {
    std::string lower = Lower(name);
    for (auto& [n, values] : headers) {
      if (Lower(n) == lower) {
        values.emplace_back(value);
        return;
      }
    }
    headers.push_back({std::string(name), {std::string(value)}});
  };
  if (!response.content_type.empty()) add("Content-Type", response.content_type);
  for (const auto& [name, value] : response.headers) add(name, value);

  json single = json::object();
  if (format == PayloadFormat::kRestV1) {
    json multi = json::object();
    for (const auto& [name, values] : headers) {
      single[name] = values.back();
      multi[name] = values;
    }
    out["headers"] = std::move(single);
    out["multiValueHeaders"] = std::move(multi);
  } else {
    json cookies = json::array();
    for (const auto& [name, values] : headers) {
      if (Lower(name) == "set-cookie") {
        for (const auto& v : values) cookies.push_back(v);
        continue;
      }
      std::string joined;
      for (const auto& v : values) joined += (joined.empty() ? "" : ", ") + v;
      single[name] = std::move(joined);
    }
    out["headers"] = std::move(single);
    if (!cookies.empty()) out["cookies"] = std::move(cookies);
  }
  if (IsValidUtf8(response.body)) {
    out["body"] = response.body;
    out["isBase64Encoded"] = false;
  } else {
    out["body"] = Base64Encode(response.body);
    out["isBase64Encoded"] = true;
  }
  return out;
}

std::string Base64Encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8) |
                 static_cast<uint8_t>(data[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(kBase64Alphabet[(n >> shift) & 63]);
  }
  if (size_t rest = data.size() - i; rest > 0) {
    uint32_t n = static_cast<uint8_t>(data[i]) << 16;
    if (rest == 2) n |= static_cast<uint8_t>(data[i + 1]) << 8;
    out.push_back(kBase64Alphabet[(n >> 18) & 63]);
    out.push_back(kBase64Alphabet[(n >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64Alphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

bool Base64Decode(std::string_view text, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t padding = 0;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    if (padding > 0) return false;  // data after padding
    size_t v = kBase64Alphabet.find(c);
    if (v == std::string_view::npos) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return padding <= 2 && bits < 6;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

}  // namespace tally::lambda

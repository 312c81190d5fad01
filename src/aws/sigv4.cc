#include "aws/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <string>

namespace tally {
namespace {

using Digest = std::array<unsigned char, 32>;

Digest Sha256(std::string_view data) {
  Digest digest{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_sha256(), nullptr);
  return digest;
}

Digest HmacSha256(std::string_view key, std::string_view data) {
  Digest digest{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest.data(), &len);
  return digest;
}

std::string_view AsText(const Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

std::string Hex(const Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(2 * d.size(), '0');
  for (size_t i = 0; i < d.size(); ++i) {
    hex[2 * i] = kHex[d[i] >> 4];
    hex[2 * i + 1] = kHex[d[i] & 0xf];
  }
  return hex;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The header value as signed: no leading or trailing blanks, inner runs of
// blanks as one space.
std::string CanonicalValue(std::string_view value) {
  std::string out;
  bool blank = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      blank = !out.empty();
      continue;
    }
    if (blank) out.push_back(' ');
    blank = false;
    out.push_back(c);
  }
  return out;
}

// "b=2&a=1" -> "a=1&b=2": parameters sorted by name, then value; a name
// without '=' gets an empty value.
std::string CanonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (param.empty()) continue;
    size_t eq = param.find('=');
    params.emplace_back(std::string(param.substr(0, eq)),
                        eq == std::string_view::npos ? "" : std::string(param.substr(eq + 1)));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

}  // namespace

void SignV4(const AwsConfig& config, std::string_view service, std::string_view host,
            std::chrono::system_clock::time_point now, HttpRequest* request) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char amz_date[17];
  std::strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &utc);
  const std::string_view date(amz_date, 8);

  request->headers.emplace_back("X-Amz-Date", amz_date);
  if (!config.session_token.empty()) {
    request->headers.emplace_back("X-Amz-Security-Token", config.session_token);
  }

  // Canonical headers: lower-case names in order, repeated names' values
  // joined with commas.
  std::vector<std::pair<std::string, std::string>> headers;
  headers.emplace_back("host", CanonicalValue(host));
  for (const auto& [name, value] : request->headers) {
    headers.emplace_back(Lower(name), CanonicalValue(value));
  }
  std::stable_sort(headers.begin(), headers.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string canonical_headers, signed_headers;
  for (size_t i = 0; i < headers.size(); ++i) {
    if (i > 0 && headers[i].first == headers[i - 1].first) {
      canonical_headers.back() = ',';
    } else {
      if (!signed_headers.empty()) signed_headers.push_back(';');
      signed_headers += headers[i].first;
      canonical_headers += headers[i].first;
      canonical_headers.push_back(':');
    }
    canonical_headers += headers[i].second;
    canonical_headers.push_back('\n');
  }

  std::string_view target = request->target;
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string query =
      question == std::string_view::npos ? "" : CanonicalQuery(target.substr(question + 1));

  std::string canonical_request = request->method;
  canonical_request.push_back('\n');
  canonical_request += path.empty() ? "/" : path;
  canonical_request.push_back('\n');
  canonical_request += query;
  canonical_request.push_back('\n');
  canonical_request += canonical_headers;
  canonical_request.push_back('\n');
  canonical_request += signed_headers;
  canonical_request.push_back('\n');
  canonical_request += Hex(Sha256(request->body));

  std::string scope(date);
  scope += '/';
  scope += config.region;
  scope += '/';
  scope += service;
  scope += "/aws4_request";

  std::string string_to_sign = "AWS4-HMAC-SHA256\n";
  string_to_sign += amz_date;
  string_to_sign.push_back('\n');
  string_to_sign += scope;
  string_to_sign.push_back('\n');
  string_to_sign += Hex(Sha256(canonical_request));

  const Digest k_date = HmacSha256("AWS4" + config.secret_access_key, date);
  const Digest k_region = HmacSha256(AsText(k_date), config.region);
  const Digest k_service = HmacSha256(AsText(k_region), service);
  const Digest k_signing = HmacSha256(AsText(k_service), "aws4_request");
  const std::string signature = Hex(HmacSha256(AsText(k_signing), string_to_sign));

  request->headers.emplace_back(
      "Authorization", "AWS4-HMAC-SHA256 Credential=" + config.access_key_id + "/" + scope +
                           ", SignedHeaders=" + signed_headers + ", Signature=" + signature);
}

}  // namespace tally

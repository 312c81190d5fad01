#include "api/client_ip.h"

namespace tally {

std::string_view ClientIp(const Request& request, bool trust_proxy) {
  if (trust_proxy) {
    std::string_view xff = request.Header("x-forwarded-for");
    size_t comma = xff.rfind(',');
    std::string_view last = comma == std::string_view::npos ? xff : xff.substr(comma + 1);
    size_t b = last.find_first_not_of(" \t");
    size_t e = last.find_last_not_of(" \t");
    if (b != std::string_view::npos) return last.substr(b, e - b + 1);
  }
  return request.client_ip;
}

bool IsLoopback(std::string_view ip) {
  return ip.starts_with("127.") || ip == "::1" || ip.starts_with("::ffff:127.");
}

}  // namespace tally

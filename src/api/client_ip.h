// Who the client is, for visitor hashing and rate limiting.
#pragma once

#include <string_view>

#include "api/request.h"

namespace tally {

// The client's address: the last entry of X-Forwarded-For when
// `trust_proxy` (the address our own proxy saw; entries before it are the
// client's word and can be forged), else the transport's peer address.
std::string_view ClientIp(const Request& request, bool trust_proxy);

// True for 127.0.0.0/8, ::1 and ::ffff:127.x addresses.
bool IsLoopback(std::string_view ip);

}  // namespace tally

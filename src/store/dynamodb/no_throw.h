// NoThrow: runs a body and turns any exception (std::bad_alloc, a JSON
// error such as invalid UTF-8 in a string) into a Status, because nothing
// may be thrown across the Store interface.
#pragma once

#include <exception>
#include <string>

#include "common/status.h"

namespace tally::dynamodb {

template <typename Body>
auto NoThrow(const char* what, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    return Status::Internal(std::string(what) + ": " + e.what());
  } catch (...) {
    return Status::Internal(std::string(what) + ": unknown exception");
  }
}

}  // namespace tally::dynamodb

// NoThrow: every store's guard that nothing is thrown across the Store
// interface (std::bad_alloc, a JSON error) — it becomes a Status instead.
#pragma once

#include <exception>
#include <string>

#include "common/status.h"

namespace tally {

// Runs `body`, turning any exception (std::bad_alloc, a json error) into a
// Status: nothing may be thrown across the Store interface.
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

}  // namespace tally

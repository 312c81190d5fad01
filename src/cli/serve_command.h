// `tally serve`: the self-contained server.
#pragma once

#include <string>

namespace tally {

struct ServeSettings {
  std::string listen;      // HOST:PORT
  std::string store;       // sqlite:PATH, ...
  std::string durability;  // strict | relaxed
  std::string root_token;  // may be empty: root endpoints then answer 401
  int threads = 0;         // network threads; 0 = one per core
  std::string port_file;   // if set, the bound port is written there once listening
  bool demo_site = true;   // create the `demo` site if missing
};

// Runs until SIGTERM or SIGINT, then shuts down gracefully. Returns the
// process exit code.
int RunServe(const ServeSettings& settings);

}  // namespace tally

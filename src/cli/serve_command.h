// `tally serve`: the self-contained server.
#pragma once

#include <string>

namespace tally {

struct ServeSettings {
  std::string listen;              // HOST:PORT
  std::string store;               // sqlite:PATH, ...
  std::string durability;          // strict | relaxed
  std::string root_token;          // may be empty: root endpoints then answer 401
  int threads = 0;                 // network threads; 0 = one per core
  std::string port_file;           // if set, the bound port is written there once listening
  bool demo_site = true;           // create the `demo` site if missing
  bool trust_proxy = false;        // believe X-Forwarded-For's last address
  int rate_limit_per_minute = 60;  // default per-client limit; 0 = off
  std::string bot_patterns_file;   // replaces the built-in bot list if set
};

// Runs until SIGTERM or SIGINT, then shuts down gracefully. Returns the
// process exit code.
int RunServe(const ServeSettings& settings);

}  // namespace tally

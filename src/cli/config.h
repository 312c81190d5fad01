// Where `tally`'s settings come from: a flag beats a TALLY_* environment
// variable, which beats the config file, which beats the built-in default.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/status.h"

namespace tally {

// A config file: `name = value` lines; '#' starts a comment; values may be
// in double quotes. Names are the long flag names (listen, store, ...).
class ConfigFile {
 public:
  static Result<ConfigFile> Load(const std::string& path);
  static Result<ConfigFile> Parse(const std::string& text);
  std::optional<std::string> Get(const std::string& name) const;

 private:
  std::map<std::string, std::string> values_;
};

// One setting's value by precedence. `flag` is what the command line gave
// (empty optional if the flag was not used), `env` the variable's name.
std::string ResolveSetting(const std::optional<std::string>& flag, const char* env,
                           const ConfigFile& file, const std::string& name,
                           const std::string& default_value);

// Reads a secret from a file: its first line, without surrounding white space.
Result<std::string> ReadSecretFile(const std::string& path);

}  // namespace tally

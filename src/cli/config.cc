#include "cli/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tally {
namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

Result<ConfigFile> ConfigFile::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto file = Parse(text.str());
  if (!file.ok()) return Status::InvalidArgument(path + ": " + file.status().message());
  return file;
}

Result<ConfigFile> ConfigFile::Parse(const std::string& text) {
  ConfigFile file;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) {
      return Status::InvalidArgument("line " + std::to_string(number) + ": expected name = value");
    }
    std::string name = Trim(line.substr(0, eq));
    std::string value = Trim(line.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (name.empty()) {
      return Status::InvalidArgument("line " + std::to_string(number) + ": empty name");
    }
    file.values_[name] = value;
  }
  return file;
}

std::optional<std::string> ConfigFile::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string ResolveSetting(const std::optional<std::string>& flag, const char* env,
                           const ConfigFile& file, const std::string& name,
                           const std::string& default_value) {
  if (flag) return *flag;
  if (env != nullptr) {
    if (const char* value = std::getenv(env); value != nullptr && *value != '\0') return value;
  }
  if (auto value = file.Get(name)) return *value;
  return default_value;
}

Result<std::string> ReadSecretFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read secret file " + path);
  std::string line;
  std::getline(in, line);
  line = Trim(line);
  if (line.empty()) return Status::InvalidArgument("secret file " + path + " is empty");
  return line;
}

}  // namespace tally

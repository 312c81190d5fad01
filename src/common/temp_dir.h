// TempDir: a new, empty directory under the system's temp directory, removed
// with everything in it when the TempDir goes. For tests and benchmarks that
// need a real file system of their own (a SQLite file, its WAL).
#pragma once

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace tally {

class TempDir {
 public:
  // Named "<prefix>-XXXXXX". Throws std::system_error if it cannot be made.
  explicit TempDir(std::string_view prefix = "tally") {
    std::string name = (std::filesystem::temp_directory_path() / prefix).string() + "-XXXXXX";
    if (mkdtemp(name.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + name);
    }
    path_ = name;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The path of `name` inside the directory, as the Open calls take it.
  std::string File(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace tally

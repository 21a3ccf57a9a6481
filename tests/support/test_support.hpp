// Shared by unit and system tests: temporary folders and running the real kforge binary.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "harness/util/subprocess.hpp"

namespace kforge::testing {

// A fresh folder under the system's temporary folder, removed with the object.
class TemporaryDirectory {
 public:
  TemporaryDirectory();
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::filesystem::path source_dir();
std::filesystem::path kforge_binary();

// Runs build/kforge with `arguments` in `working_directory`.
ProcessResult run_kforge(const std::vector<std::string>& arguments,
                         const std::filesystem::path& working_directory,
                         const std::map<std::string, std::string>& environment = {},
                         int time_limit_seconds = 300);

// Starts build/kforge with `arguments` and `environment` added to this process's, without waiting
// for it (so that a test can kill it), its stdout and stderr into `log`; its pid.
pid_t spawn_kforge(const std::vector<std::string>& arguments,
                   const std::map<std::string, std::string>& environment,
                   const std::filesystem::path& log);

void write_text(const std::filesystem::path& path, const std::string& text);

}  // namespace kforge::testing

#include "tests/support/test_support.hpp"

#include <unistd.h>

#include <cstdlib>
#include <random>

#include "harness/util/files.hpp"
#include "tests/support/test_cache.hpp"

namespace kforge::testing {

namespace fs = std::filesystem;

TemporaryDirectory::TemporaryDirectory() {
  std::random_device entropy;
  path_ = fs::temp_directory_path() /
          ("kforge-test-" + std::to_string(::getpid()) + "-" + std::to_string(entropy()));
  fs::create_directories(path_);
}

TemporaryDirectory::~TemporaryDirectory() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

// The environment wins over the build's paths: scripts/gpu-check.sh runs the test binaries from
// bundle/ on another machine, where the build folder does not exist.
fs::path source_dir() {
  const char* overridden = std::getenv("KFORGE_SOURCE_DIR");
  return overridden && *overridden ? overridden : KFORGE_SOURCE_DIR;
}
fs::path kforge_binary() {
  const char* overridden = std::getenv("KFORGE_BINARY");
  return overridden && *overridden ? overridden : KFORGE_BINARY;
}

ProcessResult run_kforge(const std::vector<std::string>& arguments,
                         const fs::path& working_directory,
                         const std::map<std::string, std::string>& environment,
                         int time_limit_seconds) {
  ProcessSpec spec;
  spec.program = kforge_binary();
  spec.arguments = arguments;
  spec.environment_overrides = environment;
  spec.working_directory = working_directory;
  spec.time_limit = std::chrono::seconds(time_limit_seconds);
  return run_process(spec);
}

void write_text(const fs::path& path, const std::string& text) {
  files::write_atomic(path, text);
}

fs::path test_cache_folder() {
  if (const char* folder = std::getenv("KFORGE_TEST_CACHE"); folder && *folder)
    return folder;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return fs::path(xdg) / "kforge-test";
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".cache" / "kforge-test";
  return fs::temp_directory_path() / "kforge-test-cache";
}

}  // namespace kforge::testing

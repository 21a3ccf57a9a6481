#include "tests/support/test_support.hpp"

#include <fcntl.h>
#include <spawn.h>
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

pid_t spawn_kforge(const std::vector<std::string>& arguments,
                   const std::map<std::string, std::string>& environment, const fs::path& log) {
  std::vector<std::string> words = {kforge_binary().string()};
  words.insert(words.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (std::string& word : words)
    argv.push_back(word.data());
  argv.push_back(nullptr);
  std::vector<std::string> variables;
  for (char** variable = environ; *variable != nullptr; ++variable)
    variables.emplace_back(*variable);
  for (const auto& [name, value] : environment)
    variables.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& variable : variables)
    envp.push_back(variable.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data()) != 0)
    pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
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

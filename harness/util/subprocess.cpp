#include "harness/util/subprocess.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <cstdlib>
#include <cstring>
#include <random>
#include <thread>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"

namespace kforge {
namespace bp = boost::process;
namespace fs = std::filesystem;

std::string ProcessResult::describe_end() const {
  if (timed_out) {
    return "timed out after " + std::to_string(duration.count() / 1000.0).substr(0, 5) + " s";
  }
  if (signal != 0) {
    return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  }
  return "exit code " + std::to_string(exit_code);
}

std::optional<fs::path> find_on_path(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) == 0)
      return fs::absolute(name);
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  if (path == nullptr)
    return std::nullopt;
  std::string_view rest(path);
  while (!rest.empty()) {
    size_t colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    fs::path candidate = fs::path(dir.empty() ? "." : std::string(dir)) / name;
    if (::access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate))
      return candidate;
    if (colon == std::string_view::npos)
      break;
    rest.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

namespace {

// Output goes to files rather than pipes: a child that prints a lot can never block on a full
// pipe while we wait for it, and we keep only the tail.
class ScratchFiles {
 public:
  ScratchFiles() {
    std::random_device entropy;
    dir_ = fs::temp_directory_path() /
           ("kforge-proc-" + std::to_string(::getpid()) + "-" + std::to_string(entropy()));
    files::ensure_directory(dir_);
  }
  ~ScratchFiles() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  fs::path path(const char* name) const { return dir_ / name; }

 private:
  fs::path dir_;
};

std::string read_tail(const fs::path& path, size_t max_bytes) {
  std::error_code failure;
  if (!fs::exists(path, failure))
    return {};
  return files::tail(files::read(path), max_bytes);
}

}  // namespace

ProcessResult run_process(const ProcessSpec& spec) {
  fs::path program = spec.program;
  if (!program.is_absolute()) {
    auto found = find_on_path(program.string());
    if (!found)
      throw Error("program not found on PATH", program.string());
    program = *found;
  }
  if (::access(program.c_str(), X_OK) != 0) {
    throw Error("program is not executable: " + std::string(std::strerror(errno)),
                program.string());
  }

  ScratchFiles scratch;
  fs::path input = scratch.path("stdin");
  fs::path output = scratch.path("stdout");
  fs::path error = scratch.path("stderr");
  files::write_atomic(input, spec.standard_input);

  bp::environment environment = boost::this_process::environment();
  for (const auto& [key, value] : spec.environment_overrides)
    environment[key] = value;
  fs::path directory = spec.working_directory.value_or(fs::current_path());

  auto started = std::chrono::steady_clock::now();
  std::error_code launch_failure;
  bp::child child(bp::exe = program.string(), bp::args = spec.arguments,
                  bp::std_in<input.string(), bp::std_out> output.string(),
                  bp::std_err > error.string(), bp::env = environment,
                  bp::start_dir = directory.string(), launch_failure);
  if (launch_failure)
    throw Error("cannot start: " + launch_failure.message(), program.string());

  ProcessResult result;
  auto deadline = started + spec.time_limit;
  auto pause = std::chrono::microseconds(200);
  std::error_code wait_failure;
  while (child.running(wait_failure)) {
    if (std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = true;
      child.terminate(wait_failure);
      break;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
  if (!result.timed_out) {
    child.wait(wait_failure);
    int status = child.native_exit_code();
    if (WIFSIGNALED(status)) {
      result.signal = WTERMSIG(status);
    } else {
      result.exit_code = WEXITSTATUS(status);
    }
  }
  result.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  result.standard_output = read_tail(output, spec.max_output_bytes);
  result.standard_error = read_tail(error, spec.max_output_bytes);
  return result;
}

}  // namespace kforge

#include "harness/util/subprocess.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/process.hpp>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "harness/util/child_process.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"

namespace kforge {
namespace bp = boost::process;
namespace fs = std::filesystem;

std::string ProcessResult::describe_end() const {
  if (timed_out) {
    return "timed out after " + std::to_string(duration.count() / 1000.0).substr(0, 5) + " s";
  }
  if (memory_exceeded) {
    return "killed at its memory limit (resident memory reached " +
           std::to_string(peak_resident_bytes >> 20) + " MiB)";
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

// The child's peak resident memory (VmHWM), 0 when it cannot be read.
uint64_t peak_resident_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:"))
      return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  }
  return 0;
}

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

  bp::environment environment = [&] {
    if (!spec.minimal_environment)
      return bp::environment(boost::this_process::environment());
    bp::environment minimal;
    for (const auto& [key, value] : minimal_environment(spec.refused_environment))
      minimal[key] = value;
    return minimal;
  }();
  for (const std::string& key : spec.refused_environment)
    environment.erase(key);
  for (const auto& [key, value] : spec.environment_overrides)
    environment[key] = value;
  fs::path directory = spec.working_directory.value_or(fs::current_path());

  ChildSetup setup;
  setup.own_process_group = spec.own_process_group;
  auto started = std::chrono::steady_clock::now();
  std::error_code launch_failure;
  bp::child child;
  start_child_on_spawning_thread([&] {
    child = bp::child(bp::exe = program.string(), bp::args = spec.arguments,
                      bp::std_in<input.string(), bp::std_out> output.string(),
                      bp::std_err > error.string(), bp::env = environment,
                      bp::start_dir = directory.string(), setup, launch_failure);
  });
  if (launch_failure)
    throw Error("cannot start: " + launch_failure.message(), program.string());
  pid_t pid = child.id();
  // The group, when the child has one, is killed while the child is still a zombie (waitid
  // with WNOWAIT): until it is reaped its pid, and so the group's id, cannot be reused.
  auto kill_group = [&] {
    if (spec.own_process_group)
      ::kill(-pid, SIGKILL);
  };

  ProcessResult result;
  auto deadline = started + spec.time_limit;
  auto pause = std::chrono::microseconds(200);
  for (;;) {
    siginfo_t info{};
    int waited = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if (waited != 0 && errno == EINTR)
      continue;
    if (waited != 0 || info.si_pid == pid)
      break;  // ended (or, impossibly, not our child any more)
    if (spec.max_resident_bytes != 0) {
      result.peak_resident_bytes = std::max(result.peak_resident_bytes, peak_resident_bytes(pid));
      if (result.peak_resident_bytes > spec.max_resident_bytes) {
        result.memory_exceeded = true;
        ::kill(pid, SIGKILL);
        break;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
  if (result.timed_out || result.memory_exceeded) {
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) != 0 &&
           errno == EINTR) {
    }
  }
  kill_group();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  child.detach();  // reaped here; Boost must neither wait for it nor kill it again
  if (!result.timed_out && !result.memory_exceeded) {
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

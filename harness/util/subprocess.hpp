// Running a program to completion with a time limit, capturing what it printed.
// Used for one-shot children (the Python reference runner, nvcc in benchmarks, the binary in
// tests). Long-lived workers speaking a protocol live in sandbox/.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kforge {

struct ProcessSpec {
  std::filesystem::path program;  // absolute, or a name searched for on PATH
  std::vector<std::string> arguments;
  std::map<std::string, std::string> environment_overrides;  // added to the environment
  // true: the child starts from minimal_environment() (child_process.hpp) rather than the whole
  // of this process's environment. For anything that runs a task's or a candidate's code.
  bool minimal_environment = false;
  std::vector<std::string> refused_environment;  // never passed on (llm.api_key_env's name)
  // true: the child leads a process group of its own, and at the time limit, the memory limit
  // or its end the whole group is killed, so that its own children go with it.
  bool own_process_group = false;
  // Peak resident memory (VmHWM) the child may reach; past it the child (and its group) is
  // killed and the result says memory_exceeded. 0: no limit. Sampled while waiting, so a child
  // can overshoot by what it allocates in a few milliseconds.
  uint64_t max_resident_bytes = 0;
  std::string standard_input;
  std::optional<std::filesystem::path> working_directory;
  std::chrono::milliseconds time_limit{std::chrono::minutes(10)};
  size_t max_output_bytes = 1 << 20;  // per stream; the tail is kept
};

struct ProcessResult {
  int exit_code = -1;                // valid when neither signalled nor timed out
  int signal = 0;                    // the signal that ended it, 0 if it exited
  bool timed_out = false;            // killed by us at the time limit
  bool memory_exceeded = false;      // killed by us at the memory limit
  uint64_t peak_resident_bytes = 0;  // the child's VmHWM at its last sample
  std::string standard_output;
  std::string standard_error;
  std::chrono::milliseconds duration{0};

  bool succeeded() const { return !timed_out && !memory_exceeded && signal == 0 && exit_code == 0; }
  // "exit code 3", "killed by signal 9 (Killed)", "timed out after 30 s",
  // "killed at its memory limit of 4096 MiB".
  std::string describe_end() const;
};

// Runs the program and waits for it, killing it at the time limit. The child dies with this
// process (child_process.hpp). Throws Error only when the program cannot be started at all (not
// found, not executable).
ProcessResult run_process(const ProcessSpec& spec);

// The absolute path of `name` on PATH, if it is there.
std::optional<std::filesystem::path> find_on_path(const std::string& name);

}  // namespace kforge

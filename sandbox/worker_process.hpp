// One sandboxed worker process and the two pipes to it (Boost.Process), shared by the compile
// pool and the GPU worker client: send a line, read a line until a deadline (telling a timeout, a
// line over the length limit and the end of output apart), kill and reap, and the tail of the
// worker's stderr file for the failure report. The address-space limit is optional: the compile
// pool sets one; a process that initialises CUDA must not get one (CUDA reserves huge virtual
// ranges).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kforge {

struct WorkerProcessOptions {
  std::filesystem::path program;
  std::vector<std::string> arguments;
  std::filesystem::path directory;    // the worker's working folder
  std::filesystem::path stderr_path;  // its stderr goes here (truncated at start)
  uint64_t address_space_bytes = 0;   // RLIMIT_AS in the child; 0: no limit
  size_t max_line_bytes = 8 << 20;    // a longer line without a newline is kTooLong
  std::string what = "worker";        // "compile worker", for error messages
};

class WorkerProcess {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Read { kLine, kTimeout, kEnded, kTooLong };

  // Starts the process; throws Error when it cannot start.
  explicit WorkerProcess(WorkerProcessOptions options);
  ~WorkerProcess();  // kills and reaps the worker if it still runs
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // False when the worker is gone (its stdin is closed). The caller ignores SIGPIPE.
  bool send(const std::string& line);

  // The next line (without its newline), waiting until `deadline`; samples the worker's peak
  // virtual memory while waiting.
  Read read_line(Clock::time_point deadline, std::string& line);

  // Kills the worker (if still running) and reaps it; the raw wait status.
  int kill();
  // Waits for a worker whose output ended; kills it if it does not exit within two seconds.
  int reap();

  // The last `max_bytes` of the worker's stderr file, whole lines, trimmed.
  std::string stderr_tail(size_t max_bytes = 2048) const;

  uint64_t peak_virtual_bytes() const { return peak_bytes_; }
  // True when an address-space limit is set and the worker got within half of it.
  bool near_memory_limit() const;
  pid_t pid() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  WorkerProcessOptions options_;
  std::string buffer_;
  uint64_t peak_bytes_ = 0;
};

// "exited with code 3", "killed by signal 9 (Killed)".
std::string describe_wait_status(int status);
// The first `max` characters of `text`, with anything unprintable shown as '?'.
std::string printable_prefix(std::string_view text, size_t max = 80);
// The path of the running executable (/proc/self/exe).
std::filesystem::path this_executable();

}  // namespace kforge

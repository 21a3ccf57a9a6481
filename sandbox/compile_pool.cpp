#include "sandbox/compile_pool.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <csignal>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "sandbox/compile_worker.hpp"
#include "sandbox/nvrtc_api.hpp"
#include "sandbox/nvrtc_compiler.hpp"

namespace kforge {
namespace bp = boost::process;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxReplyBytes = 8 << 20;  // a log is truncated to 16 KiB; 8 MiB is garbage
constexpr auto kStartLimit = std::chrono::seconds(30);

// Runs in the child between fork and exec: the address-space limit. Only async-signal-safe
// calls here.
struct AddressSpaceLimit : bp::extend::handler {
  rlim_t bytes;
  explicit AddressSpaceLimit(rlim_t limit) : bytes(limit) {}
  template <class Executor>
  void on_exec_setup(Executor&) const {
    rlimit limit{bytes, bytes};
    ::setrlimit(RLIMIT_AS, &limit);
  }
};

uint64_t peak_virtual_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmPeak:"))
      return std::stoull(line.substr(7)) * 1024;
  }
  return 0;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) {
    int signal = WTERMSIG(status);
    return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  }
  if (WIFEXITED(status))
    return "exited with code " + std::to_string(WEXITSTATUS(status));
  return "ended";
}

std::string printable_prefix(std::string_view text, size_t max = 80) {
  std::string out;
  for (unsigned char c : text.substr(0, max))
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  return out;
}

// Both ends close on exec: a worker started by another thread must not inherit this worker's
// pipes, or closing our end would never reach this worker as end-of-file. (The ends a worker
// needs are dup2'ed onto its stdin and stdout, which clears the flag there.)
bp::pipe close_on_exec_pipe() {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0)
    throw Error(std::string("cannot create a pipe: ") + std::strerror(errno), "compile pool");
  return bp::pipe(ends[0], ends[1]);
}

fs::path this_executable() {
  std::error_code failure;
  fs::path path = fs::read_symlink("/proc/self/exe", failure);
  if (failure)
    throw Error("cannot find this program's path: " + failure.message(), "/proc/self/exe");
  return path;
}

}  // namespace

// One worker process and the two pipes to it. Used by one thread at a time (its slot's owner).
class WorkerProcess {
 public:
  enum class Read { kLine, kTimeout, kEnded, kTooLong };

  WorkerProcess(const CompilePoolOptions& options, const fs::path& directory)
      : to_worker_(close_on_exec_pipe()), from_worker_(close_on_exec_pipe()) {
    bp::environment environment = boost::this_process::environment();
    environment.erase(kCompileWorkerFaultsVariable);
    if (options.allow_test_faults)
      environment[kCompileWorkerFaultsVariable] = "1";
    memory_limit_ = static_cast<uint64_t>(options.memory_mb) << 20;
    std::error_code failure;
    child_ =
        bp::child(bp::exe = options.worker_program.string(), bp::args = options.worker_arguments,
                  bp::std_in<to_worker_, bp::std_out> from_worker_,
                  bp::std_err > (directory / "worker.stderr").string(), bp::env = environment,
                  bp::start_dir = directory.string(), AddressSpaceLimit(memory_limit_), failure);
    if (failure) {
      throw Error("cannot start a compile worker: " + failure.message(),
                  options.worker_program.string());
    }
    pid_ = child_.id();
  }

  ~WorkerProcess() { kill(); }
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // False when the worker is gone (its stdin is closed).
  bool send(const std::string& line) {
    std::string data = line + "\n";
    size_t written = 0;
    while (written < data.size()) {
      ssize_t n = ::write(to_worker_.native_sink(), data.data() + written, data.size() - written);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false;
      written += static_cast<size_t>(n);
    }
    return true;
  }

  // The next line, waiting until `deadline`; samples the worker's peak memory while waiting.
  Read read_line(Clock::time_point deadline, std::string& line) {
    for (;;) {
      size_t newline = buffer_.find('\n');
      if (newline != std::string::npos) {
        line = buffer_.substr(0, newline);
        buffer_.erase(0, newline + 1);
        return Read::kLine;
      }
      if (buffer_.size() > kMaxReplyBytes)
        return Read::kTooLong;
      auto now = Clock::now();
      if (now >= deadline)
        return Read::kTimeout;
      auto wait = std::min<Clock::duration>(deadline - now, std::chrono::milliseconds(100));
      pollfd descriptor{from_worker_.native_source(), POLLIN, 0};
      int ready = ::poll(
          &descriptor, 1,
          static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()) +
              1);
      if (ready < 0 && errno == EINTR)
        continue;
      if (ready == 0) {
        peak_bytes_ = std::max(peak_bytes_, peak_virtual_bytes(pid_));
        continue;
      }
      char chunk[65536];
      ssize_t n = ::read(from_worker_.native_source(), chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return Read::kEnded;
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // Kills the worker (if still running) and reaps it; the raw wait status.
  int kill() {
    if (reaped_)
      return wait_status_;
    std::error_code ignored;
    if (child_.valid() && child_.running(ignored))
      ::kill(pid_, SIGKILL);
    return reap();
  }

  // Waits for a worker whose output ended; kills it if it does not exit promptly.
  int reap() {
    if (reaped_)
      return wait_status_;
    auto deadline = Clock::now() + std::chrono::seconds(2);
    int status = 0;
    for (;;) {
      pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_ || done < 0)
        break;
      if (Clock::now() >= deadline)
        ::kill(pid_, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    child_.detach();  // reaped here; boost must not wait or terminate it again
    reaped_ = true;
    wait_status_ = status;
    return status;
  }

  bool near_memory_limit() const { return peak_bytes_ * 2 >= memory_limit_; }
  uint64_t memory_limit() const { return memory_limit_; }
  pid_t pid() const { return pid_; }

 private:
  bp::pipe to_worker_;
  bp::pipe from_worker_;
  bp::child child_;
  pid_t pid_ = 0;
  std::string buffer_;
  uint64_t memory_limit_ = 0;
  uint64_t peak_bytes_ = 0;
  bool reaped_ = false;
  int wait_status_ = 0;
};

CompilePool::CompilePool(CompilePoolOptions options)
    : options_(std::move(options)),
      cache_((options_.cache_dir.empty() ? throw Error("the compile pool needs a cache folder")
                                         : options_.cache_dir)) {
  // A worker that dies while we write its request must not take this process with it.
  std::signal(SIGPIPE, SIG_IGN);
  if (options_.worker_program.empty())
    options_.worker_program = this_executable();
  int count = options_.workers > 0
                  ? options_.workers
                  : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  worker_directory_ = options_.cache_dir / "worker";
  files::ensure_directory(worker_directory_);
  include_roots_ = cuda_include_roots();
  slots_.resize(static_cast<size_t>(count));
  for (Slot& slot : slots_)
    slot.worker = start_worker();
}

CompilePool::~CompilePool() = default;

int CompilePool::workers_replaced() const {
  std::lock_guard lock(mutex_);
  return replaced_;
}

std::unique_ptr<WorkerProcess> CompilePool::start_worker() {
  auto worker = std::make_unique<WorkerProcess>(options_, worker_directory_);
  std::string line;
  auto read = worker->read_line(Clock::now() + kStartLimit, line);
  std::string where = options_.worker_program.string() + " worker compile";
  if (read != WorkerProcess::Read::kLine) {
    int status = worker->kill();
    throw Error("the compile worker did not start (" + describe_status(status) + ")", where);
  }
  nlohmann::json hello = nlohmann::json::parse(line, nullptr, false);
  if (!hello.is_object() || hello.value("hello", "") != "kforge-compile-worker") {
    worker->kill();
    throw Error("the compile worker greeted with '" + printable_prefix(line) + "'", where);
  }
  if (hello.contains("error")) {
    worker->kill();
    throw Error(hello["error"].get<std::string>(), where);
  }
  if (hello.value("protocol", 0) != kCompileProtocolVersion)
    throw Error("the compile worker speaks another protocol version", where);
  std::lock_guard lock(mutex_);
  nvrtc_version_ = hello.value("nvrtc_version", "");
  return worker;
}

size_t CompilePool::acquire() {
  std::unique_lock lock(mutex_);
  for (;;) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (!slots_[i].busy) {
        slots_[i].busy = true;
        return i;
      }
    }
    slot_freed_.wait(lock);
  }
}

void CompilePool::release(size_t slot) {
  {
    std::lock_guard lock(mutex_);
    slots_[slot].busy = false;
  }
  slot_freed_.notify_one();
}

CompileResult CompilePool::compile(const CompileRequest& request) {
  auto started = Clock::now();
  auto finish = [&](CompileResult result) {
    result.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    return result;
  };
  if (!is_valid_arch(request.arch))
    throw Error("architecture '" + request.arch + "' is not of the form sm_XX", "compile request");
  check_nvrtc_options(request.options);
  // Checked here as well as in the worker: a 1 GiB or non-UTF-8 source never reaches the pipe.
  if (auto violation = check_compile_request(request, include_roots_, options_.max_source_bytes)) {
    CompileResult result;
    result.status = violation->status;
    result.detail = violation->detail;
    result.arch = request.arch;
    result.nvrtc_version = nvrtc_version_;
    return finish(result);
  }
  std::string key = CompileCache::key(request, nvrtc_version_);
  bool cacheable = options_.use_cache && request.test_fault.empty();
  if (cacheable) {
    if (auto hit = cache_.find(key))
      return finish(*hit);
  }

  fs::path staging = cache_.new_staging_dir();
  size_t index = acquire();
  CompileResult result;
  try {
    result = compile_in_worker(slots_[index], request, staging);
  } catch (...) {
    release(index);
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    throw;
  }
  release(index);

  std::error_code ignored;
  bool deterministic =
      result.status == CompileStatus::kOk || result.status == CompileStatus::kNvrtcError;
  if (cacheable && deterministic) {
    result = cache_.store(key, result, staging);
  } else if (!result.ok()) {
    fs::remove_all(staging, ignored);
  } else if (!options_.use_cache) {
    // Uncached outputs stay where the worker wrote them; the caller owns that folder.
  }
  result.cache_key = key;
  return finish(result);
}

CompileResult CompilePool::compile_in_worker(Slot& slot, const CompileRequest& request,
                                             const fs::path& output_dir) {
  uint64_t id = 0;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
  }
  nlohmann::json message = {{"id", id},
                            {"source", request.source},
                            {"name", request.name},
                            {"defines", request.defines},
                            {"arch", request.arch},
                            {"options", request.options},
                            {"output_dir", output_dir.string()},
                            {"max_source_bytes", options_.max_source_bytes}};
  if (options_.allow_test_faults && !request.test_fault.empty())
    message["fault"] = request.test_fault;
  std::string line = message.dump();

  CompileResult failure;
  failure.arch = request.arch;
  failure.nvrtc_version = nvrtc_version_;
  auto replace = [&](CompileStatus status, std::string detail) {
    slot.worker.reset();
    {
      std::lock_guard lock(mutex_);
      ++replaced_;
    }
    failure.status = status;
    failure.detail = std::move(detail);
    slot.worker = start_worker();
    return failure;
  };

  // A worker found dead when we hand it a request (killed while idle, say) is replaced and the
  // request sent again, once: that death is not this candidate's doing.
  bool sent = slot.worker && slot.worker->send(line);
  if (!sent) {
    slot.worker = start_worker();
    if (!slot.worker->send(line))
      return replace(CompileStatus::kWorkerCrashed, "the compile worker closed its input");
  }

  auto deadline = Clock::now() + options_.time_limit;
  std::string reply_line;
  switch (slot.worker->read_line(deadline, reply_line)) {
    case WorkerProcess::Read::kTimeout: {
      slot.worker->kill();
      double seconds = std::chrono::duration<double>(options_.time_limit).count();
      char text[64];
      std::snprintf(text, sizeof text, "%.3g s", seconds);
      return replace(CompileStatus::kTimeLimit,
                     std::string("the compile ran past the time limit of ") + text +
                         " and its worker was killed");
    }
    case WorkerProcess::Read::kTooLong:
      slot.worker->kill();
      return replace(CompileStatus::kWorkerCrashed, "the compile worker wrote over " +
                                                        std::to_string(kMaxReplyBytes >> 20) +
                                                        " MiB without ending a line");
    case WorkerProcess::Read::kEnded: {
      int status = slot.worker->reap();
      bool memory =
          slot.worker->near_memory_limit() || (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
      std::string how = describe_status(status);
      if (memory) {
        return replace(CompileStatus::kMemoryLimit,
                       "the compile worker died near its memory limit of " +
                           std::to_string(options_.memory_mb) + " MiB (" + how + ")");
      }
      return replace(CompileStatus::kWorkerCrashed,
                     "the compile worker died during the compile (" + how + ")");
    }
    case WorkerProcess::Read::kLine:
      break;
  }

  nlohmann::json reply = nlohmann::json::parse(reply_line, nullptr, false);
  if (!reply.is_object() || reply.value("id", nlohmann::json()) != nlohmann::json(id)) {
    slot.worker->kill();
    return replace(CompileStatus::kWorkerCrashed,
                   "the compile worker answered with something that is not its reply: '" +
                       printable_prefix(reply_line) + "'");
  }
  if (reply.contains("error"))
    throw Error(reply["error"].get<std::string>(), "compile worker");
  try {
    return compile_result_from_json(reply);
  } catch (const Error& bad) {
    slot.worker->kill();
    return replace(CompileStatus::kWorkerCrashed,
                   "the compile worker's reply is malformed: " + bad.message());
  }
}

}  // namespace kforge

#include "sandbox/worker_process.hpp"

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
#include <thread>

#include "harness/util/child_process.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"

namespace kforge {
namespace bp = boost::process;
namespace fs = std::filesystem;
using Clock = WorkerProcess::Clock;

namespace {

uint64_t read_peak_virtual_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmPeak:"))
      return std::stoull(line.substr(7)) * 1024;
  }
  return 0;
}

// Both ends close on exec: a worker started by another thread must not inherit this worker's
// pipes, or closing our end would never reach this worker as end-of-file. (The ends a worker
// needs are dup2'ed onto its stdin and stdout, which clears the flag there.)
bp::pipe close_on_exec_pipe(const std::string& what) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0)
    throw Error(std::string("cannot create a pipe: ") + std::strerror(errno), what);
  return bp::pipe(ends[0], ends[1]);
}

}  // namespace

struct WorkerProcess::Impl {
  bp::pipe to_worker;
  bp::pipe from_worker;
  bp::child child;
  pid_t pid = 0;
  bool reaped = false;
  int wait_status = 0;
};

WorkerProcess::WorkerProcess(WorkerProcessOptions options)
    : impl_(std::make_unique<Impl>(Impl{
          close_on_exec_pipe(options.what), close_on_exec_pipe(options.what), {}, 0, false, 0})),
      options_(std::move(options)) {
  // A worker runs candidate code (or compiles it): it gets the minimal environment, never the
  // API key, and dies with kforge.
  bp::environment environment;
  for (const auto& [name, value] : minimal_environment())
    environment[name] = value;
  ChildSetup setup;
  setup.address_space_bytes = options_.address_space_bytes;
  std::error_code failure;
  start_child_on_spawning_thread([&] {
    impl_->child = bp::child(bp::exe = options_.program.string(), bp::args = options_.arguments,
                             bp::std_in<impl_->to_worker, bp::std_out> impl_->from_worker,
                             bp::std_err > options_.stderr_path.string(), bp::env = environment,
                             bp::start_dir = options_.directory.string(), setup, failure);
  });
  if (failure)
    throw Error("cannot start a " + options_.what + ": " + failure.message(),
                options_.program.string());
  impl_->pid = impl_->child.id();
}

WorkerProcess::~WorkerProcess() {
  kill();
}

pid_t WorkerProcess::pid() const {
  return impl_->pid;
}

bool WorkerProcess::near_memory_limit() const {
  return options_.address_space_bytes != 0 && peak_bytes_ * 2 >= options_.address_space_bytes;
}

bool WorkerProcess::send(const std::string& line) {
  std::string data = line + "\n";
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n =
        ::write(impl_->to_worker.native_sink(), data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    written += static_cast<size_t>(n);
  }
  return true;
}

WorkerProcess::Read WorkerProcess::read_line(Clock::time_point deadline, std::string& line) {
  for (;;) {
    size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      if (newline > options_.max_line_bytes)
        return Read::kTooLong;
      line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return Read::kLine;
    }
    if (buffer_.size() > options_.max_line_bytes)
      return Read::kTooLong;
    auto now = Clock::now();
    if (now >= deadline)
      return Read::kTimeout;
    auto wait = std::min<Clock::duration>(deadline - now, std::chrono::milliseconds(100));
    pollfd descriptor{impl_->from_worker.native_source(), POLLIN, 0};
    int ready = ::poll(
        &descriptor, 1,
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()) + 1);
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready == 0) {
      peak_bytes_ = std::max(peak_bytes_, read_peak_virtual_bytes(impl_->pid));
      continue;
    }
    char chunk[65536];
    ssize_t n = ::read(impl_->from_worker.native_source(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return Read::kEnded;
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

int WorkerProcess::kill() {
  if (impl_->reaped)
    return impl_->wait_status;
  // No child.running() here: it reaps a child that has exited, and reap() would then lose the
  // wait status. Until reap() the pid cannot be reused, so the signal reaches only this worker
  // (or its zombie, harmlessly).
  ::kill(impl_->pid, SIGKILL);
  return reap();
}

int WorkerProcess::reap() {
  if (impl_->reaped)
    return impl_->wait_status;
  auto deadline = Clock::now() + std::chrono::seconds(2);
  int status = 0;
  for (;;) {
    pid_t done = ::waitpid(impl_->pid, &status, WNOHANG);
    if (done == impl_->pid || done < 0)
      break;
    if (Clock::now() >= deadline)
      ::kill(impl_->pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  impl_->child.detach();  // reaped here; boost must not wait or terminate it again
  impl_->reaped = true;
  impl_->wait_status = status;
  return status;
}

std::string WorkerProcess::stderr_tail(size_t max_bytes) const {
  std::ifstream file(options_.stderr_path, std::ios::binary);
  if (!file)
    return {};
  file.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(std::max<std::streamoff>(0, file.tellg()));
  size_t start = size > max_bytes ? size - max_bytes : 0;
  file.seekg(static_cast<std::streamoff>(start));
  std::string text(size - start, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (start > 0) {
    size_t newline = text.find('\n');
    text.erase(0, newline == std::string::npos ? 0 : newline + 1);
  }
  for (char& c : text) {
    unsigned char byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\n' && c != '\t') || byte == 0x7f)
      c = '?';
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

std::string describe_wait_status(int status) {
  if (WIFSIGNALED(status)) {
    int signal = WTERMSIG(status);
    return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  }
  if (WIFEXITED(status))
    return "exited with code " + std::to_string(WEXITSTATUS(status));
  return "ended";
}

std::string printable_prefix(std::string_view text, size_t max) {
  std::string out;
  for (unsigned char c : text.substr(0, max))
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  return out;
}

fs::path this_executable() {
  std::error_code failure;
  fs::path path = fs::read_symlink("/proc/self/exe", failure);
  if (failure)
    throw Error("cannot find this program's path: " + failure.message(), "/proc/self/exe");
  return path;
}

}  // namespace kforge

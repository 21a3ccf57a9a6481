// A kforge process that a system test starts without waiting for it (a node of a shared run or
// night): its output goes to a file, and it can be interrupted, stopped and continued
// (SIGSTOP, SIGCONT), killed with SIGKILL or waited for with a time limit.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "harness/util/files.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::testing {

class KforgeNode {
 public:
  KforgeNode(const std::vector<std::string>& arguments,
             const std::map<std::string, std::string>& environment,
             const std::filesystem::path& log)
      : log_(log), pid_(spawn_kforge(arguments, environment, log)) {
    EXPECT_GT(pid_, 0);
  }
  ~KforgeNode() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  void interrupt() { ::kill(pid_, SIGINT); }
  // Stops it, every thread (its heartbeat too), as a stalled machine or a long pause would, and
  // lets it go on; its child processes (GPU workers) are not stopped.
  void pause() { ::kill(pid_, SIGSTOP); }
  void go_on() { ::kill(pid_, SIGCONT); }
  void kill_hard() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // The exit code, or -1 when it did not end within `seconds` (then it is killed).
  int wait(double seconds) {
    if (exited_) {
      pid_ = -1;
      return exit_code_;
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill_hard();
    return -1;
  }
  std::string log() const { return files::read(log_); }
  // The process id while it runs (-1 once it is reaped).
  pid_t pid() const { return pid_; }
  // False once it has ended (it is then reaped, and wait() answers its exit code).
  bool running() {
    if (pid_ <= 0 || exited_)
      return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_)
      return true;
    exited_ = true;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
};

// Polls `condition` every 100 ms for at most `seconds`; true once it held.
template <typename Condition>
bool wait_until(double seconds, Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace kforge::testing

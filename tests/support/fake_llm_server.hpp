// Starts tests/support/fake_llm_server.py (Python standard library only) as a child process
// bound to 127.0.0.1 on a free port, and kills it when the object goes away. Header-only so
// that any test file can use it without a CMake change.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/util/subprocess.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::testing {

class FakeLlmServer {
 public:
  explicit FakeLlmServer(const std::vector<std::string>& arguments = {}) {
    std::string python =
        std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    std::string script = (source_dir() / "tests/support/fake_llm_server.py").string();
    int out[2];
    if (::pipe(out) != 0)
      throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0)
      throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      std::vector<std::string> words = {python, script};
      words.insert(words.end(), arguments.begin(), arguments.end());
      std::vector<char*> argv;
      for (std::string& word : words)
        argv.push_back(word.data());
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    // The port, one line, within 30 s (Python starts slowly on a loaded machine).
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd wait{out[0], POLLIN, 0};
      if (::poll(&wait, 1, 200) <= 0)
        continue;
      char buffer[64];
      ssize_t got = ::read(out[0], buffer, sizeof(buffer));
      if (got <= 0)
        break;
      line.append(buffer, static_cast<size_t>(got));
    }
    ::close(out[0]);
    port_ = std::atoi(line.c_str());
    if (port_ <= 0) {
      stop();
      throw std::runtime_error("the fake LLM server did not print its port");
    }
  }
  ~FakeLlmServer() { stop(); }
  FakeLlmServer(const FakeLlmServer&) = delete;
  FakeLlmServer& operator=(const FakeLlmServer&) = delete;

  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

  // Every request the server received (path, model, headers, body), read through its control
  // endpoint by python3: the system tests do not link kforge's HTTP client.
  nlohmann::json requests() const {
    ProcessResult result = run_process(
        {.program = "python3",
         .arguments = {"-c",
                       "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen("
                       "'http://127.0.0.1:" +
                           std::to_string(port_) + "/control/requests').read().decode())"},
         .time_limit = std::chrono::seconds(30)});
    if (!result.succeeded())
      throw std::runtime_error("reading the fake LLM server's requests failed: " +
                               result.standard_error);
    return nlohmann::json::parse(result.standard_output);
  }

 private:
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace kforge::testing

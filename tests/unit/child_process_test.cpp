// The children kforge starts: the allowed environment, process groups killed whole, the
// resident-memory limit, and starting from the one spawning thread.
#include "harness/util/child_process.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "harness/util/files.hpp"
#include "harness/util/subprocess.hpp"
#include "sandbox/worker_process.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;

TEST(ChildProcess, TheEnvironmentKeepsWhatToolsNeedAndNoSecrets) {
  ::setenv("KFORGE_CHILD_TEST_PLAIN", "1", 1);
  ::setenv("KFORGE_CHILD_TEST_API_KEY", "secret", 1);
  ::setenv("OPENAI_API_KEY", "secret", 1);
  ::setenv("HF_TOKEN", "secret", 1);
  ::setenv("CHILD_TEST_UNLISTED", "1", 1);
  ::setenv("CUDA_VISIBLE_DEVICES", "0", 1);
  ::setenv("LC_ALL", "C.UTF-8", 1);
  auto environment = minimal_environment({"KFORGE_CHILD_TEST_PLAIN_REFUSED"});
  EXPECT_TRUE(environment.contains("PATH"));
  EXPECT_TRUE(environment.contains("CUDA_VISIBLE_DEVICES"));
  EXPECT_TRUE(environment.contains("LC_ALL"));
  EXPECT_TRUE(environment.contains("KFORGE_CHILD_TEST_PLAIN"));
  EXPECT_FALSE(environment.contains("KFORGE_CHILD_TEST_API_KEY"));
  EXPECT_FALSE(environment.contains("OPENAI_API_KEY"));
  EXPECT_FALSE(environment.contains("HF_TOKEN"));
  EXPECT_FALSE(environment.contains("CHILD_TEST_UNLISTED"));
  EXPECT_FALSE(
      minimal_environment({"KFORGE_CHILD_TEST_PLAIN"}).contains("KFORGE_CHILD_TEST_PLAIN"));
  EXPECT_FALSE(is_allowed_in_child_environment("cuda_secret_path"));
  EXPECT_FALSE(is_allowed_in_child_environment("PyTorch_Password"));

  // run_process with the minimal environment passes exactly that, plus its overrides.
  ProcessSpec spec;
  spec.program = "/usr/bin/env";
  spec.minimal_environment = true;
  spec.environment_overrides = {{"ADDED", "yes"}};
  ProcessResult result = run_process(spec);
  ASSERT_TRUE(result.succeeded()) << result.describe_end();
  EXPECT_NE(result.standard_output.find("ADDED=yes"), std::string::npos);
  EXPECT_NE(result.standard_output.find("KFORGE_CHILD_TEST_PLAIN=1"), std::string::npos);
  EXPECT_EQ(result.standard_output.find("secret"), std::string::npos) << result.standard_output;
  EXPECT_EQ(result.standard_output.find("CHILD_TEST_UNLISTED"), std::string::npos);
  // A refused name is gone even from the whole environment.
  spec.minimal_environment = false;
  spec.refused_environment = {"OPENAI_API_KEY"};
  result = run_process(spec);
  EXPECT_EQ(result.standard_output.find("OPENAI_API_KEY"), std::string::npos);
  EXPECT_NE(result.standard_output.find("CHILD_TEST_UNLISTED"), std::string::npos);
  for (const char* name : {"KFORGE_CHILD_TEST_PLAIN", "KFORGE_CHILD_TEST_API_KEY", "OPENAI_API_KEY",
                           "HF_TOKEN", "CHILD_TEST_UNLISTED"})
    ::unsetenv(name);
}

bool process_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text))
    return false;
  size_t close = text.rfind(')');
  return close != std::string::npos && text[close + 2] != 'Z';
}

TEST(ChildProcess, AGroupIsKilledWholeAtTheTimeLimitAndAtItsEnd) {
  testing::TemporaryDirectory dir;
  for (bool wait_for_it : {true, false}) {
    fs::path pid_file = dir / "grandchild.pid";
    ProcessSpec spec;
    spec.program = "/bin/sh";
    // A grandchild that would outlive its parent: at the time limit (the parent waits for
    // it), and after the parent's own end (it does not).
    spec.arguments = {"-c", "sleep 300 & echo $! > '" + pid_file.string() + "'; " +
                                (wait_for_it ? "wait" : "exit 0")};
    spec.own_process_group = true;
    spec.time_limit = std::chrono::seconds(2);
    ProcessResult result = run_process(spec);
    EXPECT_EQ(result.timed_out, wait_for_it) << result.describe_end();
    pid_t grandchild = std::stoi(files::read(pid_file));
    for (int i = 0; i < 50 && process_alive(grandchild); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(process_alive(grandchild)) << "the grandchild outlived its group";
    ::kill(grandchild, SIGKILL);
  }
}

TEST(ChildProcess, TheResidentMemoryLimitKillsAndSaysSo) {
  ProcessSpec spec;
  spec.program = "/usr/bin/python3";
  spec.arguments = {"-c", "import time\nx = b'x' * (400 << 20)\ntime.sleep(30)\n"};
  spec.max_resident_bytes = 200ull << 20;
  spec.time_limit = std::chrono::seconds(60);
  ProcessResult result = run_process(spec);
  EXPECT_TRUE(result.memory_exceeded);
  EXPECT_FALSE(result.succeeded());
  EXPECT_GT(result.peak_resident_bytes, 200ull << 20);
  EXPECT_LT(result.duration, std::chrono::seconds(30));
  EXPECT_NE(result.describe_end().find("memory limit"), std::string::npos);
  // Under the limit nothing happens.
  spec.arguments = {"-c", "x = b'x' * (20 << 20)\n"};
  EXPECT_TRUE(run_process(spec).succeeded());
}

TEST(ChildProcess, AWorkerStartedByAThreadThatEndsLivesOn) {
  // The kernel sends the parent-death signal when the thread that forked the child ends; a
  // worker started (or replaced) by a short-lived thread must outlive that thread.
  testing::TemporaryDirectory dir;
  std::unique_ptr<WorkerProcess> worker;
  std::thread starter([&] {
    WorkerProcessOptions options;
    options.program = "/bin/cat";
    options.directory = dir.path();
    options.stderr_path = dir / "cat.stderr";
    worker = std::make_unique<WorkerProcess>(options);
  });
  starter.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_TRUE(process_alive(worker->pid()));
  ASSERT_TRUE(worker->send("still here"));
  std::string line;
  EXPECT_EQ(worker->read_line(WorkerProcess::Clock::now() + std::chrono::seconds(5), line),
            WorkerProcess::Read::kLine);
  EXPECT_EQ(line, "still here");
}

}  // namespace
}  // namespace kforge

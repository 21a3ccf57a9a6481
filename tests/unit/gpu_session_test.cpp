// harness/evaluation/gpu_session: which GPU worker a session starts. The worker command comes
// in through the options (the CLI reads KFORGE_GPU_WORKER once, cli/context.hpp); nothing
// below the CLI reads the environment for it.
#include "harness/evaluation/gpu_session.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "harness/workspace.hpp"
#include "sandbox/gpu_worker_client.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

std::vector<std::string> test_worker_command() {
  return {"/usr/bin/python3",
          (testing::source_dir() / "tests/support/misbehaving_gpu_worker.py").string()};
}

TEST(GpuSessionTest, AWorkerCommandStartsThatWorkerWithoutAGpu) {
  testing::TemporaryDirectory directory;
  Workspace workspace(WorkspaceOptions{.root = directory.path()});
  GpuSession session(workspace, /*gpu_visible=*/false, test_worker_command());
  ASSERT_TRUE(session.runs()) << session.no_run_reason();
  EXPECT_EQ(session.gpu()->device().name, "kforge test worker (no GPU)");
  EXPECT_EQ(session.arch(), "sm_90");
  EvaluatorOptions options;
  session.configure(options);
  EXPECT_EQ(options.gpus, session.pool());
  EXPECT_EQ(session.pool()->size(), 1u);
}

TEST(GpuSessionTest, TheEnvironmentVariableAloneStartsNothing) {
  testing::TemporaryDirectory directory;
  Workspace workspace(WorkspaceOptions{.root = directory.path()});
  std::string command = test_worker_command()[0] + " " + test_worker_command()[1];
  ::setenv("KFORGE_GPU_WORKER", command.c_str(), 1);
  GpuSession session(workspace, /*gpu_visible=*/false);
  ::unsetenv("KFORGE_GPU_WORKER");
  EXPECT_FALSE(session.runs());
  EXPECT_EQ(session.no_run_reason(),
            "no GPU visible: the candidate compiled and its plan fits; nothing ran");
  EvaluatorOptions options;
  session.configure(options);
  EXPECT_EQ(options.gpus, nullptr);
  EXPECT_EQ(options.no_run_reason, session.no_run_reason());
}

TEST(GpuSessionTest, AWorkerThatCannotStartLeavesTheSessionWithItsReason) {
  testing::TemporaryDirectory directory;
  Workspace workspace(WorkspaceOptions{.root = directory.path()});
  GpuSession session(workspace, /*gpu_visible=*/false,
                     {(directory.path() / "no-such-worker").string()});
  EXPECT_FALSE(session.runs());
  EXPECT_NE(session.no_run_reason().find("its GPU worker did not start"), std::string::npos)
      << session.no_run_reason();
}

}  // namespace
}  // namespace kforge

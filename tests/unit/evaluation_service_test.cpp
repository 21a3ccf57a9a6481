// The evaluation service's settings come from the configuration, every key in one place: what
// `eval`, `optimize` and `library verify` evaluate with. (The service itself, with its workers,
// is tested through the real binary: tests/system/evaluation_service_test.cpp.)
#include "harness/evaluation/evaluation_service.hpp"

#include <gtest/gtest.h>

#include "harness/workspace.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

TEST(EvaluationServiceTest, EvaluatorOptionsTakeEveryKeyFromTheConfiguration) {
  Config config;
  config.set("compile.max_local_bytes", "1024");
  config.set("plan.max_kernels", "3");
  config.set("plan.max_scratch_bytes", "4096");
  config.set("verify.seeds", "5");
  config.set("timing.min_samples", "7");
  config.set("timing.baselines", "false");
  const EvaluatorOptions options = EvaluationService::evaluator_options(config, "sm_80");
  EXPECT_EQ(options.arch, "sm_80");
  EXPECT_EQ(options.max_local_bytes_per_thread, 1024);
  EXPECT_EQ(options.limits.max_kernels, 3);
  EXPECT_EQ(options.limits.max_scratch_bytes, 4096);
  EXPECT_EQ(options.run.seeds, 5);
  EXPECT_EQ(options.run.timing.min_samples, 7);
  EXPECT_FALSE(options.run.baselines);
  // No GPU is attached by the configuration alone.
  EXPECT_EQ(options.gpu, nullptr);
  EXPECT_EQ(options.reference, nullptr);
}

TEST(EvaluationServiceTest, DefaultsAreTheConfigurationsDefaults) {
  const EvaluatorOptions options = EvaluationService::evaluator_options(Config(), "sm_90");
  EXPECT_EQ(options.max_local_bytes_per_thread, Config().integer("compile.max_local_bytes"));
  EXPECT_EQ(options.run.seeds, Config().integer("verify.seeds"));
}

TEST(EvaluationServiceTest, CompilePoolOptionsTakeTheCompileKeys) {
  testing::TemporaryDirectory directory;
  Workspace workspace(WorkspaceOptions{.root = directory.path()});
  workspace.config().set("compile.workers", "3");
  workspace.config().set("compile.timeout_s", "9");
  workspace.config().set("compile.memory_mb", "512");
  const CompilePoolOptions configured = EvaluationService::compile_pool_options(workspace, 0);
  EXPECT_EQ(configured.workers, 3);
  EXPECT_EQ(configured.time_limit, std::chrono::seconds(9));
  EXPECT_EQ(configured.memory_mb, 512);
  EXPECT_EQ(configured.cache_dir, workspace.cache_dir("compile"));
  // A command that evaluates one candidate at a time asks for one worker.
  EXPECT_EQ(EvaluationService::compile_pool_options(workspace, 1).workers, 1);
}

}  // namespace
}  // namespace kforge

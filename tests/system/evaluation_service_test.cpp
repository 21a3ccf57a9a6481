// The commands that evaluate candidates (`eval`, `optimize`, `library verify`) through the real
// binary, a real store and real references: each builds its evaluation the one way
// (harness/evaluation/evaluation_service.hpp), so a configuration key and a GPU worker reach
// all of them. Before, `optimize` ignored `compile.max_local_bytes` and `library verify` opened
// no GPU session. The GPU is tests/support/emulated_gpu_worker.py, started through
// KFORGE_GPU_WORKER: it speaks the real protocol and runs a candidate by its kernel's name.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/util/files.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;

class EvaluationServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    workspace_ = new testing::TemporaryDirectory();
    // A local-memory limit far below the hardware's, and a short verification and timing.
    testing::write_text(workspace_->path() / "kforge.toml",
                        "python = \"/usr/bin/python3\"\n"
                        "[compile]\nmax_local_bytes = 1024\n"
                        "[verify]\nseeds = 2\n"
                        "[timing]\ninput_sets = 2\nwarmup = 1\nmin_samples = 4\n"
                        "max_samples = 4\nbaselines = false\n");
  }
  static void TearDownTestSuite() { delete workspace_; }

  static fs::path path(const std::string& relative) { return workspace_->path() / relative; }

  static ProcessResult kforge(const std::vector<std::string>& arguments, bool emulated_gpu) {
    std::map<std::string, std::string> environment;
    if (emulated_gpu)
      environment["KFORGE_GPU_WORKER"] =
          "/usr/bin/python3 " +
          (testing::source_dir() / "tests/support/emulated_gpu_worker.py").string();
    return run_kforge(arguments, workspace_->path(), environment, 300);
  }

  // A seed kernel of builtin/relu in the workspace's library folder lib/, with its manifest.
  static void add_seed(const std::string& variant, const std::string& source) {
    testing::write_text(path("lib/seeds/relu/" + variant + "/kernel.cu"), source);
    ProcessResult manifests =
        kforge({"library", "seed-manifests", "--library", path("lib").string()}, false);
    ASSERT_EQ(manifests.exit_code, 0) << manifests.standard_error;
  }

  static nlohmann::json verify(const std::string& name, int exit_code, bool emulated_gpu) {
    ProcessResult result = kforge(
        {"library", "verify", name, "--library", path("lib").string(), "--json"}, emulated_gpu);
    EXPECT_EQ(result.exit_code, exit_code) << result.standard_error << result.standard_output;
    return nlohmann::json::parse(result.standard_output);
  }

  static testing::TemporaryDirectory* workspace_;
};

testing::TemporaryDirectory* EvaluationServiceTest::workspace_ = nullptr;

const fs::path kLocalArray = "tests/system/data/eval/relu_local_array_4k.cu";

TEST_F(EvaluationServiceTest, EveryCommandHonoursCompileMaxLocalBytes) {
  const fs::path candidate = testing::source_dir() / kLocalArray;
  ProcessResult eval =
      kforge({"eval", candidate.string(), "--task", "builtin/relu", "--json"}, false);
  ASSERT_EQ(eval.exit_code, 0) << eval.standard_error;
  const nlohmann::json evaluated = nlohmann::json::parse(eval.standard_output);
  EXPECT_EQ(evaluated["verdict"], "compile_error");
  EXPECT_EQ(evaluated["reason"], "local_memory_limit");

  ProcessResult optimize = kforge(
      {"optimize", "builtin/relu", "--agent", "replay", "--from", candidate.string(), "--json"},
      false);
  ASSERT_EQ(optimize.exit_code, 0) << optimize.standard_error;
  const nlohmann::json optimized = nlohmann::json::parse(optimize.standard_output);
  EXPECT_EQ(optimized["tasks"][0]["attempts"], 1);
  EXPECT_EQ(optimized["tasks"][0]["verdicts"]["compile_error"], 1) << optimized.dump();

  add_seed("local_array", files::read(candidate));
  const nlohmann::json verified = verify("seeds/relu/local_array", 1, false);
  EXPECT_EQ(verified["kernels"][0]["verdict"], "compile_error");
  EXPECT_EQ(verified["kernels"][0]["reason"], "local_memory_limit");
}

TEST_F(EvaluationServiceTest, LibraryVerifyRunsKernelsOnTheGpuWorker) {
  // The emulated worker runs a kernel named `relu` honestly and leaves `unwritten`'s output
  // as the poison it wrote.
  add_seed("emulated", testing::emulated_candidate("relu"));
  add_seed("unwritten", testing::emulated_candidate("unwritten"));

  const nlohmann::json correct = verify("seeds/relu/emulated", 0, true);
  EXPECT_EQ(correct["gpu"], "kforge emulated GPU (tests only)");
  EXPECT_EQ(correct["kernels"][0]["verdict"], "correct");
  EXPECT_FALSE(correct["kernels"][0]["nothing_ran"].get<bool>());
  EXPECT_TRUE(correct["passed"].get<bool>());

  const nlohmann::json incorrect = verify("seeds/relu/unwritten", 1, true);
  EXPECT_EQ(incorrect["kernels"][0]["verdict"], "incorrect");
  EXPECT_EQ(incorrect["kernels"][0]["reason"], "unwritten_output");
  EXPECT_FALSE(incorrect["passed"].get<bool>());

  // Without a worker the same kernel compiles and binds, and nothing runs.
  const nlohmann::json compiled = verify("seeds/relu/unwritten", 0, false);
  EXPECT_TRUE(compiled["gpu"].is_null());
  EXPECT_EQ(compiled["kernels"][0]["verdict"], "compiled");
  EXPECT_TRUE(compiled["kernels"][0]["nothing_ran"].get<bool>());
}

}  // namespace
}  // namespace kforge

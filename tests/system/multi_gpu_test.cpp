// `kforge optimize` on several GPUs through the real binary and a real store: gpu.devices (the
// --gpus flag) starts one GPU worker per device (tests/support/emulated_gpu_worker.py through
// KFORGE_GPU_WORKER, told its device with --device as the real worker is), the run's tasks
// proceed side by side, and bad values are one-line errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "datasets/sqlite.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/tiny_workspace.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;

class MultiGpuTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    workspace_ = new testing::TemporaryDirectory();
    const fs::path root = workspace_->path();
    testing::write_two_tiny_tasks(root);
    ProcessResult imported = run_kforge({"tasks", "import", "problems", "--suite", "tiny"}, root);
    ASSERT_EQ(imported.exit_code, 0) << imported.standard_error;
    fs::create_directories(root / "candidates");
    for (int index = 0; index < 4; ++index) {
      std::string kernel = "relu_" + std::to_string(index);
      testing::write_text(root / "candidates" / (kernel + ".cu"),
                          testing::emulated_candidate(kernel));
    }
  }
  static void TearDownTestSuite() { delete workspace_; }

  static ProcessResult optimize(const std::vector<std::string>& extra, int latency_ms = 300) {
    std::vector<std::string> arguments = {"optimize", "tiny/tiny_a", "tiny/tiny_b", "--agent",
                                          "replay",   "--from",      "candidates",  "--json"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    std::string worker = "/usr/bin/python3 " +
                         (testing::source_dir() / "tests/support/emulated_gpu_worker.py").string() +
                         " --latency-ms " + std::to_string(latency_ms);
    return run_kforge(arguments, workspace_->path(), {{"KFORGE_GPU_WORKER", worker}});
  }

  static testing::TemporaryDirectory* workspace_;
};

testing::TemporaryDirectory* MultiGpuTest::workspace_ = nullptr;

TEST_F(MultiGpuTest, TwoGpusShareTheRunsTasks) {
  ProcessResult result = optimize({"--gpus", "0,1"});
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  nlohmann::json report = nlohmann::json::parse(result.standard_output);
  EXPECT_EQ(report["status"], "completed");
  ASSERT_EQ(report["tasks"].size(), 2u);
  for (const auto& task : report["tasks"])
    EXPECT_EQ(task["verdicts"]["correct"], 4) << task.dump();

  sql::Connection db((workspace_->path() / "kforge.db").string(), false);
  const std::string run = std::to_string(report["run_id"].get<int64_t>());
  // Both devices ran candidates, as each stored record says.
  auto query = db.prepare(
      "SELECT json_extract(environment, '$.device') FROM evaluations "
      "WHERE run_id = " +
      run);
  std::set<int64_t> devices;
  size_t evaluations = 0;
  while (query.step()) {
    devices.insert(query.integer(0));
    ++evaluations;
  }
  ASSERT_EQ(evaluations, 8u);
  // Whether the tasks ran side by side cannot be read from the stored rows: a candidate is
  // stored with its evaluation, and the GPUs take compiled candidates first come, first served,
  // so one task's evaluations may all come first (an ordering check here passed or failed with
  // the machine's load). GpuPoolTest checks the concurrency on the devices.
  EXPECT_EQ(devices, (std::set<int64_t>{0, 1}));
}

TEST_F(MultiGpuTest, BadDeviceListsAreOneLineErrors) {
  for (const char* bad : {"0,0", "-2", "two", "0,,1", "4096"}) {
    ProcessResult result = optimize({std::string("--gpus=") + bad}, 0);
    EXPECT_NE(result.exit_code, 0) << bad;
    const std::string& error = result.standard_error;
    EXPECT_EQ(error.rfind("kforge: error: gpu.devices", 0), 0u) << error;
    EXPECT_EQ(error.find('\n'), error.size() - 1) << error;
  }
}

}  // namespace
}  // namespace kforge

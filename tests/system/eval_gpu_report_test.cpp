// `kforge eval`'s full report where a GPU worker runs candidates, through the real binary, a
// real store and real references. The GPU itself is tests/support/emulated_gpu_worker.py,
// started through KFORGE_GPU_WORKER (for tests only): it speaks the real protocol and executes a
// candidate by its kernel's name, so verdicts, statistics and the report are kforge's own.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "datasets/sqlite.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/tiny_workspace.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;

using testing::emulated_candidate;

class EvalGpuReportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    workspace_ = new testing::TemporaryDirectory();
    ProcessResult imported = testing::import_tiny_relu_workspace(workspace_->path());
    ASSERT_EQ(imported.exit_code, 0) << imported.standard_error;
    for (const char* name : {"relu", "unwritten", "too_fast"})
      testing::write_text(workspace_->path() / (std::string(name) + ".cu"),
                          emulated_candidate(name));
  }
  static void TearDownTestSuite() { delete workspace_; }

  static ProcessResult eval(const std::string& kernel, std::vector<std::string> extra = {}) {
    std::vector<std::string> arguments = {"eval", kernel + ".cu", "--task", "tiny/tiny_relu"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    std::string worker = "/usr/bin/python3 " +
                         (testing::source_dir() / "tests/support/emulated_gpu_worker.py").string();
    return run_kforge(arguments, workspace_->path(), {{"KFORGE_GPU_WORKER", worker}});
  }

  static testing::TemporaryDirectory* workspace_;
};

testing::TemporaryDirectory* EvalGpuReportTest::workspace_ = nullptr;

TEST_F(EvalGpuReportTest, UnwrittenOutputReportShowsTheFailingSeedAndShape) {
  ProcessResult result = eval("unwritten");
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  const std::string& out = result.standard_output;
  EXPECT_NE(out.find("verdict: incorrect (unwritten_output)"), std::string::npos) << out;
  EXPECT_NE(out.find("seed 0            benchmark  FAILED"), std::string::npos) << out;
  EXPECT_NE(out.find("out[0,0]: got "), std::string::npos) << out;
  EXPECT_NE(out.find("time     skipped"), std::string::npos) << out;
  EXPECT_EQ(out.find("timing:"), std::string::npos) << out;
}

TEST_F(EvalGpuReportTest, CorrectCandidateReportHasEveryCheckTimingFloorAndBaselines) {
  ProcessResult result = eval("relu");
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  const std::string& out = result.standard_output;
  EXPECT_NE(out.find("verdict: correct"), std::string::npos) << out;
  EXPECT_NE(out.find("gpu: kforge emulated GPU (tests only) (driver emulated"), std::string::npos)
      << out;
  EXPECT_NE(out.find("seed 1            benchmark  passed"), std::string::npos) << out;
  EXPECT_NE(out.find("seed 2024 (timed) benchmark  passed"), std::string::npos) << out;
  EXPECT_NE(out.find("timing: median "), std::string::npos) << out;
  EXPECT_NE(out.find("4 samples, 1 kernels per iteration"), std::string::npos) << out;
  EXPECT_NE(out.find("physical floor: "), std::string::npos) << out;
  // The honest kernel runs at a third of the copy rate; the floor takes the read-only kernel's
  // bandwidth, 7% above it (tests/support/emulated_gpu_worker.py).
  EXPECT_NE(out.find("fraction of floor reached 0.31"), std::string::npos) << out;
  EXPECT_NE(out.find("no compute floor: no FLOPs counted"), std::string::npos) << out;
  EXPECT_NE(out.find("bytes-only floor"), std::string::npos) << out;
  EXPECT_NE(out.find("baselines: none (baselines are timed on a GPU"), std::string::npos) << out;

  ProcessResult json_result = eval("relu", {"--json"});
  ASSERT_EQ(json_result.exit_code, 0) << json_result.standard_error;
  nlohmann::json report = nlohmann::json::parse(json_result.standard_output);
  EXPECT_EQ(report["verdict"], "correct");
  EXPECT_FALSE(report["nothing_ran"].get<bool>());
  EXPECT_EQ(report["gpu"], "kforge emulated GPU (tests only)");
  EXPECT_EQ(report["timing"]["samples"].size(), 4u);
  EXPECT_EQ(report["device_time_us"], report["timing"]["median_us"]);
  EXPECT_TRUE(report["speedup_eager"].is_null());
  EXPECT_EQ(report["evidence"]["seeds"], (std::vector<int>{0, 1}));
  EXPECT_NEAR(report["evidence"]["floor"]["fraction_of_floor"].get<double>(), 1.0 / (3 * 1.07),
              0.005);
  EXPECT_TRUE(report["evidence"]["baselines"].contains("error"));

  sql::Connection db((workspace_->path() / "kforge.db").string(), false);
  auto query = db.prepare(
      "SELECT verdict, gpu, json_array_length(timing, '$.samples'), device_time_us FROM "
      "evaluations WHERE id = ?");
  query.bind(1, report["evaluation_id"].get<int64_t>());
  ASSERT_TRUE(query.step());
  EXPECT_EQ(query.text(0), "correct");
  EXPECT_EQ(query.text(1), "kforge emulated GPU (tests only)");
  EXPECT_EQ(query.integer(2), 4);
  EXPECT_DOUBLE_EQ(query.real(3), report["device_time_us"].get<double>());
}

TEST_F(EvalGpuReportTest, FasterThanTheFloorIsSuspiciousInTheReport) {
  ProcessResult result = eval("too_fast");
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  EXPECT_NE(result.standard_output.find("verdict: suspicious (faster_than_physical_floor)"),
            std::string::npos)
      << result.standard_output;
}

// `kforge show` reads a stored evaluation through its typed record and gives back exactly what the
// store holds; a record version this kforge does not know is one error line naming the
// evaluation, not a misreading.
TEST_F(EvalGpuReportTest, ShowGivesTheStoredRecordAndRefusesAnUnknownRecordVersion) {
  sql::Connection db((workspace_->path() / "kforge.db").string(), false);
  for (const char* kernel : {"relu", "unwritten", "too_fast"}) {
    ProcessResult evaluated = eval(kernel, {"--json"});
    ASSERT_EQ(evaluated.exit_code, 0) << evaluated.standard_error;
    const nlohmann::json report = nlohmann::json::parse(evaluated.standard_output);
    const std::string candidate = std::to_string(report["candidate_id"].get<int64_t>());
    ProcessResult shown = run_kforge({"show", candidate, "--json"}, workspace_->path());
    ASSERT_EQ(shown.exit_code, 0) << shown.standard_error;
    const nlohmann::json evaluation =
        nlohmann::json::parse(shown.standard_output)["evaluations"][0];
    auto query = db.prepare(
        "SELECT id, verdict, reason, evidence, arch, stages, created_at, record_version FROM "
        "evaluations WHERE candidate_id = ?");
    query.bind(1, report["candidate_id"].get<int64_t>());
    ASSERT_TRUE(query.step());
    EXPECT_EQ(evaluation["id"], query.integer(0));
    EXPECT_EQ(evaluation["verdict"], query.text(1));
    EXPECT_EQ(evaluation["reason"], query.text(2));
    EXPECT_EQ(evaluation["evidence"], nlohmann::json::parse(query.text(3)));
    EXPECT_EQ(evaluation["arch"], query.text(4));
    EXPECT_EQ(evaluation["stages"], nlohmann::json::parse(query.text(5)));
    EXPECT_EQ(evaluation["created_at"], query.text(6));
    EXPECT_EQ(query.integer(7), 1);
    ProcessResult human = run_kforge({"show", candidate}, workspace_->path());
    ASSERT_EQ(human.exit_code, 0) << human.standard_error;
    EXPECT_NE(human.standard_output.find(
                  "evidence: " + nlohmann::json::parse(query.text(3)).dump() + "\n"),
              std::string::npos)
        << human.standard_output;
  }

  ProcessResult evaluated = eval("relu", {"--json"});
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.standard_error;
  const nlohmann::json report = nlohmann::json::parse(evaluated.standard_output);
  const int64_t evaluation_id = report["evaluation_id"].get<int64_t>();
  const std::string candidate = std::to_string(report["candidate_id"].get<int64_t>());
  db.execute("UPDATE evaluations SET record_version = 2 WHERE id = " +
             std::to_string(evaluation_id));
  ProcessResult refused = run_kforge({"show", candidate, "--json"}, workspace_->path());
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.standard_output, "");
  EXPECT_EQ(refused.standard_error,
            "kforge: error: the evaluation holds an evaluation record of version 2, and this "
            "kforge reads version 1 only: use a newer kforge (evaluation " +
                std::to_string(evaluation_id) + " (candidate " + candidate + "))\n");
}

}  // namespace
}  // namespace kforge

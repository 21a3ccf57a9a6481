// `kforge eval` through the real binary, on a real workspace and store: every verdict this
// machine can reach (no GPU: compiled, compile_error, plan_error) and the usage errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "datasets/sqlite.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;

class EvalTest : public ::testing::Test {
 protected:
  // One workspace for the suite: the task's reference analysis (a Python + torch run) is paid
  // once and cached in the store.
  static void SetUpTestSuite() { workspace_ = new testing::TemporaryDirectory(); }
  static void TearDownTestSuite() { delete workspace_; }

  static fs::path fixture(const std::string& name) {
    return testing::source_dir() / "tests/system/data/eval" / name;
  }

  static nlohmann::json eval_json(const std::string& file, std::vector<std::string> extra = {}) {
    std::vector<std::string> arguments = {
        "--python", "/usr/bin/python3", "eval",  fixture(file).string(),
        "--task",   "builtin/relu",     "--json"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    ProcessResult result = run_kforge(arguments, workspace_->path());
    EXPECT_EQ(result.exit_code, 0) << result.standard_error;
    return nlohmann::json::parse(result.standard_output);
  }

  static int64_t count(const std::string& sql) {
    sql::Connection db((workspace_->path() / "kforge.db").string(), false);
    auto query = db.prepare(sql);
    return query.step() ? query.integer(0) : -1;
  }

  static testing::TemporaryDirectory* workspace_;
};

testing::TemporaryDirectory* EvalTest::workspace_ = nullptr;

TEST_F(EvalTest, GoodCandidateIsCompiledAndSaysNothingRan) {
  nlohmann::json report = eval_json("relu_ok.cu", {"--define", "BLOCK=128"});
  EXPECT_EQ(report["verdict"], "compiled");
  EXPECT_TRUE(report["nothing_ran"].get<bool>());
  EXPECT_EQ(report["defines"]["BLOCK"], 128);
  EXPECT_EQ(report["compile"]["status"], "ok");
  ASSERT_FALSE(report["compile"]["kernels"].empty());
  EXPECT_EQ(report["compile"]["kernels"][0]["name"], "relu");
  // Bound at the benchmark shape and at every check shape the task has.
  EXPECT_GE(report["evidence"]["bindings"].size(), 2u);
  EXPECT_EQ(report["evidence"]["bindings"]["benchmark"]["launches"][0]["grid"][0],
            4096 * 4096 / 128);
  std::vector<std::string> stages;
  for (const auto& stage : report["stages"])
    stages.push_back(stage["name"]);
  EXPECT_EQ(stages, (std::vector<std::string>{"parse", "compile", "bind", "run"}));
  EXPECT_EQ(report["stages"][3]["status"], "skipped");
  int64_t id = report["candidate_id"];
  EXPECT_EQ(
      count("SELECT count(*) FROM evaluations WHERE verdict = 'compiled' AND candidate_id = " +
            std::to_string(id)),
      1);
  EXPECT_EQ(count("SELECT count(*) FROM runs WHERE kind = 'eval' AND status = 'completed'"),
            count("SELECT count(*) FROM runs"));
}

TEST_F(EvalTest, CompileErrorIsAVerdictWithTheLog) {
  nlohmann::json report = eval_json("relu_compile_error.cu");
  EXPECT_EQ(report["verdict"], "compile_error");
  EXPECT_EQ(report["reason"], "nvrtc_error");
  EXPECT_NE(report["compile"]["log"].get<std::string>().find("undefined_function"),
            std::string::npos);
  EXPECT_EQ(report["stages"][2]["status"], "skipped");
}

TEST_F(EvalTest, EnormousLocalArrayIsACompileError) {
  nlohmann::json report = eval_json("relu_huge_local_array.cu");
  EXPECT_EQ(report["verdict"], "compile_error");
  EXPECT_EQ(report["reason"], "local_memory_limit");
  EXPECT_NE(report["detail"].get<std::string>().find("local memory per thread"), std::string::npos)
      << report["detail"];
}

TEST_F(EvalTest, PlanErrorsNameTheProblem) {
  nlohmann::json unknown = eval_json("relu_unknown_name.cu");
  EXPECT_EQ(unknown["verdict"], "plan_error");
  EXPECT_NE(unknown["detail"].get<std::string>().find("output"), std::string::npos)
      << unknown["detail"];
  nlohmann::json overflow = eval_json("relu_int_overflow.cu");
  EXPECT_EQ(overflow["verdict"], "plan_error");
  EXPECT_NE(overflow["detail"].get<std::string>().find("does not fit"), std::string::npos)
      << overflow["detail"];
}

TEST_F(EvalTest, TextReportShowsVerdictAndResources) {
  ProcessResult result = run_kforge({"--python", "/usr/bin/python3", "eval",
                                     fixture("relu_ok.cu").string(), "--task", "builtin/relu"},
                                    workspace_->path());
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  EXPECT_NE(result.standard_output.find("verdict: compiled"), std::string::npos);
  EXPECT_NE(result.standard_output.find("nothing ran"), std::string::npos);
  EXPECT_NE(result.standard_output.find("regs"), std::string::npos);
}

TEST_F(EvalTest, UsageAndInputErrorsExitNonZero) {
  ProcessResult missing =
      run_kforge({"eval", "nope.cu", "--task", "builtin/relu"}, workspace_->path());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.standard_error.find("cannot read file"), std::string::npos);
  ProcessResult task = run_kforge(
      {"eval", fixture("relu_ok.cu").string(), "--task", "builtin/relux"}, workspace_->path());
  EXPECT_EQ(task.exit_code, 1);
  EXPECT_NE(task.standard_error.find("did you mean 'builtin/relu'"), std::string::npos)
      << task.standard_error;
  ProcessResult define = run_kforge(
      {"eval", fixture("relu_ok.cu").string(), "--task", "builtin/relu", "--define", "BLOCK"},
      workspace_->path());
  EXPECT_EQ(define.exit_code, 2);  // a usage error, like every malformed --define
  EXPECT_NE(define.standard_error.find("NAME=VALUE"), std::string::npos);
  ProcessResult no_task = run_kforge({"eval", fixture("relu_ok.cu").string()}, workspace_->path());
  EXPECT_EQ(no_task.exit_code, 2);
}

}  // namespace
}  // namespace kforge

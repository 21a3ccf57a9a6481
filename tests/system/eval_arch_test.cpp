// `kforge eval` of a candidate whose plan asks for an architecture-specific target ("arch":
// "sm_90a"): compiled for it, stored with it, and a plan_error on a GPU it does not run on.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "datasets/sqlite.hpp"
#include "harness/util/files.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;

class EvalArchTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { workspace_ = new testing::TemporaryDirectory(); }
  static void TearDownTestSuite() { delete workspace_; }

  static fs::path fixture() {
    return testing::source_dir() / "tests/system/data/eval/relu_sm90a.cu";
  }

  static nlohmann::json eval_json(const fs::path& file, const std::string& arch) {
    ProcessResult result = run_kforge({"--python", "/usr/bin/python3", "eval", file.string(),
                                       "--task", "builtin/relu", "--arch", arch, "--json"},
                                      workspace_->path());
    EXPECT_EQ(result.exit_code, 0) << result.standard_error;
    return nlohmann::json::parse(result.standard_output);
  }

  static std::string stored_arch(int64_t evaluation_id) {
    sql::Connection db((workspace_->path() / "kforge.db").string(), false);
    auto query = db.prepare(
        "SELECT arch, json_extract(compile, '$.arch') FROM evaluations "
        "WHERE id = " +
        std::to_string(evaluation_id));
    if (!query.step())
      return "(none)";
    return query.text(0) + " " + query.text(1);
  }

  static testing::TemporaryDirectory* workspace_;
};

testing::TemporaryDirectory* EvalArchTest::workspace_ = nullptr;

TEST_F(EvalArchTest, ThePlansTargetIsCompiledAndStored) {
  nlohmann::json report = eval_json(fixture(), "sm_90");
  EXPECT_EQ(report["verdict"], "compiled") << report.dump(2);
  EXPECT_EQ(report["arch"], "sm_90a");
  EXPECT_EQ(report["compile"]["arch"], "sm_90a");
  EXPECT_EQ(stored_arch(report["evaluation_id"]), "sm_90a sm_90a");
  sql::Connection db((workspace_->path() / "kforge.db").string(), false);
  auto plan = db.prepare("SELECT json_extract(plan, '$.arch') FROM candidates WHERE id = " +
                         std::to_string(report["candidate_id"].get<int64_t>()));
  ASSERT_TRUE(plan.step());
  EXPECT_EQ(plan.text(0), "[\"sm_90a\"]");  // stored as a list, as "arch" may be written
}

TEST_F(EvalArchTest, WithoutTheTargetTheSameCodeDoesNotCompile) {
  std::string source = files::read(fixture());
  const std::string line = "  \"arch\": \"sm_90a\"\n";
  source.replace(source.find(line), line.size(), "");
  source.replace(source.find("],\n}"), 4, "]\n}");
  testing::write_text(workspace_->path() / "plain.cu", source);
  nlohmann::json report = eval_json(workspace_->path() / "plain.cu", "sm_90");
  EXPECT_EQ(report["verdict"], "compile_error") << report.dump(2);
  EXPECT_EQ(report["compile"]["arch"], "sm_90");
  EXPECT_EQ(stored_arch(report["evaluation_id"]), "sm_90 sm_90");
}

TEST_F(EvalArchTest, ATargetForAnotherGpuIsAPlanError) {
  nlohmann::json report = eval_json(fixture(), "sm_100");
  EXPECT_EQ(report["verdict"], "plan_error") << report.dump(2);
  EXPECT_EQ(report["reason"], "arch_mismatch");
  const std::string detail = report["detail"];
  EXPECT_NE(detail.find("relu_sm90a.cu:7:11: launch plan: \"arch\" asks for sm_90a"),
            std::string::npos)
      << detail;
  EXPECT_NE(detail.find("targets sm_100 (compute capability 10.0)"), std::string::npos) << detail;
  EXPECT_FALSE(report.contains("compile")) << "nothing was compiled";
}

}  // namespace
}  // namespace kforge

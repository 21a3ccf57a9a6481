// `kforge tune --replay` with the real binary on a recorded space (a sub-space of the
// benchmark hub's pnpoly on an RTX 3090: every fourth block size, all else as measured), its
// JSON report, the cache export read back, and the one-line errors of bad input.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

using testing::run_kforge;

std::string recorded_file() {
  return (testing::source_dir() / "tests/system/data/pnpoly_RTX_3090_subspace.json.gz").string();
}

// One line on stderr, `kforge: error: ...`, and exit status 1.
void expect_one_line_error(const ProcessResult& result, const std::string& needle) {
  EXPECT_EQ(result.exit_code, 1) << result.standard_error;
  EXPECT_EQ(result.standard_error.rfind("kforge: error: ", 0), 0u) << result.standard_error;
  EXPECT_EQ(std::count(result.standard_error.begin(), result.standard_error.end(), '\n'), 1)
      << result.standard_error;
  EXPECT_NE(result.standard_error.find(needle), std::string::npos) << result.standard_error;
}

TEST(TuneReplay, JsonReportsScoresAndReachForTheStrategyAndRandom) {
  testing::TemporaryDirectory dir;
  ProcessResult result =
      run_kforge({"tune", "--replay", recorded_file(), "--strategy", "auto", "--budget-fraction",
                  "0.05", "--repeats", "10", "--seed", "3", "--json"},
                 dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  nlohmann::json report = nlohmann::json::parse(result.standard_output);
  EXPECT_EQ(report["space"]["points"], 1056);
  EXPECT_EQ(report["space"]["succeeded"], 964);
  EXPECT_NEAR(report["space"]["optimum"].get<double>(), 8.7376895, 1e-6);
  EXPECT_EQ(report["budget"], 53);
  EXPECT_EQ(report["repeats"], 10);
  for (const char* part : {"result", "random"}) {
    const nlohmann::json& summary = report[part];
    EXPECT_LE(summary["p10"].get<double>(), summary["median"].get<double>());
    EXPECT_LE(summary["median"].get<double>(), summary["p90"].get<double>());
    EXPECT_LE(summary["p90"].get<double>(), 1.0);
    EXPECT_GT(summary["p10"].get<double>(), 0.0);
    EXPECT_TRUE(summary["reach"].contains("0.99"));
  }
  EXPECT_EQ(report["result"]["strategy"], "auto");
  EXPECT_EQ(report["random"]["strategy"], "random");
  // The same request gives the same numbers: every repeat is seeded.
  ProcessResult again =
      run_kforge({"tune", "--replay", recorded_file(), "--strategy", "auto", "--budget-fraction",
                  "0.05", "--repeats", "10", "--seed", "3", "--json"},
                 dir.path());
  nlohmann::json second = nlohmann::json::parse(again.standard_output);
  EXPECT_EQ(second["result"]["median"], report["result"]["median"]);
  EXPECT_EQ(second["result"]["reach"], report["result"]["reach"]);
}

TEST(TuneReplay, HumanOutputNamesTheSpaceBudgetAndBothStrategies) {
  testing::TemporaryDirectory dir;
  ProcessResult result = run_kforge(
      {"tune", "--replay", recorded_file(), "--strategy", "tpe", "--repeats", "3"}, dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  EXPECT_NE(result.standard_output.find("space: 1056 points (964 with a time)"), std::string::npos)
      << result.standard_output;
  EXPECT_NE(result.standard_output.find("tpe "), std::string::npos);
  EXPECT_NE(result.standard_output.find("random "), std::string::npos);
}

TEST(TuneReplay, ExportedKernelTunerCacheReplaysAsTheSpaceItEvaluated) {
  testing::TemporaryDirectory dir;
  std::string exported = (dir / "run.json").string();
  ProcessResult result = run_kforge(
      {"tune", "--replay", recorded_file(), "--strategy", "genetic", "--budget-fraction", "0.05",
       "--repeats", "1", "--export", exported, "--format", "kernel-tuner-cache", "--json"},
      dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  nlohmann::json original = nlohmann::json::parse(result.standard_output);
  ProcessResult back = run_kforge(
      {"tune", "--replay", exported, "--budget-fraction", "1", "--repeats", "1", "--json"},
      dir.path());
  ASSERT_EQ(back.exit_code, 0) << back.standard_error;
  nlohmann::json replayed = nlohmann::json::parse(back.standard_output);
  // The exported run is the 53 points the strategy evaluated with seed 0, whose best time is
  // the best it found: its score in the first report.
  EXPECT_EQ(replayed["space"]["points"], 53);
  EXPECT_NEAR(
      original["space"]["optimum"].get<double>() / replayed["space"]["optimum"].get<double>(),
      original["result"]["median"].get<double>(), 1e-9);
}

TEST(TuneReplay, BadInputIsOneLineAndANonZeroExit) {
  testing::TemporaryDirectory dir;
  testing::write_text(dir / "broken.json", "{\"tune_params_keys\": [");
  testing::write_text(dir / "empty.json",
                      R"({"tune_params_keys": ["a"], "tune_params": {"a": [1]}, "cache": {}})");
  testing::write_text(dir / "failed.json", R"({"tune_params_keys": ["a"],
      "tune_params": {"a": [1, 2]}, "cache": {"1": {"a": 1, "time": "RuntimeFailedConfig"}}})");
  expect_one_line_error(
      run_kforge({"tune", "--replay", (dir / "broken.json").string()}, dir.path()),
      "does not parse");
  expect_one_line_error(run_kforge({"tune", "--replay", (dir / "empty.json").string()}, dir.path()),
                        "the tuning space is empty");
  expect_one_line_error(
      run_kforge({"tune", "--replay", (dir / "failed.json").string()}, dir.path()),
      "no configuration that succeeded");
  expect_one_line_error(
      run_kforge({"tune", "--replay", recorded_file(), "--strategy", "bogus"}, dir.path()),
      "unknown tuning strategy 'bogus'");
  expect_one_line_error(
      run_kforge({"tune", "--replay", (dir / "absent.json.gz").string()}, dir.path()),
      "absent.json.gz");
  expect_one_line_error(
      run_kforge({"tune", "--replay", recorded_file(), "--budget-fraction", "2"}, dir.path()),
      "--budget-fraction");
  expect_one_line_error(run_kforge({"tune", "--replay", recorded_file(), "--export",
                                    (dir / "out.json").string(), "--format", "t5"},
                                   dir.path()),
                        "unknown export format 't5'");
  EXPECT_FALSE(std::filesystem::exists(dir / "out.json"));
  expect_one_line_error(run_kforge({"tune"}, dir.path()), "--replay");
}

}  // namespace
}  // namespace kforge

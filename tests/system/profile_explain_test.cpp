// `kforge profile explain` with the real binary on counter files in tests/system/data/profile/:
// an Nsight Compute raw-page CSV export (three launches, ncu's own lines, a units row with scaled
// units, thousands separators, n/a values) and kforge's JSON form; the roofline, the findings,
// --json, the ceilings and their overrides, and one-line errors with the position.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

using testing::run_kforge;

std::string data(const std::string& name) {
  return (testing::source_dir() / "tests/system/data/profile" / name).string();
}

std::vector<std::string> kinds(const nlohmann::json& kernel) {
  std::vector<std::string> out;
  for (const auto& finding : kernel["findings"])
    out.push_back(finding["kind"].get<std::string>());
  return out;
}

TEST(ProfileExplain, ReadsAnNcuRawExportAndPrintsBoundAndFindings) {
  testing::TemporaryDirectory dir;
  ProcessResult result =
      run_kforge({"profile", "explain", data("ncu_raw_h100.csv"), "--arch", "sm_90"}, dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  const std::string& out = result.standard_output;
  EXPECT_NE(out.find("ceilings: sm_90, 3350 GB/s, 67 TFLOP/s float32 (public datasheet peaks: "
                     "NVIDIA H100 Tensor Core GPU datasheet (H100 SXM5 80GB))"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("void vector_add<float>(float const*, float const*, float*, int) [ID 0]\n"
                     "  roofline: memory-bound; runs 268 us"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("1. memory_bound"), std::string::npos) << out;
  EXPECT_NE(out.find("transpose_naive(float const*, float*, int, int) [ID 1]"), std::string::npos);
  EXPECT_NE(out.find("1. uncoalesced_global_access (about "), std::string::npos) << out;
  EXPECT_NE(out.find("Global stores touch 32.0 sectors per warp request"), std::string::npos);
  EXPECT_NE(out.find("1. latency_bound_small_grid"), std::string::npos) << out;
  EXPECT_NE(out.find("The grid has 16 block(s) for 132 SMs"), std::string::npos) << out;
  EXPECT_NE(out.find("skipped for missing metrics:"), std::string::npos);
  EXPECT_TRUE(result.standard_error.empty()) << result.standard_error;
}

TEST(ProfileExplain, JsonForScripts) {
  testing::TemporaryDirectory dir;
  ProcessResult result = run_kforge(
      {"profile", "explain", data("ncu_raw_h100.csv"), "--arch", "sm_90", "--json"}, dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  nlohmann::json document = nlohmann::json::parse(result.standard_output);
  EXPECT_EQ(document["ceilings"]["bandwidth_bytes_per_s"], 3.35e12);
  EXPECT_EQ(document["ceilings"]["peak_flops_per_s"], 67e12);
  EXPECT_EQ(document["ceilings"]["gpu"], "H100 SXM5 80GB");
  const nlohmann::json& kernels = document["kernels"];
  ASSERT_EQ(kernels.size(), 3u);
  // vector_add: 537.13 + 268.57 Mbyte measured in 267.90 usecond, FLOPs counted from FADDs.
  const nlohmann::json& add = kernels[0]["roofline"];
  EXPECT_EQ(add["bound"], "memory");
  EXPECT_EQ(add["bytes_basis"], "measured DRAM traffic");
  EXPECT_NEAR(add["bytes"].get<double>(), 537.13e6 + 268.57e6, 1);
  EXPECT_NEAR(add["time_ns"].get<double>(), 267900, 1e-6);
  EXPECT_EQ(add["flops_basis"], "counted FP32/FP64 instructions");
  EXPECT_NEAR(add["bandwidth_fraction"].get<double>(), 805.7e6 / 267.9e-6 / 3.35e12, 1e-9);
  EXPECT_EQ(kinds(kernels[0]), std::vector<std::string>{"memory_bound"});
  // The transpose counts no FLOPs: its bound is unknown, its findings are not.
  EXPECT_EQ(kernels[1]["id"], "1");
  EXPECT_EQ(kernels[1]["roofline"]["bound"], "unknown");
  EXPECT_EQ(kinds(kernels[1]),
            (std::vector<std::string>{"uncoalesced_global_access", "dominant_stall"}));
  EXPECT_EQ(kernels[1]["findings"][0]["numbers"]["store_sectors_per_request"], 32);
  EXPECT_EQ(kinds(kernels[2]),
            (std::vector<std::string>{"latency_bound_small_grid", "dominant_stall"}));
  // The row sum's bank-conflict counter is n/a in the export: that rule is skipped, and says so.
  bool skipped = false;
  for (const auto& rule : kernels[2]["skipped"])
    skipped = skipped || rule["rule"] == "shared_bank_conflicts";
  EXPECT_TRUE(skipped) << kernels[2].dump();
}

TEST(ProfileExplain, JsonCountersWithTaskFiguresAndOverriddenCeilings) {
  testing::TemporaryDirectory dir;
  ProcessResult result = run_kforge(
      {"profile", "explain", data("counters.json"), "--arch", "sm_90", "--json"}, dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  nlohmann::json document = nlohmann::json::parse(result.standard_output);
  ASSERT_EQ(document["kernels"].size(), 2u);
  EXPECT_EQ(document["kernels"][0]["roofline"]["bound"], "compute");
  EXPECT_EQ(kinds(document["kernels"][0]),
            (std::vector<std::string>{"low_pipe_utilisation", "occupancy_limited_by_registers"}));
  EXPECT_EQ(kinds(document["kernels"][1]),
            (std::vector<std::string>{"uncoalesced_global_access", "dominant_stall",
                                      "excess_l2_dram_traffic"}));
  double h100_fraction = document["kernels"][1]["roofline"]["bandwidth_fraction"].get<double>();

  // An H200: same architecture, 4.8 TB/s.
  ProcessResult h200 = run_kforge({"profile", "explain", data("counters.json"), "--arch", "sm_90",
                                   "--peak-bandwidth", "4.8e12", "--json"},
                                  dir.path());
  ASSERT_EQ(h200.exit_code, 0) << h200.standard_error;
  nlohmann::json overridden = nlohmann::json::parse(h200.standard_output);
  EXPECT_EQ(overridden["ceilings"]["bandwidth_bytes_per_s"], 4.8e12);
  EXPECT_NE(overridden["ceilings"]["source"].get<std::string>().find("--peak-bandwidth"),
            std::string::npos);
  EXPECT_NEAR(overridden["kernels"][1]["roofline"]["bandwidth_fraction"].get<double>(),
              h100_fraction * 3.35 / 4.8, 1e-9);

  // Another GPU altogether: both roofs given, any architecture name.
  ProcessResult other = run_kforge({"profile", "explain", data("counters.json"), "--arch", "sm_120",
                                    "--peak-bandwidth", "1.8e12", "--peak-flops", "1e14", "--json"},
                                   dir.path());
  ASSERT_EQ(other.exit_code, 0) << other.standard_error;
  EXPECT_EQ(nlohmann::json::parse(other.standard_output)["ceilings"]["peak_flops_per_s"], 1e14);
}

TEST(ProfileExplain, BadInputIsOneLineWithThePosition) {
  testing::TemporaryDirectory dir;
  ProcessResult malformed =
      run_kforge({"profile", "explain", data("malformed.json"), "--arch", "sm_90"}, dir.path());
  EXPECT_EQ(malformed.exit_code, 1);
  EXPECT_EQ(malformed.standard_error.rfind("kforge: error: malformed JSON: ", 0), 0u)
      << malformed.standard_error;
  EXPECT_NE(malformed.standard_error.find("malformed.json:3:"), std::string::npos)
      << malformed.standard_error;
  EXPECT_EQ(std::count(malformed.standard_error.begin(), malformed.standard_error.end(), '\n'), 1)
      << malformed.standard_error;
  EXPECT_TRUE(malformed.standard_output.empty());

  testing::write_text(dir / "broken.csv",
                      "==PROF== Connected\n\"ID\",\"Kernel Name\",\"gpu__time_duration.sum\"\n"
                      "\"\",\"\",\"nsecond\"\n\"0\",\"k\",\"1,000\"\n\"1\",\"k\",\"2\n");
  ProcessResult csv = run_kforge(
      {"profile", "explain", (dir / "broken.csv").string(), "--arch", "sm_90"}, dir.path());
  EXPECT_EQ(csv.exit_code, 1);
  EXPECT_NE(csv.standard_error.find("kforge: error: an unterminated quoted field in the Nsight "
                                    "Compute CSV (" +
                                    (dir / "broken.csv").string() + ":5)"),
            std::string::npos)
      << csv.standard_error;

  ProcessResult arch =
      run_kforge({"profile", "explain", data("counters.json"), "--arch", "sm_70"}, dir.path());
  EXPECT_EQ(arch.exit_code, 1);
  EXPECT_NE(arch.standard_error.find("kforge: error: unknown architecture 'sm_70'"),
            std::string::npos)
      << arch.standard_error;
  EXPECT_NE(arch.standard_error.find("(--arch)"), std::string::npos) << arch.standard_error;

  ProcessResult dtype = run_kforge(
      {"profile", "explain", data("counters.json"), "--arch", "sm_90", "--dtype", "int8"},
      dir.path());
  EXPECT_EQ(dtype.exit_code, 1);
  EXPECT_NE(dtype.standard_error.find("unknown dtype 'int8'"), std::string::npos);

  ProcessResult missing = run_kforge(
      {"profile", "explain", (dir / "nowhere.json").string(), "--arch", "sm_90"}, dir.path());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.standard_error.find("nowhere.json"), std::string::npos);

  ProcessResult usage = run_kforge({"profile", "explain", data("counters.json")}, dir.path());
  EXPECT_EQ(usage.exit_code, 2) << "--arch is required";
}

TEST(ProfileExplain, HelpNamesTheCommand) {
  testing::TemporaryDirectory dir;
  ProcessResult result = run_kforge({"profile", "--help"}, dir.path());
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.standard_output.find("explain"), std::string::npos);
}

}  // namespace
}  // namespace kforge

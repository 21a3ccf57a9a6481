// `kforge profile metrics`: the real binary lists the metric set as CUPTI's host API resolves it
// for an architecture's chip, without a GPU; an architecture without a chip is a one-line error.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

using testing::run_kforge;

bool cupti_missing(const ProcessResult& result) {
  return result.standard_error.find("CUPTI (libcupti) not found") != std::string::npos;
}

TEST(ProfileMetrics, JsonListsEveryMetricWithItsResolutionAndThePasses) {
  testing::TemporaryDirectory dir;
  for (auto [arch, chip] :
       {std::pair{"sm_80", "GA100"}, std::pair{"sm_90", "GH100"}, std::pair{"sm_100", "GB100"}}) {
    ProcessResult result = run_kforge({"profile", "metrics", "--arch", arch, "--json"}, dir.path());
    if (cupti_missing(result))
      GTEST_SKIP() << "libcupti is not installed here";
    ASSERT_EQ(result.exit_code, 0) << result.standard_error;
    auto document = nlohmann::json::parse(result.standard_output);
    EXPECT_EQ(document["chip"], chip);
    EXPECT_GE(document["metrics"].size(), 20u);
    for (const auto& metric : document["metrics"])
      EXPECT_TRUE(metric["resolved"].get<bool>()) << arch << " " << metric.dump();
    EXPECT_GE(document["passes"].get<int>(), 1);
  }
}

TEST(ProfileMetrics, HumanOutputSaysHowManyResolveAndThePasses) {
  testing::TemporaryDirectory dir;
  ProcessResult result = run_kforge({"profile", "metrics", "--arch", "sm_90"}, dir.path());
  if (cupti_missing(result))
    GTEST_SKIP() << "libcupti is not installed here";
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  EXPECT_NE(result.standard_output.find("dram__bytes_read.sum"), std::string::npos);
  EXPECT_NE(result.standard_output.find("counters resolve on GH100 (sm_90)"), std::string::npos)
      << result.standard_output;
}

TEST(ProfileMetrics, AnArchitectureWithoutAChipIsAOneLineError) {
  testing::TemporaryDirectory dir;
  ProcessResult result = run_kforge({"profile", "metrics", "--arch", "sm_75"}, dir.path());
  if (cupti_missing(result))
    GTEST_SKIP() << "libcupti is not installed here";
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.standard_error,
            "kforge: error: no CUPTI chip name is known for architecture 'sm_75' (--arch)\n");
}

}  // namespace
}  // namespace kforge

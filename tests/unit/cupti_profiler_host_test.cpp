// CUPTI's profiler host API with the real libcupti and no GPU (this machine has no libcuda):
// the metric set resolves for the sm_80, sm_90 and sm_100 chips from the chip name alone, the
// counters added together fit in a few passes, names CUPTI does not know are refused, and a
// missing library is an Error naming what was tried. Skipped, saying so, where libcupti is
// absent.
#include "profiler/cupti_profiler_host.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "harness/util/error.hpp"
#include "profiler/cupti_library.hpp"

namespace kforge {
namespace {

CuptiProfilerHost* host_or_null() {
  static std::optional<std::string> missing;
  try {
    return &CuptiProfilerHost::instance();
  } catch (const Error& error) {
    missing = error.what();
    return nullptr;
  }
}

#define REQUIRE_CUPTI()                     \
  CuptiProfilerHost* host = host_or_null(); \
  if (host == nullptr)                      \
  GTEST_SKIP() << "libcupti is not installed here: nothing to check with"

class MetricResolution : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(MetricResolution, EveryMetricResolvesForTheChipAndFitsInFewPasses) {
  REQUIRE_CUPTI();
  auto [arch, chip] = GetParam();
  MetricSetCheck check = check_metric_set(*host, arch);
  EXPECT_EQ(check.chip, chip);
  EXPECT_EQ(check.metrics.size(), metric_set().size());
  for (const auto& metric : check.metrics)
    EXPECT_TRUE(metric.resolved) << arch << " " << metric.name << ": " << metric.error;
  EXPECT_EQ(check.resolved_counters(), metric_names(MetricSource::kCounter).size());
  // Measured with CUDA 13.0's CUPTI: 12 passes on each of these chips when the counters are added
  // in one call (adding them one by one needs one pass or more each).
  EXPECT_GE(check.passes, 1u);
  EXPECT_LE(check.passes, 16u);
  EXPECT_GT(check.config_image_bytes, 0u);
  nlohmann::json json = check.to_json();
  EXPECT_EQ(json["chip"], chip);
  EXPECT_EQ(json["passes"], check.passes);
  EXPECT_EQ(json["metrics"].size(), check.metrics.size());
}

INSTANTIATE_TEST_SUITE_P(Chips, MetricResolution,
                         ::testing::Values(std::pair{"sm_80", "GA100"}, std::pair{"sm_90", "GH100"},
                                           std::pair{"sm_100", "GB100"}));

TEST(CuptiProfilerHost, KnowsTheDataCenterChips) {
  REQUIRE_CUPTI();
  std::vector<std::string> chips = host->supported_chips();
  for (const char* chip : {"GA100", "GH100", "GB100"})
    EXPECT_NE(std::find(chips.begin(), chips.end(), chip), chips.end()) << chip;
}

TEST(CuptiProfilerHost, RefusesNamesTheChipDoesNotCount) {
  REQUIRE_CUPTI();
  CuptiHostObject object(*host, "GH100");
  EXPECT_EQ(object.resolve("dram__bytes_read.sum"), "");
  EXPECT_NE(object.resolve("dram__bytes_readd.sum"), "");
  // Nsight Compute computes these itself; CUPTI does not know them, so the worker must.
  EXPECT_NE(object.resolve("launch__registers_per_thread"), "");
  EXPECT_NE(object.resolve("sm__maximum_warps_per_active_cycle_pct"), "");
  // An unknown metric in the configuration is the CUPTI error, naming the call.
  try {
    object.config_image({"dram__bytes_read.sum", "no__such_metric.sum"});
    FAIL() << "an unknown metric was accepted";
  } catch (const CuptiError& error) {
    EXPECT_NE(error.message().find("cuptiProfilerHostConfigAddMetrics"), std::string::npos)
        << error.what();
  }
}

TEST(CuptiProfilerHost, CountersAddedTogetherShareThePasses) {
  REQUIRE_CUPTI();
  CuptiHostObject together(*host, "GH100");
  std::vector<uint8_t> image =
      together.config_image({"dram__bytes_read.sum", "dram__bytes_write.sum",
                             "gpu__time_duration.sum", "lts__t_bytes.sum"});
  EXPECT_EQ(together.passes(image), 1u);
}

TEST(CuptiProfilerHost, ArchitecturesWithoutAChipAreAnError) {
  REQUIRE_CUPTI();
  try {
    check_metric_set(*host, "sm_75");
    FAIL() << "sm_75 has no chip name";
  } catch (const Error& error) {
    EXPECT_NE(error.message().find("sm_75"), std::string::npos);
  }
}

TEST(CuptiProfilerHost, AMissingLibraryIsAnErrorNamingWhatWasTried) {
  try {
    CuptiProfilerHost host({"/nonexistent/kforge-test/libcupti.so.13"});
    FAIL() << "a missing library opened";
  } catch (const Error& error) {
    EXPECT_NE(error.message().find("CUPTI (libcupti)"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("/nonexistent/kforge-test/libcupti.so.13"),
              std::string::npos)
        << error.what();
  }
}

TEST(CuptiLibrary, UnavailableReasonsComeFromTheResultCode) {
  EXPECT_EQ(counters_unavailable_reason(CUPTI_ERROR_INSUFFICIENT_PRIVILEGES),
            ProfileUnavailableReason::kInsufficientPrivileges);
  EXPECT_EQ(counters_unavailable_reason(CUPTI_ERROR_VIRTUALIZED_DEVICE_INSUFFICIENT_PRIVILEGES),
            ProfileUnavailableReason::kInsufficientPrivileges);
  EXPECT_EQ(counters_unavailable_reason(CUPTI_ERROR_MIG_DEVICE_NOT_SUPPORTED),
            ProfileUnavailableReason::kMig);
  EXPECT_EQ(counters_unavailable_reason(CUPTI_ERROR_VIRTUALIZED_DEVICE_NOT_SUPPORTED),
            ProfileUnavailableReason::kVirtualizedGpu);
  EXPECT_EQ(counters_unavailable_reason(CUPTI_ERROR_CMP_DEVICE_NOT_SUPPORTED),
            ProfileUnavailableReason::kNotSupported);
  // A failure that is not the machine's answer stays a failure.
  EXPECT_EQ(counters_unavailable_reason(CUPTI_ERROR_INVALID_PARAMETER), std::nullopt);
  EXPECT_EQ(counters_unavailable_reason(CUPTI_ERROR_UNKNOWN), std::nullopt);
}

}  // namespace
}  // namespace kforge

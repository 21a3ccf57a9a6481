#include "harness/nightly/kernel_check.hpp"

#include <gtest/gtest.h>

#include "harness/evaluation/stored_evaluation.hpp"
#include "harness/library/manifest.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::nightly {
namespace {

KernelMeasurement measured(const std::string& verdict, double median, double p10, double p90) {
  return {.verdict = verdict, .median_us = median, .p10_us = p10, .p90_us = p90};
}

TEST(KernelCheck, SlowerByMoreThanTheRecordedSpreadIsARegression) {
  const KernelMeasurement before = measured("correct", 10.0, 9.5, 10.5);
  EXPECT_FALSE(judge_kernel("k", "t", before, measured("correct", 10.9, 10.8, 11.0)));
  EXPECT_FALSE(judge_kernel("k", "t", before, measured("correct", 11.0, 10.9, 11.1)));
  EXPECT_FALSE(judge_kernel("k", "t", before, measured("correct", 5.0, 4.9, 5.1)));
  const auto slower = judge_kernel("k", "t", before, measured("correct", 11.01, 11.0, 11.1));
  ASSERT_TRUE(slower);
  EXPECT_EQ(slower->kind, RegressionKind::slower);
  EXPECT_DOUBLE_EQ(*slower->spread_us, 1.0);
  EXPECT_DOUBLE_EQ(*slower->median_us_before, 10.0);
  EXPECT_DOUBLE_EQ(*slower->median_us_after, 11.01);
}

TEST(KernelCheck, AVerdictChangeIsARegressionWhateverTheTime) {
  const auto changed =
      judge_kernel("k", "t", measured("correct", 10.0, 9.5, 10.5), {.verdict = "incorrect"});
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->kind, RegressionKind::verdict_changed);
  EXPECT_EQ(changed->verdict_before, "correct");
  EXPECT_EQ(changed->verdict_after, "incorrect");
  // A timeout (a hung kernel) is a verdict too.
  EXPECT_TRUE(judge_kernel("k", "t", measured("correct", 1, 1, 1), {.verdict = "timeout"}));
  // Still broken is no new regression.
  EXPECT_FALSE(judge_kernel("k", "t", {.verdict = "incorrect"}, {.verdict = "incorrect"}));
}

TEST(KernelCheck, ReadsTheManifestsEntryForThisGpu) {
  // A verified entry as promotion writes it (verification_json of a stored evaluation).
  StoredEvaluation evaluation;
  evaluation.record.verdict = Verdict::kCorrect;
  evaluation.record.arch = "sm_90";
  evaluation.record.gpu = "NVIDIA H100 80GB HBM3";
  evaluation.record.timing =
      TimingRecord{.statistics = {.count = 3, .median_us = 10, .p10_us = 9.5, .p90_us = 10.5}};
  const nlohmann::json manifest = {{"verified", {verification_json(evaluation)}}};
  const auto recorded = manifest_measurement(manifest, "NVIDIA H100 80GB HBM3");
  ASSERT_TRUE(recorded);
  EXPECT_EQ(recorded->verdict, "correct");
  EXPECT_DOUBLE_EQ(*recorded->median_us, 10);
  EXPECT_DOUBLE_EQ(*recorded->p10_us, 9.5);
  EXPECT_DOUBLE_EQ(*recorded->p90_us, 10.5);
  EXPECT_EQ(recorded->source, "manifest");
  EXPECT_FALSE(manifest_measurement(manifest, "NVIDIA A100-SXM4-80GB"));
  EXPECT_FALSE(manifest_measurement(nlohmann::json::object(), "NVIDIA H100 80GB HBM3"));
}

TEST(KernelCheck, MeasurementsRoundTrip) {
  const KernelMeasurement original = measured("correct", 3, 2, 4);
  const KernelMeasurement read = KernelMeasurement::from_json(original.to_json());
  EXPECT_EQ(read.verdict, "correct");
  EXPECT_EQ(read.median_us, original.median_us);
  EXPECT_EQ(read.p90_us, original.p90_us);
  EXPECT_FALSE(KernelMeasurement::from_json({{"verdict", "compile_error"}}).median_us);
}

TEST(KernelCheck, ShippedKernelsLeaveSeedsAndIncompleteFoldersOut) {
  testing::TemporaryDirectory library;
  for (const char* folder : {"relu/fast", "relu/twin", "seeds/relu/seed", "softmax/no_manifest"})
    testing::write_text(library / folder / "kernel.cu", "// kernel\n");
  for (const char* folder : {"relu/fast", "relu/twin", "seeds/relu/seed"})
    testing::write_text(library / folder / "manifest.json", "{\"task\": {\"name\": \"x\"}}\n");
  const std::vector<ShippedKernel> kernels = shipped_kernels(library.path());
  ASSERT_EQ(kernels.size(), 2u);
  EXPECT_EQ(kernels[0].name, "relu/fast");
  EXPECT_EQ(kernels[1].name, "relu/twin");
  EXPECT_EQ(kernels[1].manifest["task"]["name"], "x");
  EXPECT_TRUE(shipped_kernels(library / "absent").empty());
}

}  // namespace
}  // namespace kforge::nightly

#include "profiler/statistics.hpp"

#include <gtest/gtest.h>

namespace kforge {
namespace {

TEST(Statistics, SummarizesSamples) {
  SampleSummary summary = summarize({5, 1, 4, 2, 3});
  EXPECT_EQ(summary.count, 5u);
  EXPECT_DOUBLE_EQ(summary.median, 3);
  EXPECT_DOUBLE_EQ(summary.min, 1);
  EXPECT_DOUBLE_EQ(summary.max, 5);
  EXPECT_DOUBLE_EQ(summary.mean, 3);
  EXPECT_DOUBLE_EQ(summary.p10, 1.4);
  EXPECT_DOUBLE_EQ(summary.p90, 4.6);
  EXPECT_NEAR(summary.cv, 1.5811388 / 3, 1e-6);
  EXPECT_EQ(summarize({}).count, 0u);
}

TEST(Statistics, StopsWhenSpreadIsSmallOrAtTheCap) {
  std::vector<double> steady(10, 100.0);
  steady[3] = 100.5;
  EXPECT_TRUE(enough_samples(steady, 5, 1000, 0.02));
  std::vector<double> noisy = {100, 150, 90, 200, 100, 80};
  EXPECT_FALSE(enough_samples(noisy, 5, 1000, 0.02));
  EXPECT_TRUE(enough_samples(noisy, 5, 6, 0.02));
  EXPECT_FALSE(enough_samples({100, 100}, 5, 1000, 0.02));
}

TEST(Statistics, PhysicalFloorFlagsImpossibleTimes) {
  // 1 GB over 2 TB/s cannot take less than 500 us.
  PhysicalFloor floor{.bytes = 1e9, .flops = 0, .bandwidth_bytes_per_s = 2e12};
  EXPECT_DOUBLE_EQ(floor.floor_us(), 500);
  EXPECT_TRUE(floor.violated_by(300));
  EXPECT_FALSE(floor.violated_by(490));  // within the margin
  EXPECT_FALSE(floor.violated_by(600));
  EXPECT_NEAR(floor.fraction_of_floor(625), 0.8, 1e-12);
  // Compute-bound: 1e12 FLOPs at 1e15/s is 1000 us, the larger bound wins.
  floor.flops = 1e12;
  floor.peak_flops_per_s = 1e15;
  EXPECT_DOUBLE_EQ(floor.floor_us(), 1000);
}

}  // namespace
}  // namespace kforge

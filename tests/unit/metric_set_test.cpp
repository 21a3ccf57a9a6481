// The curated metric set: at least 20 metrics, every topic issue 14 asks for, Nsight Compute
// names (the diagnosis rules and `ncu` exports use the same keys), and the chip names CUPTI's
// host API takes for the architectures kforge compiles for.
#include "profiler/metric_set.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace kforge {
namespace {

TEST(MetricSet, HasAtLeastTwentyUniqueNsightComputeNames) {
  std::set<std::string> names;
  for (const MetricSpec& metric : metric_set()) {
    EXPECT_TRUE(names.insert(std::string(metric.name)).second) << "twice: " << metric.name;
    // unit__counter[.rollup[.submetric]]: Nsight Compute's naming.
    EXPECT_NE(metric.name.find("__"), std::string_view::npos) << metric.name;
    EXPECT_FALSE(metric.meaning.empty()) << metric.name;
    EXPECT_FALSE(metric.unit.empty()) << metric.name;
  }
  EXPECT_GE(names.size(), 20u);
}

TEST(MetricSet, CoversEveryTopicTheIssueLists) {
  std::set<std::string> topics;
  for (const MetricSpec& metric : metric_set())
    topics.insert(std::string(metric.topic));
  for (const char* topic : {"duration", "throughput", "dram", "cache", "occupancy", "access",
                            "shared", "stalls", "pipes", "divergence", "instructions"})
    EXPECT_TRUE(topics.count(topic)) << topic;
  // The names the issue asks for by what they measure.
  std::set<std::string> names;
  for (const MetricSpec& metric : metric_set())
    names.insert(std::string(metric.name));
  for (const char* name :
       {"gpu__time_duration.sum", "sm__throughput.avg.pct_of_peak_sustained_elapsed",
        "dram__bytes_read.sum", "dram__bytes_write.sum", "lts__t_sector_hit_rate.pct",
        "l1tex__t_sector_hit_rate.pct", "sm__warps_active.avg.pct_of_peak_sustained_active",
        "sm__maximum_warps_per_active_cycle_pct", "launch__occupancy_limit_registers",
        "launch__occupancy_limit_shared_mem", "launch__occupancy_limit_blocks",
        "launch__registers_per_thread",
        "l1tex__average_t_sectors_per_request_pipe_lsu_mem_global_op_ld.ratio",
        "l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum",
        "smsp__warp_issue_stalled_long_scoreboard_per_warp_active.pct",
        "sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active",
        "sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active",
        "smsp__thread_inst_executed_per_inst_executed.ratio", "smsp__inst_executed.sum"})
    EXPECT_TRUE(names.count(name)) << name;
}

TEST(MetricSet, LaunchMetricsAreNsightComputesComputedOnes) {
  // What Nsight Compute computes rather than counts: launch__* and the theoretical occupancy.
  for (const MetricSpec& metric : metric_set()) {
    bool computed = metric.name.starts_with("launch__") ||
                    metric.name == "sm__maximum_warps_per_active_cycle_pct";
    EXPECT_EQ(metric.source == MetricSource::kLaunch, computed) << metric.name;
  }
  EXPECT_EQ(
      metric_names(MetricSource::kCounter).size() + metric_names(MetricSource::kLaunch).size(),
      metric_set().size());
}

TEST(MetricSet, ChipNamesForTheArchitectures) {
  EXPECT_EQ(chip_for_arch("sm_80"), "GA100");
  EXPECT_EQ(chip_for_arch("sm_86"), "GA102");
  EXPECT_EQ(chip_for_arch("sm_89"), "AD102");
  EXPECT_EQ(chip_for_arch("sm_90"), "GH100");
  EXPECT_EQ(chip_for_arch("sm_90a"), "GH100");
  EXPECT_EQ(chip_for_arch("sm_100"), "GB100");
  EXPECT_EQ(chip_for_arch("sm_100a"), "GB100");
  EXPECT_EQ(chip_for_arch("sm_120"), "GB202");
  EXPECT_EQ(chip_for_arch("sm_75"), std::nullopt);
  EXPECT_EQ(chip_for_arch("gh100"), std::nullopt);
  EXPECT_EQ(chip_for_arch(""), std::nullopt);
}

}  // namespace
}  // namespace kforge

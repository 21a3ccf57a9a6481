// The launch metrics the worker computes (Nsight Compute's launch__* and theoretical occupancy),
// on an H100 SXM's limits (132 SMs, 2048 threads, 32 blocks, 64K registers and 228 KiB of shared
// memory per SM, 1 KiB reserved per block), by the rules of CUDA's occupancy calculator.
#include "profiler/launch_metrics.hpp"

#include <gtest/gtest.h>

namespace kforge {
namespace {

DeviceLimits h100() {
  return {.sm_count = 132,
          .max_threads_per_sm = 2048,
          .max_blocks_per_sm = 32,
          .registers_per_sm = 65536,
          .registers_per_block = 65536,
          .shared_bytes_per_sm = 233472,
          .reserved_shared_per_block = 1024,
          .warp_size = 32};
}

TEST(LaunchMetrics, LightKernelReachesFullOccupancyLimitedByWarps) {
  auto metrics = launch_metrics(
      h100(), {.registers_per_thread = 32, .grid = {132 * 8, 1, 1}, .block = {256, 1, 1}});
  EXPECT_EQ(metrics["launch__registers_per_thread"], 32);
  EXPECT_EQ(metrics["launch__occupancy_limit_warps"], 8);        // 64 warps / 8 per block
  EXPECT_EQ(metrics["launch__occupancy_limit_registers"], 8);    // 64K / (1024 per warp * 8)
  EXPECT_EQ(metrics["launch__occupancy_limit_shared_mem"], 32);  // none used: the block slots
  EXPECT_EQ(metrics["launch__occupancy_limit_blocks"], 32);
  EXPECT_DOUBLE_EQ(metrics["sm__maximum_warps_per_active_cycle_pct"], 100.0);
  EXPECT_DOUBLE_EQ(metrics["launch__waves_per_multiprocessor"], 1.0);
}

TEST(LaunchMetrics, RegisterHeavyKernelIsLimitedByRegisters) {
  auto metrics = launch_metrics(
      h100(), {.registers_per_thread = 128, .grid = {1000, 1, 1}, .block = {256, 1, 1}});
  EXPECT_EQ(metrics["launch__occupancy_limit_registers"], 2);  // 4096 per warp: 16 warps
  EXPECT_DOUBLE_EQ(metrics["sm__maximum_warps_per_active_cycle_pct"], 25.0);
  EXPECT_NEAR(metrics["launch__waves_per_multiprocessor"], 1000.0 / (2 * 132), 1e-12);
}

TEST(LaunchMetrics, RegistersRoundUpPerWarp) {
  // 33 registers x 32 threads = 1056, allocated as 1280 per warp: 51 warps, 6 blocks of 8.
  auto metrics = launch_metrics(h100(), {.registers_per_thread = 33, .block = {256, 1, 1}});
  EXPECT_EQ(metrics["launch__occupancy_limit_registers"], 6);
  EXPECT_DOUBLE_EQ(metrics["sm__maximum_warps_per_active_cycle_pct"], 75.0);
}

TEST(LaunchMetrics, SharedMemoryLimitCountsTheReservationAndGranularity) {
  // 48 KiB dynamic + 1 KiB reserved per block: 4 blocks in 228 KiB.
  auto metrics = launch_metrics(
      h100(),
      {.registers_per_thread = 32, .dynamic_shared_bytes = 48 * 1024, .block = {128, 1, 1}});
  EXPECT_EQ(metrics["launch__occupancy_limit_shared_mem"], 4);
  EXPECT_DOUBLE_EQ(metrics["sm__maximum_warps_per_active_cycle_pct"], 100.0 * 16 / 64);
  // Static and dynamic shared memory add up.
  auto both = launch_metrics(
      h100(),
      {.static_shared_bytes = 24 * 1024, .dynamic_shared_bytes = 24 * 1024, .block = {128, 1, 1}});
  EXPECT_EQ(both["launch__occupancy_limit_shared_mem"], 4);
}

TEST(LaunchMetrics, TinyBlocksAreLimitedByBlockSlots) {
  auto metrics = launch_metrics(h100(), {.registers_per_thread = 16, .block = {32, 1, 1}});
  EXPECT_EQ(metrics["launch__occupancy_limit_warps"], 64);
  EXPECT_DOUBLE_EQ(metrics["sm__maximum_warps_per_active_cycle_pct"], 50.0);  // 32 of 64 warps
}

TEST(LaunchMetrics, ABlockOverTheRegisterFileCannotBeResident) {
  auto metrics = launch_metrics(h100(), {.registers_per_thread = 255, .block = {1024, 1, 1}});
  EXPECT_EQ(metrics["launch__occupancy_limit_registers"], 0);
  EXPECT_DOUBLE_EQ(metrics["sm__maximum_warps_per_active_cycle_pct"], 0.0);
  EXPECT_FALSE(metrics.count("launch__waves_per_multiprocessor"));
}

}  // namespace
}  // namespace kforge

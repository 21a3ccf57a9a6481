// The metrics Nsight Compute computes from a launch rather than counts
// (launch__registers_per_thread, launch__occupancy_limit_*, sm__maximum_warps_per_active_cycle_pct,
// launch__waves_per_multiprocessor): from the kernel's resources, its geometry and the device's
// per-SM limits, by the rules of CUDA's occupancy calculator (registers allocated per warp in
// units of 256, shared memory per block in units of 128 bytes plus the driver's per-block
// reservation). The shared-memory limit uses the SM's largest carveout, so it is an upper
// bound where the driver picks a smaller one.
#pragma once

#include <cuda.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>

namespace kforge {

struct DeviceLimits {
  int sm_count = 0;
  int max_threads_per_sm = 2048;
  int max_blocks_per_sm = 32;
  int registers_per_sm = 65536;
  int registers_per_block = 65536;
  int shared_bytes_per_sm = 0;        // the largest carveout
  int reserved_shared_per_block = 0;  // the driver's reservation (1 KiB on sm_80 and newer)
  int warp_size = 32;
};

struct KernelResources {
  int registers_per_thread = 0;
  int static_shared_bytes = 0;
  unsigned dynamic_shared_bytes = 0;
  std::array<unsigned, 3> grid = {1, 1, 1};
  std::array<unsigned, 3> block = {1, 1, 1};
};

inline constexpr int kRegisterAllocationUnit = 256;  // registers per warp, allocated in units
inline constexpr int kSharedAllocationUnit = 128;    // bytes

// Keyed by Nsight Compute metric name (profiler/metric_set.hpp, source `launch`).
std::map<std::string, double> launch_metrics(const DeviceLimits& device,
                                             const KernelResources& kernel);

// From the driver (util's CudaDriver): the device's limits and a loaded function's resources.
// Throws Error naming the driver call that failed.
DeviceLimits device_limits(CUdevice device);
KernelResources kernel_resources(CUfunction function, const std::array<unsigned, 3>& grid,
                                 const std::array<unsigned, 3>& block, unsigned dynamic_shared);

}  // namespace kforge

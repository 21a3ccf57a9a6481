#include "profiler/launch_metrics.hpp"

#include <algorithm>

#include "harness/util/cuda_libraries.hpp"

namespace kforge {
namespace {

int64_t round_up(int64_t value, int64_t unit) {
  return (value + unit - 1) / unit * unit;
}

}  // namespace

std::map<std::string, double> launch_metrics(const DeviceLimits& device,
                                             const KernelResources& kernel) {
  const int64_t threads = int64_t{kernel.block[0]} * kernel.block[1] * kernel.block[2];
  const int64_t blocks = int64_t{kernel.grid[0]} * kernel.grid[1] * kernel.grid[2];
  const int64_t warp = std::max(device.warp_size, 1);
  const int64_t warps_per_block = std::max<int64_t>(1, (threads + warp - 1) / warp);
  const int64_t max_warps = std::max<int64_t>(1, device.max_threads_per_sm / warp);
  const int64_t max_blocks = device.max_blocks_per_sm;

  const int64_t limit_warps = max_warps / warps_per_block;
  int64_t limit_registers = max_blocks;
  if (kernel.registers_per_thread > 0) {
    int64_t per_warp =
        round_up(int64_t{kernel.registers_per_thread} * warp, kRegisterAllocationUnit);
    if (int64_t{kernel.registers_per_thread} * threads > device.registers_per_block)
      limit_registers = 0;
    else
      limit_registers = device.registers_per_sm / per_warp / warps_per_block;
  }
  int64_t limit_shared = max_blocks;
  const int64_t shared = int64_t{kernel.static_shared_bytes} + kernel.dynamic_shared_bytes;
  if (shared > 0 && device.shared_bytes_per_sm > 0) {
    int64_t per_block = round_up(shared + device.reserved_shared_per_block, kSharedAllocationUnit);
    limit_shared = device.shared_bytes_per_sm / per_block;
  }
  const int64_t resident = std::min({limit_warps, limit_registers, limit_shared, max_blocks});

  std::map<std::string, double> metrics = {
      {"launch__registers_per_thread", static_cast<double>(kernel.registers_per_thread)},
      {"launch__occupancy_limit_warps", static_cast<double>(limit_warps)},
      {"launch__occupancy_limit_registers", static_cast<double>(limit_registers)},
      {"launch__occupancy_limit_shared_mem", static_cast<double>(limit_shared)},
      {"launch__occupancy_limit_blocks", static_cast<double>(max_blocks)},
      {"sm__maximum_warps_per_active_cycle_pct",
       100.0 * static_cast<double>(resident * warps_per_block) / static_cast<double>(max_warps)},
  };
  if (resident > 0 && device.sm_count > 0) {
    metrics["launch__waves_per_multiprocessor"] =
        static_cast<double>(blocks) / static_cast<double>(resident * device.sm_count);
  }
  return metrics;
}

DeviceLimits device_limits(CUdevice device) {
  const CudaDriver& driver = CudaDriver::instance();
  auto attribute = [&](CUdevice_attribute which, const char* name) {
    int value = 0;
    driver.check(driver.api().cuDeviceGetAttribute(&value, which, device), name);
    return value;
  };
  DeviceLimits limits;
  limits.sm_count = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                              "cuDeviceGetAttribute(MULTIPROCESSOR_COUNT)");
  limits.max_threads_per_sm = attribute(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR,
                                        "cuDeviceGetAttribute(MAX_THREADS_PER_MULTIPROCESSOR)");
  limits.max_blocks_per_sm = attribute(CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR,
                                       "cuDeviceGetAttribute(MAX_BLOCKS_PER_MULTIPROCESSOR)");
  limits.registers_per_sm = attribute(CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR,
                                      "cuDeviceGetAttribute(MAX_REGISTERS_PER_MULTIPROCESSOR)");
  limits.registers_per_block = attribute(CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK,
                                         "cuDeviceGetAttribute(MAX_REGISTERS_PER_BLOCK)");
  limits.shared_bytes_per_sm =
      attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR,
                "cuDeviceGetAttribute(MAX_SHARED_MEMORY_PER_MULTIPROCESSOR)");
  limits.reserved_shared_per_block =
      attribute(CU_DEVICE_ATTRIBUTE_RESERVED_SHARED_MEMORY_PER_BLOCK,
                "cuDeviceGetAttribute(RESERVED_SHARED_MEMORY_PER_BLOCK)");
  limits.warp_size = attribute(CU_DEVICE_ATTRIBUTE_WARP_SIZE, "cuDeviceGetAttribute(WARP_SIZE)");
  return limits;
}

KernelResources kernel_resources(CUfunction function, const std::array<unsigned, 3>& grid,
                                 const std::array<unsigned, 3>& block, unsigned dynamic_shared) {
  const CudaDriver& driver = CudaDriver::instance();
  auto attribute = [&](CUfunction_attribute which, const char* name) {
    int value = 0;
    driver.check(driver.api().cuFuncGetAttribute(&value, which, function), name);
    return value;
  };
  KernelResources resources;
  resources.registers_per_thread =
      attribute(CU_FUNC_ATTRIBUTE_NUM_REGS, "cuFuncGetAttribute(NUM_REGS)");
  resources.static_shared_bytes =
      attribute(CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, "cuFuncGetAttribute(SHARED_SIZE_BYTES)");
  resources.dynamic_shared_bytes = dynamic_shared;
  resources.grid = grid;
  resources.block = block;
  return resources;
}

}  // namespace kforge

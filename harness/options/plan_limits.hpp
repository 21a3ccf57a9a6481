// The limits a launch plan is checked against (plan.*): plain settings whose defaults
// harness/config.cpp reads. They sit at the bottom of the layers so that the configuration table
// includes nothing above it; harness/candidate/plan_validation.hpp includes it and defines its
// functions.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace kforge {

class Config;

struct Limits {
  int64_t max_kernels = 16;
  std::array<int64_t, 3> max_grid = {2147483647, 65535, 65535};
  std::array<int64_t, 3> max_block = {1024, 1024, 64};
  int64_t max_threads_per_block = 1024;
  // Shared memory per block, the kernel's static shared memory plus the plan's dynamic shared
  // memory (the name is older than the static part); 227 KiB is the opt-in maximum of sm_90. A
  // block over 48 KiB needs CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, which the GPU
  // worker sets; for_arch lowers this to the target architecture's opt-in maximum.
  int64_t max_dynamic_shared_bytes = 227 * 1024;
  int64_t max_scratch_bytes = int64_t{1} << 30;

  // The defaults above, with `plan.max_kernels`, `plan.max_shared_bytes` and
  // `plan.max_scratch_bytes` from the configuration. Grid and block limits are CUDA's.
  static Limits from_config(const Config& config);

  // These limits with the shared memory per block lowered to `arch`'s opt-in maximum (sm_90:
  // 227 KiB, sm_80: 163 KiB, sm_86: 99 KiB, ...), where the table knows the architecture.
  Limits for_arch(std::string_view arch) const;
};

}  // namespace kforge

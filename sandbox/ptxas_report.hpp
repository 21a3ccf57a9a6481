// Per-kernel resources from ptxas's verbose report (`--ptxas-options=--verbose`), which NVRTC
// appends to the program log:
//   ptxas info    : Compiling entry function 'scale' for 'sm_90'
//   ptxas info    : Function properties for scale
//   ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
//   ptxas info    : Used 10 registers, used 1 barriers, 1024 bytes smem, 360 bytes cmem[0]
#pragma once

#include <string_view>
#include <vector>

#include "sandbox/compile_types.hpp"

namespace kforge {

// The entry functions (kernels) in the order ptxas compiled them. Lines it does not know are
// skipped; properties of non-kernel device functions are not attributed to any kernel.
std::vector<KernelResources> parse_ptxas_report(std::string_view log);

}  // namespace kforge

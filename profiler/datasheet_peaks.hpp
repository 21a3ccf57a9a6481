// Public datasheet peaks per architecture: the default ceilings of `kforge profile explain` when
// no measured ones are at hand. They are NVIDIA's published figures for one board of each
// architecture (dense, no structured sparsity), not measurements: kforge's own ceilings are the
// measured ones of docs/judge.md, and `--peak-bandwidth` / `--peak-flops` override these.
// Sources and their caveats: docs/profiling.md.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "harness/util/safetensors.hpp"

namespace kforge {

struct DatasheetPeaks {
  std::string_view arch;           // "sm_90"
  std::string_view gpu;            // the board the figures are for
  std::string_view source;         // the datasheet they come from
  double bandwidth_bytes_per_s;    // DRAM (HBM) bandwidth
  double fp64_flops_per_s;         // FP64 on the CUDA cores (FMA = 2 FLOPs)
  double fp32_flops_per_s;         // FP32 on the CUDA cores
  double fp16_tensor_flops_per_s;  // FP16 tensor cores, FP32 accumulate, dense
  double bf16_tensor_flops_per_s;  // BF16 tensor cores, dense
  int sm_count;                    // streaming multiprocessors of that board

  // The compute roof a kernel of `dtype` aims at: float64 and float32 the CUDA cores' FMA rate,
  // float16 and bfloat16 the tensor cores'. Integers carry no FLOPs: the FP32 rate stands in.
  double peak_flops_for(DType dtype) const;
};

// The table, one row per architecture.
std::span<const DatasheetPeaks> datasheet_peaks();

// The row for `arch` ("sm_90"); an unknown one is an Error listing the known ones.
const DatasheetPeaks& find_datasheet_peaks(std::string_view arch);

}  // namespace kforge

// Summaries of timing samples and the physical floor a kernel cannot beat.
// Every sample is kept; these are the figures reported and stored next to them.
#pragma once

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/util/safetensors.hpp"

namespace kforge {

struct SampleSummary {
  size_t count = 0;
  double median = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
  double p10 = 0;
  double p90 = 0;
  double stddev = 0;
  double cv = 0;  // coefficient of variation: stddev / mean

  nlohmann::json to_json() const;
};

// Percentiles by linear interpolation between closest ranks. Empty input gives all zeros.
SampleSummary summarize(std::vector<double> samples);

// The repetition rule of the timing protocol: stop once at least `min_samples` are in and the
// relative spread (p90 - p10) / median is at most `target_spread`, or at `max_samples`.
bool enough_samples(const std::vector<double>& samples, size_t min_samples, size_t max_samples,
                    double target_spread);

// What a kernel's work costs at best on a GPU: bytes that must move over measured DRAM
// bandwidth, and FLOPs over the peak rate; the larger of the two, in microseconds.
struct PhysicalFloor {
  double bytes = 0;
  double flops = 0;
  double bandwidth_bytes_per_s = 0;
  double peak_flops_per_s = 0;

  double floor_us() const;
  // A measured time below the floor (by more than `margin`, a fraction) cannot be honest.
  bool violated_by(double device_time_us, double margin = 0.05) const;
  // The fraction of the floor reached: floor / measured (1.0 = at the physical limit).
  double fraction_of_floor(double device_time_us) const;
};

// ---- the floor the run stage applies (docs/judge.md) --------------------------------------------

// What is known of one GPU's ceilings, from its DeviceMeasurement (0 = not measured).
struct DeviceCeilings {
  double memcpy_bandwidth = 0;       // cuMemcpyDtoD, read + written bytes
  double read_bandwidth = 0;         // read-only kernel
  double write_bandwidth = 0;        // write-only kernel
  double kernel_copy_bandwidth = 0;  // copy kernel, read + written bytes
  double theoretical_bandwidth = 0;  // memory clock x bus width x 2
  double peak_fp32 = 0;              // fp32 FMA
  double peak_fp16_tensor = 0;       // mma.sync fp16
  double peak_bf16_tensor = 0;       // mma.sync bf16
  bool tensor_full_rate = false;     // the tensor peaks are the architecture's full rate

  // The highest of every bandwidth figure: no honest kernel moves DRAM bytes faster than the
  // best way kforge found (or the bus's theoretical rate), whatever its mix of reads and writes.
  double bandwidth() const;
  // The peak rate the compute floor divides FLOPs by, for a kernel whose floating-point tensors
  // have these dtypes, or nothing where no measured figure bounds every honest way of computing
  // them: float16 and bfloat16 need their tensor-core peak at full rate; float32 and float64
  // take the highest of the fp32 FMA and full-rate tensor-core peaks (split-precision
  // tensor-core schemes such as 3xTF32 reach float32 accuracy above the FMA rate), so they too
  // need a full-rate tensor peak. A mix needs a peak for every dtype and takes the highest.
  // `why` says which figure was taken, or why none.
  std::optional<double> peak_for(const std::vector<DType>& dtypes, std::string& why) const;
};

// Margins below the floor before a time counts as impossible. Memory: run-to-run spread of the
// bandwidth measurement and of HBM/GDDR throughput is a few percent, and the floor already
// takes the best of several access patterns (and the theoretical bus rate): 10%. Compute: SM
// clocks move between base and boost (an H100 SXM's base is 80% of its boost), and the peak is
// measured once, at whatever clock the GPU ran then: 25%.
inline constexpr double kMemoryFloorMargin = 0.10;
inline constexpr double kComputeFloorMargin = 0.25;

struct FloorDecision {
  double bytes = 0;
  double flops = 0;
  double bandwidth_bytes_per_s = 0;
  std::optional<double> peak_flops_per_s;  // nothing: no compute floor
  std::string peak_basis;                  // which peak, or why there is none
  double memory_us = 0;                    // bytes / bandwidth
  double compute_us = 0;                   // flops / peak (0 without a compute floor)
  double device_time_us = 0;
  bool memory_violated = false;   // time < memory_us x (1 - kMemoryFloorMargin)
  bool compute_violated = false;  // time < compute_us x (1 - kComputeFloorMargin)

  bool suspicious() const { return memory_violated || compute_violated; }
  double floor_us() const { return std::max(memory_us, compute_us); }
  double fraction_of_floor() const { return device_time_us > 0 ? floor_us() / device_time_us : 0; }
  nlohmann::json to_json() const;
};

// The run stage's floor: `bytes` that must move and `flops` (0 where not counted) for a kernel
// whose floating tensors have `dtypes`, against the GPU's ceilings, for a median device time.
FloorDecision decide_floor(const DeviceCeilings& ceilings, double bytes, double flops,
                           const std::vector<DType>& dtypes, double device_time_us);

}  // namespace kforge

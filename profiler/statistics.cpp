#include "profiler/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace kforge {
namespace {

double percentile(const std::vector<double>& sorted, double fraction) {
  if (sorted.empty())
    return 0;
  double rank = fraction * static_cast<double>(sorted.size() - 1);
  size_t below = static_cast<size_t>(std::floor(rank));
  size_t above = std::min(below + 1, sorted.size() - 1);
  double weight = rank - static_cast<double>(below);
  return sorted[below] * (1 - weight) + sorted[above] * weight;
}

}  // namespace

nlohmann::json SampleSummary::to_json() const {
  return {{"count", count}, {"median", median}, {"min", min},       {"max", max}, {"mean", mean},
          {"p10", p10},     {"p90", p90},       {"stddev", stddev}, {"cv", cv}};
}

SampleSummary summarize(std::vector<double> samples) {
  SampleSummary summary;
  if (samples.empty())
    return summary;
  std::sort(samples.begin(), samples.end());
  summary.count = samples.size();
  summary.min = samples.front();
  summary.max = samples.back();
  summary.median = percentile(samples, 0.5);
  summary.p10 = percentile(samples, 0.1);
  summary.p90 = percentile(samples, 0.9);
  summary.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / samples.size();
  double squares = 0;
  for (double sample : samples)
    squares += (sample - summary.mean) * (sample - summary.mean);
  summary.stddev = samples.size() > 1 ? std::sqrt(squares / (samples.size() - 1)) : 0;
  summary.cv = summary.mean > 0 ? summary.stddev / summary.mean : 0;
  return summary;
}

bool enough_samples(const std::vector<double>& samples, size_t min_samples, size_t max_samples,
                    double target_spread) {
  if (samples.size() >= max_samples)
    return true;
  if (samples.size() < min_samples)
    return false;
  SampleSummary summary = summarize(samples);
  return summary.median > 0 && (summary.p90 - summary.p10) / summary.median <= target_spread;
}

double PhysicalFloor::floor_us() const {
  double memory = bandwidth_bytes_per_s > 0 ? bytes / bandwidth_bytes_per_s : 0;
  double compute = peak_flops_per_s > 0 ? flops / peak_flops_per_s : 0;
  return std::max(memory, compute) * 1e6;
}

bool PhysicalFloor::violated_by(double device_time_us, double margin) const {
  double floor = floor_us();
  return floor > 0 && device_time_us < floor * (1 - margin);
}

double PhysicalFloor::fraction_of_floor(double device_time_us) const {
  return device_time_us > 0 ? floor_us() / device_time_us : 0;
}

double DeviceCeilings::bandwidth() const {
  return std::max({memcpy_bandwidth, read_bandwidth, write_bandwidth, kernel_copy_bandwidth,
                   theoretical_bandwidth});
}

std::optional<double> DeviceCeilings::peak_for(const std::vector<DType>& dtypes,
                                               std::string& why) const {
  double fp16 = tensor_full_rate ? peak_fp16_tensor : 0;
  double bf16 = tensor_full_rate ? peak_bf16_tensor : 0;
  std::string no_tensor =
      peak_fp16_tensor > 0 || peak_bf16_tensor > 0
          ? "the measured tensor-core rates (mma.sync) are not this GPU's full rate"
          : "no tensor-core peak was measured";
  double peak = 0;
  bool any = false;
  for (DType dtype : dtypes) {
    double rate = 0;
    switch (dtype) {
      case DType::kF16:
        rate = fp16;
        if (!(rate > 0)) {
          why = "no compute floor for float16: " + no_tensor;
          return std::nullopt;
        }
        break;
      case DType::kBF16:
        rate = bf16;
        if (!(rate > 0)) {
          why = "no compute floor for bfloat16: " + no_tensor;
          return std::nullopt;
        }
        break;
      case DType::kF32:
      case DType::kF64:
        if (!(std::max(fp16, bf16) > 0)) {
          why = std::string("no compute floor for ") + std::string(dtype_torch_name(dtype)) +
                ": split-precision tensor-core schemes can beat the FMA rate, and " + no_tensor;
          return std::nullopt;
        }
        rate = std::max({peak_fp32, fp16, bf16});
        break;
      default:
        continue;  // integers and bool carry no FLOPs of their own
    }
    any = true;
    peak = std::max(peak, rate);
  }
  if (!any) {
    why = "no compute floor: no floating-point tensors";
    return std::nullopt;
  }
  why = peak == fp16 && fp16 > 0   ? "fp16 tensor-core peak (mma.sync)"
        : peak == bf16 && bf16 > 0 ? "bf16 tensor-core peak (mma.sync)"
                                   : "fp32 FMA peak";
  return peak;
}

nlohmann::json FloorDecision::to_json() const {
  return {{"bytes", bytes},
          {"flops", flops},
          {"bandwidth_bytes_per_s", bandwidth_bytes_per_s},
          {"peak_flops_per_s", peak_flops_per_s ? nlohmann::json(*peak_flops_per_s) : nullptr},
          {"peak_basis", peak_basis},
          {"memory_us", memory_us},
          {"compute_us", compute_us},
          {"floor_us", floor_us()},
          {"fraction_of_floor", fraction_of_floor()},
          {"memory_margin", kMemoryFloorMargin},
          {"compute_margin", kComputeFloorMargin},
          {"memory_violated", memory_violated},
          {"compute_violated", compute_violated}};
}

FloorDecision decide_floor(const DeviceCeilings& ceilings, double bytes, double flops,
                           const std::vector<DType>& dtypes, double device_time_us) {
  FloorDecision decision;
  decision.bytes = bytes;
  decision.flops = flops;
  decision.device_time_us = device_time_us;
  decision.bandwidth_bytes_per_s = ceilings.bandwidth();
  if (decision.bandwidth_bytes_per_s > 0)
    decision.memory_us = bytes / decision.bandwidth_bytes_per_s * 1e6;
  if (flops > 0) {
    decision.peak_flops_per_s = ceilings.peak_for(dtypes, decision.peak_basis);
    if (decision.peak_flops_per_s)
      decision.compute_us = flops / *decision.peak_flops_per_s * 1e6;
  } else {
    decision.peak_basis = "no compute floor: no FLOPs counted";
  }
  decision.memory_violated =
      decision.memory_us > 0 && device_time_us < decision.memory_us * (1 - kMemoryFloorMargin);
  decision.compute_violated =
      decision.compute_us > 0 && device_time_us < decision.compute_us * (1 - kComputeFloorMargin);
  return decision;
}

}  // namespace kforge

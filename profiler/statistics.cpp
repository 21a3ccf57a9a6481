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

}  // namespace kforge

// Summaries of timing samples and the physical floor a kernel cannot beat.
// Every sample is kept; these are the figures reported and stored next to them.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

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

}  // namespace kforge

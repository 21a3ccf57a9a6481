// The hardware counters kforge collects for every profiled kernel: one table, in metric_set.cpp,
// keyed by Nsight Compute metric names, so that a profile taken here, one exported from `ncu`
// and the rules that read them (diagnosis) use the same keys.
//
// Two sources:
//   counter — collected by CUPTI's range profiler (profiler/cupti_range_profiler.hpp); which of
//             these a chip resolves, and how many replay passes they need together, comes from
//             CUPTI's host API and the chip name alone (profiler/cupti_profiler_host.hpp).
//   launch  — what Nsight Compute computes from the launch and the device's limits rather than
//             counts (its `launch__*` metrics and the theoretical occupancy): computed by the GPU
//             worker from the driver's function attributes (profiler/launch_metrics.hpp). CUPTI's
//             host API does not know these names.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kforge {

enum class MetricSource { kCounter, kLaunch };

std::string_view metric_source_name(MetricSource source);  // "counter", "launch"

struct MetricSpec {
  std::string_view name;   // the Nsight Compute metric name
  std::string_view topic;  // what it answers: "duration", "dram", "occupancy", "stalls", ...
  MetricSource source;
  std::string_view unit;     // "ns", "%", "bytes", "sectors", "ratio", "count", ...
  std::string_view meaning;  // one line for people
};

// The curated metric set, in the order it is shown.
std::span<const MetricSpec> metric_set();

// The names of the set's metrics from `source`, in table order.
std::vector<std::string> metric_names(MetricSource source);

// The chip name CUPTI's host API knows for an architecture kforge compiles for: sm_80 → GA100,
// sm_86 → GA102, sm_89 → AD102, sm_90 (and sm_90a) → GH100, sm_100 (and sm_100a) → GB100,
// sm_120 → GB202. nullopt for an architecture without one (sm_75 and older are not profiled).
std::optional<std::string> chip_for_arch(std::string_view arch);

}  // namespace kforge

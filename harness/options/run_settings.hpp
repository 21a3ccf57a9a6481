// The run stage's settings (verify.*, timing.*, profile.*): plain
// settings whose defaults harness/config.cpp reads. They sit at the bottom of the layers so that
// the configuration table includes nothing above it; harness/evaluation/run_stage.hpp includes it
// and defines its function.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness/options/timing_settings.hpp"

namespace kforge {

class Config;

// Who collects a profile's counters (profile.profiler, `--profiler`): CUPTI's range profiler in
// the GPU worker, Nsight Compute's CLI around a one-shot replay of the candidate
// (harness/evaluation/ncu_profile.hpp), or CUPTI first and ncu where CUPTI answers unavailable.
enum class ProfilerChoice { kCupti, kNcu, kAuto };
inline constexpr auto kProfilerChoiceNames =
    std::to_array<std::pair<ProfilerChoice, std::string_view>>({{ProfilerChoice::kCupti, "cupti"},
                                                                {ProfilerChoice::kNcu, "ncu"},
                                                                {ProfilerChoice::kAuto, "auto"}});
inline std::vector<std::string> profiler_names() {
  std::vector<std::string> names;
  for (const auto& [choice, name] : kProfilerChoiceNames)
    names.emplace_back(name);
  return names;
}

struct RunSettings {
  int seeds = 3;  // verification seeds 0 .. seeds-1
  std::string dtype = "float32";
  int input_sets = 3;  // timing rotation
  TimingSettings timing;
  bool baselines = true;
  bool profile = true;                               // profile.enabled
  bool profile_only_correct = true;                  // profile.only_correct
  ProfilerChoice profiler = ProfilerChoice::kCupti;  // profile.profiler
  std::string ncu = "ncu";  // profile.ncu: Nsight Compute's CLI, a name on PATH or a path

  // verify.seeds, verify.dtype, timing.* from the configuration.
  static RunSettings from_config(const Config& config);
};

}  // namespace kforge

// The run stage's settings (verify.*, timing.*, profile.enabled, profile.only_correct): plain
// settings whose defaults harness/config.cpp reads. They sit at the bottom of the layers so that
// the configuration table includes nothing above it; harness/evaluation/run_stage.hpp includes it
// and defines its function.
#pragma once

#include <string>

#include "harness/options/timing_settings.hpp"

namespace kforge {

class Config;

struct RunSettings {
  int seeds = 3;  // verification seeds 0 .. seeds-1
  std::string dtype = "float32";
  int input_sets = 3;  // timing rotation
  TimingSettings timing;
  bool baselines = true;
  bool profile = true;               // profile.enabled
  bool profile_only_correct = true;  // profile.only_correct

  // verify.seeds, verify.dtype, timing.* from the configuration.
  static RunSettings from_config(const Config& config);
};

}  // namespace kforge

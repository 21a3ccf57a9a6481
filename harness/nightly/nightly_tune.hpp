// The night's tune step: tuning the library kernels not yet tuned for this architecture through
// the evaluator-driven tuner. THE ONE PLACE the tuner is wired into the night: until that tuner
// (issue 15) lands, the step is an honest skip saying so.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace kforge::nightly {

struct TuneStepResult {
  bool ran = false;
  std::string detail;  // one line
};

// `state` is the step's checkpoint (for a resumable tuner: what is tuned already).
TuneStepResult run_tune_step(nlohmann::json& state);

}  // namespace kforge::nightly

#include "harness/nightly/nightly_tune.hpp"

namespace kforge::nightly {

TuneStepResult run_tune_step(nlohmann::json& /*state*/) {
  // Wire the evaluator-driven tuner (issue 15: `kforge tune` through the evaluator, with its
  // cache and resume) here: for each shipped kernel whose manifest has no tuned defines for this
  // architecture, tune its define space within the night's budgets and record TuningProgress
  // rows in `state` for the report.
  return {false, "skipped: the evaluator-driven tuner (issue 15) has not landed yet"};
}

}  // namespace kforge::nightly

// A launch plan read back from the store (candidates.plan, evaluations.plan: JSON text without
// positions), as LaunchPlan::from_json reads it, then its default define values.
// Allowed failures: PlanError. Anything else is a finding. (ResolvedPlan::from_json is not
// fuzzed: nothing but tests calls it; the GPU worker reads the resolved plan itself, from its
// parent. docs/fuzzing.md says what running it here showed.)
#include <cstdint>
#include <nlohmann/json.hpp>

#include "harness/candidate/launch_plan.hpp"
#include "harness/candidate/plan_error.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kforge;
  nlohmann::json json = nlohmann::json::parse(fuzz::as_text(data, size), nullptr, false);
  if (json.is_discarded())
    return 0;
  try {
    LaunchPlan plan = LaunchPlan::from_json(json);
    (void)plan.to_json().dump();
    (void)choose_define_values(plan);
  } catch (const PlanError& error) {
    fuzz::store_message(error.message(), fuzz::as_text(data, size));
  }
  return 0;
}

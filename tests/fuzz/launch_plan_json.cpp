// A launch plan read back from the store (candidates.plan, evaluations.plan: JSON text without
// positions), as LaunchPlan::from_json reads it, and the resolved plan a GPU worker reads
// (ResolvedPlan::from_json).
// Allowed failures: nlohmann's parse_error (the caller's to catch: the store holds JSON kforge
// wrote), PlanError from the plan reader, kforge::Error from the resolved-plan reader.
#include <cstdint>
#include <nlohmann/json.hpp>

#include "harness/candidate/launch_plan.hpp"
#include "harness/candidate/plan_validation.hpp"
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
    (void)error.message();
  }
  try {
    ResolvedPlan plan = ResolvedPlan::from_json(json, "resolved plan");
    (void)plan.to_json().dump();
  } catch (const Error& error) {
    (void)error.what();
  }
  return 0;
}

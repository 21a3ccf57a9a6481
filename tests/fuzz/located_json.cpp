// The position-keeping JSON reader of launch plans, on any text, and the launch plan read from
// its tree as parse_candidate reads it (messages name file:line:column).
// Allowed failures: PlanError. Anything else is a finding.
#include <cstdint>
#include <memory>

#include "harness/candidate/launch_plan.hpp"
#include "harness/candidate/located_json.hpp"
#include "harness/candidate/plan_error.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kforge;
  // Some text before and after the JSON, as in a candidate file's comment.
  std::string text = "/* kforge:launch " + std::string(fuzz::as_text(data, size)) + " */";
  auto source = std::make_shared<const SourceText>("kernel.cu", text);
  try {
    LocatedJson json = parse_located_json(source, 16, text.size() - 2);
    (void)json.kind_name();
    (void)json.find("kernels");
    LaunchPlan plan = LaunchPlan::from_located(json, source);
    (void)plan.to_json().dump();
  } catch (const PlanError& error) {
    fuzz::store_message(error.message(), fuzz::as_text(data, size));
  }
  return 0;
}

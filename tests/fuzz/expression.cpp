// A launch-plan size expression ("ceil_div(x.numel, BLOCK)", "linear.weight.shape[0] * 4"):
// parsed once, then evaluated, as a size too, against names of every kind an environment holds
// (tensors, integers, a float, a scalar whose value is unknown, a define).
// Allowed failures: PlanError. Anything else (an escaped overflow, a crash) is a finding.
#include <cstdint>

#include "harness/candidate/expression.hpp"
#include "harness/candidate/plan_error.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace kforge;

const ExpressionEnvironment& environment() {
  static const ExpressionEnvironment fixed = [] {
    ExpressionEnvironment e;
    e.add("x", {NamedValue::Kind::kTensor, "input", {1000, 37}, 0, 0, true});
    e.add("linear.weight", {NamedValue::Kind::kTensor, "parameter", {64, 37}, 0, 0, true});
    e.add("out", {NamedValue::Kind::kTensor, "output", {9223372036854775807, 2}, 0, 0, true});
    e.add("empty", {NamedValue::Kind::kTensor, "input", {}, 0, 0, true});
    e.add("n", {NamedValue::Kind::kInteger, "input", {}, 4096, 0, true});
    e.add("big", {NamedValue::Kind::kInteger, "input", {}, INT64_MIN, 0, true});
    e.add("alpha", {NamedValue::Kind::kFloat, "input", {}, 0, 0.5, true});
    e.add("seed", {NamedValue::Kind::kInteger, "input", {}, 0, 0, false});
    e.add("BLOCK", {NamedValue::Kind::kInteger, "define", {}, 256, 0, true});
    return e;
  }();
  return fixed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = kforge::fuzz::as_text(data, size);
  try {
    Expression expression = Expression::parse(std::string(input), "kernel 'k' grid[0]");
    (void)expression.bare_name();
    (void)expression.names();
    try {
      (void)expression.evaluate(environment());
    } catch (const PlanError& error) {
      kforge::fuzz::store_message(error.message(), input);
    }
    (void)expression.evaluate_size(environment());
  } catch (const PlanError& error) {
    kforge::fuzz::store_message(error.message(), input);
  }
  return 0;
}

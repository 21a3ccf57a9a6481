// A shipped kernel file as the standalone runtime reads it (kernels/runtime/kernel_file.cpp:
// the kforge:launch comment found by find_launch_plan_comment, which kforge's candidate parser
// shares, then the plan's JSON), then its define options, and its constraints evaluated as
// prepare_launch evaluates them (defines at their defaults, a tensor x of shape [1000, 37]).
// Allowed failures: KernelError. Anything else is a finding.
#include <cstdint>

#include "kforge/kernels/error.hpp"
#include "kforge/kernels/expression.hpp"
#include "kforge/kernels/kernel_file.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kforge::kernels;
  try {
    KernelFile file =
        parse_kernel_file(std::string(kforge::fuzz::as_text(data, size)), "kernel.cu");
    (void)file.define_options();
    if (!file.defines.empty())
      (void)file.define_options({{file.defines.front().name, 7}});
    ExpressionEnvironment scope;
    for (const DefineChoice& define : file.defines)
      scope.add(define.name,
                {NamedValue::Kind::kInteger, "define", {}, define.default_value, 0, true});
    scope.add("x", {NamedValue::Kind::kTensor, "tensor argument", {1000, 37}, 0, 0, true});
    for (const std::string& constraint : file.constraints) {
      try {
        (void)evaluate_condition(constraint, scope);
      } catch (const KernelError& error) {
        (void)error.what();
      }
    }
  } catch (const KernelError& error) {
    (void)error.what();
  }
  return 0;
}

// The extern "C" __global__ declarations of any source text (the tokenizer and declaration
// matcher of harness/candidate/kernel_declarations).
// Allowed failures: PlanError. Anything else is a finding.
#include <cstdint>

#include "harness/candidate/kernel_declarations.hpp"
#include "harness/candidate/plan_error.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kforge;
  SourceText source("kernel.cu", std::string(fuzz::as_text(data, size)));
  try {
    std::vector<KernelDeclaration> kernels = find_kernel_declarations(source);
    for (const KernelDeclaration& kernel : kernels) {
      (void)find_kernel(kernels, kernel.name);
      for (size_t i = 0; i < kernel.parameters.size(); ++i)
        (void)kernel.parameters[i].describe(i);
    }
  } catch (const PlanError& error) {
    fuzz::store_message(error.message(), fuzz::as_text(data, size));
  }
  return 0;
}

// A shipped kernel file as the standalone runtime reads it (kernels/runtime/kernel_file.cpp:
// the kforge:launch comment found by find_launch_plan_comment, which kforge's candidate parser
// shares, then the plan's JSON), then its define options.
// Allowed failures: KernelError. Anything else is a finding.
#include <cstdint>

#include "kforge/kernels/error.hpp"
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
  } catch (const KernelError& error) {
    (void)error.what();
  }
  return 0;
}

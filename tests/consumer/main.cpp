// Lists the installed kernels, checks a call against a manifest's signature (no GPU needed),
// and asks the runtime for the present GPU, saying plainly when there is none.
#include <cstdio>
#include <kforge/kernels/error.hpp>
#include <kforge/kernels/launch.hpp>
#include <kforge/kernels/runtime.hpp>

using namespace kforge::kernels;

int main() {
  Runtime runtime({.library_root = KERNELS_DIR, .fatbin_dir = FATBIN_DIR});
  for (const ShippedKernel& kernel : runtime.library().kernels())
    std::printf("kernel %s/%s%s\n", kernel.task.c_str(), kernel.variant.c_str(),
                kernel.seed ? " (seed)" : "");

  const ShippedKernel& relu = runtime.library().choose("relu", 90);
  const KernelFile file = read_kernel_file(relu.source);
  try {
    prepare_launch(relu, file,
                   {{"x", Tensor{nullptr, {64, 64}, "float16"}},
                    {"out", Tensor{nullptr, {64, 64}, "float32"}}});
    std::printf("wrong dtype accepted\n");
    return 1;
  } catch (const KernelError& error) {
    std::printf("checked: %s\n", error.what());
  }
  const PreparedLaunch prepared = prepare_launch(
      relu, file,
      {{"x", Tensor{nullptr, {64, 64}, "float32"}}, {"out", Tensor{nullptr, {64, 64}, "float32"}}});
  std::printf("prepared: %zu kernel(s), grid %u, block %u\n", prepared.kernels.size(),
              prepared.kernels[0].grid[0], prepared.kernels[0].block[0]);

  try {
    std::printf("gpu: sm_%d, relu runs as %s\n", runtime.architecture(),
                runtime.choose("relu").variant.c_str());
  } catch (const KernelError& error) {
    std::printf("no GPU: %s\n", error.what());
  }
  return 0;
}

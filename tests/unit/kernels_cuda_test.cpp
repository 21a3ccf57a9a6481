// The kernel library's CUDA side: NVRTC found with its builtins and the CUDA headers
// (kernels/runtime/nvrtc), architecture-specific targets in plans, manifests and variant choice
// (kernel_file, library, runtime), and a launch from a thread other than the one that opened
// the driver (runtime, driver; GPU only, skipped without one).
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <thread>

#include "harness/util/cuda_libraries.hpp"
#include "harness/util/error.hpp"
#include "kforge/kernels/error.hpp"
#include "kforge/kernels/kernel_file.hpp"
#include "kforge/kernels/library.hpp"
#include "kforge/kernels/nvrtc.hpp"
#include "kforge/kernels/runtime.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::kernels {
namespace {

using kforge::testing::TemporaryDirectory;
using kforge::testing::write_text;

TEST(KernelsNvrtc, FindsItsBuiltinsAndTheCudaHeaders) {
  const Nvrtc nvrtc = Nvrtc::open();
  ASSERT_FALSE(nvrtc.include_paths().empty()) << nvrtc.library_path();
  EXPECT_TRUE(
      std::filesystem::exists(std::filesystem::path(nvrtc.include_paths().back()) / "cuda_fp16.h"));
  const NvrtcOutput output = nvrtc.compile(R"(#include <cuda_fp16.h>
#include <cuda/std/cstdint>
extern "C" __global__ void k(__half* x) { x[threadIdx.x] = __float2half((cuda::std::int32_t)1); }
)",
                                           "k.cu", 80, {});
  EXPECT_TRUE(output.succeeded) << output.log;
}

TEST(KernelsNvrtc, CompilesForAnArchitectureSpecificTarget) {
  const Nvrtc nvrtc = Nvrtc::open();
  const std::string source = R"(extern "C" __global__ void k(float* x) {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
  x[threadIdx.x] = 1.0f;
})";
  EXPECT_TRUE(nvrtc.compile(source, "k.cu", "sm_90a", {}).succeeded);
  EXPECT_FALSE(nvrtc.compile(source, "k.cu", "sm_90", {}).succeeded);
}

TEST(KernelsArch, CompileTargetMatchesTheGpu) {
  EXPECT_EQ(compile_target({}, 90), "sm_90");
  EXPECT_EQ(compile_target({"sm_90a"}, 90), "sm_90a");
  EXPECT_EQ(compile_target({"sm_90a"}, 100), "");
  EXPECT_EQ(compile_target({"sm_90a", "sm_100a"}, 100), "sm_100a");
  EXPECT_EQ(compile_target({"sm_100a"}, 103), "");
  EXPECT_EQ(compile_target({"sm_100f"}, 103), "sm_100f");
  EXPECT_EQ(compile_target({"sm_103f"}, 100), "");
  EXPECT_EQ(compile_target({"bogus"}, 90), "");
}

const std::string kSpecific = R"plan(/* kforge:launch
{"kernels": [{"name": "k", "grid": [1], "block": [32], "args": []}], "arch": "sm_90a"}
*/
extern "C" __global__ void k() {}
)plan";

TEST(KernelsArch, PlansAndManifestsCarryTheTargets) {
  EXPECT_EQ(parse_kernel_file(kSpecific, "k.cu").arch_targets, std::vector<std::string>{"sm_90a"});
  std::string listed = kSpecific;
  listed.replace(listed.find("\"sm_90a\""), 8, "[\"sm_90a\", \"sm_100a\"]");
  EXPECT_EQ(parse_kernel_file(listed, "k.cu").arch_targets,
            (std::vector<std::string>{"sm_90a", "sm_100a"}));
  std::string bad = kSpecific;
  bad.replace(bad.find("\"sm_90a\""), 8, "[]");
  EXPECT_THROW(parse_kernel_file(bad, "k.cu"), KernelError);

  // A variant for sm_90a only, verified there, and a plain seed: on sm_90 the first, anywhere
  // else the seed; on sm_100 the sm_90a variant is not even a fallback of its "family".
  TemporaryDirectory root;
  write_text(root / "gemm" / "a_wgmma" / "kernel.cu", kSpecific);
  write_text(root / "gemm" / "a_wgmma" / "manifest.json",
             R"({"architectures": ["sm_90a"], "launch": {"arch": "sm_90a"}})");
  write_text(root / "gemm" / "b_plain" / "kernel.cu",
             R"(/* kforge:launch
{"kernels": [{"name": "k", "grid": [1], "block": [32], "args": []}]} */)");
  const Library library = Library::scan(root.path());
  EXPECT_EQ(library.kernels()[0].arch_targets, std::vector<std::string>{"sm_90a"});
  EXPECT_EQ(library.choose("gemm", 90).variant, "a_wgmma");
  EXPECT_EQ(library.choose("gemm", 100).variant, "b_plain");
  EXPECT_EQ(library.choose("gemm", 91).variant, "b_plain");
}

// A GPU with the CUDA driver, or a reason to skip.
std::string no_gpu_reason() {
  try {
    CudaDriver& driver = CudaDriver::instance();
    if (driver.api().cuInit(0) != CUDA_SUCCESS)
      return "cuInit failed: no GPU";
    int count = 0;
    driver.check(driver.api().cuDeviceGetCount(&count), "cuDeviceGetCount");
    return count > 0 ? "" : "no GPU visible";
  } catch (const Error& error) {
    return error.what();
  }
}

TEST(KernelsRuntimeGpu, LaunchesFromAThreadWithoutACurrentContext) {
  if (std::string reason = no_gpu_reason(); !reason.empty())
    GTEST_SKIP() << reason;
  TemporaryDirectory root;
  write_text(root / "relu" / "plain" / "kernel.cu", R"cu(/* kforge:launch
{"kernels": [{"name": "relu", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
              "args": ["x", "out", "x.numel"]}]}
*/
extern "C" __global__ void relu(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * 256 + threadIdx.x;
  if (i < n) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
)cu");
  write_text(root / "relu" / "plain" / "manifest.json", R"({
  "task": {"name": "builtin/relu", "signature": {
    "inputs": [{"name": "x", "kind": "tensor", "dtype": "float32", "shape": [1000]}],
    "parameters": [],
    "outputs": [{"name": "out", "kind": "tensor", "dtype": "float32", "shape": [1000]}]}},
  "parameters": {"relu": [{"name": "x", "pointer": true}, {"name": "out", "pointer": true},
                          {"name": "n", "pointer": false, "value_type": "int64"}]},
  "defines": {}, "architectures": []})");

  // Device memory through kforge's own driver table, on this thread's primary context.
  CudaDriver& driver = CudaDriver::instance();
  const CudaDriverApi& api = driver.api();
  CUdevice device = 0;
  CUcontext context = nullptr;
  driver.check(api.cuDeviceGet(&device, 0), "cuDeviceGet");
  driver.check(api.cuDevicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain");
  driver.check(api.cuCtxSetCurrent(context), "cuCtxSetCurrent");
  constexpr size_t n = 1000;
  std::vector<float> host(n);
  for (size_t i = 0; i < n; ++i)
    host[i] = (i % 2 == 0 ? -1.0f : 1.0f) * static_cast<float>(i);
  CUdeviceptr x = 0, out = 0;
  driver.check(api.cuMemAlloc(&x, n * sizeof(float)), "cuMemAlloc");
  driver.check(api.cuMemAlloc(&out, n * sizeof(float)), "cuMemAlloc");
  driver.check(api.cuMemcpyHtoD(x, host.data(), n * sizeof(float)), "cuMemcpyHtoD");
  driver.check(api.cuMemsetD32(out, 0x7fc00000u, n), "cuMemsetD32");

  Runtime runtime({.library_root = root.path(), .cache_dir = root / "cache"});
  auto arguments = [&] {
    return Arguments{{"x", Tensor{reinterpret_cast<void*>(x), {n}, "float32"}},
                     {"out", Tensor{reinterpret_cast<void*>(out), {n}, "float32"}}};
  };
  // Threads that never made any context current: the runtime must, for the first launch (which
  // opens the driver and loads the module) and for a later one from another thread.
  for (int thread = 0; thread < 2; ++thread) {
    std::string failure;
    std::thread other([&] {
      try {
        runtime.launch("relu", arguments());
      } catch (const std::exception& error) {
        failure = error.what();
      }
    });
    other.join();
    ASSERT_EQ(failure, "") << "thread " << thread;
  }
  driver.check(api.cuCtxSynchronize(), "cuCtxSynchronize");
  std::vector<float> result(n);
  driver.check(api.cuMemcpyDtoH(result.data(), out, n * sizeof(float)), "cuMemcpyDtoH");
  for (size_t i = 0; i < n; ++i)
    ASSERT_EQ(result[i], host[i] > 0 ? host[i] : 0.0f) << i;
  // And again from this thread, which holds the context already.
  runtime.launch("relu", arguments());
  driver.check(api.cuCtxSynchronize(), "cuCtxSynchronize");
  api.cuMemFree(x);
  api.cuMemFree(out);
}

}  // namespace
}  // namespace kforge::kernels

// Architecture-specific targets through the real NVRTC (sandbox/nvrtc_compiler) and the compile
// cache key (sandbox/compile_cache): wgmma and setmaxnreg exist only in sm_90a.
#include <gtest/gtest.h>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "sandbox/compile_cache.hpp"
#include "sandbox/nvrtc_api.hpp"
#include "sandbox/nvrtc_compiler.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

constexpr const char* kHopperOnly = R"(
extern "C" __global__ void __launch_bounds__(128) fenced(float* out) {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
  asm volatile("setmaxnreg.inc.sync.aligned.u32 240;\n");
  out[threadIdx.x] = 1.0f;
}
)";

CompileResult compile(const std::string& arch, const std::filesystem::path& output) {
  NvrtcCompileSettings settings;
  settings.output_dir = output;
  settings.include_roots = cuda_include_roots();
  return compile_with_nvrtc({.source = kHopperOnly, .arch = arch, .name = "fenced.cu"}, settings);
}

TEST(CompileArchSpecific, Sm90aOnlyCodeCompilesForSm90aAndNotForSm90) {
  try {
    Nvrtc::instance();
  } catch (const Error& missing) {
    GTEST_SKIP() << missing.what();
  }
  testing::TemporaryDirectory dir;
  CompileResult specific = compile("sm_90a", dir / "a");
  ASSERT_EQ(specific.status, CompileStatus::kOk) << specific.detail << specific.log;
  EXPECT_EQ(specific.arch, "sm_90a");
  EXPECT_NE(files::read(specific.ptx_path).find(".target sm_90a"), std::string::npos);

  CompileResult plain = compile("sm_90", dir / "plain");
  EXPECT_EQ(plain.status, CompileStatus::kNvrtcError);
  EXPECT_NE(plain.log.find("not supported on .target 'sm_90'"), std::string::npos) << plain.log;
}

TEST(CompileArchSpecific, TheTargetIsPartOfTheCacheKey) {
  CompileRequest request{.source = kHopperOnly, .arch = "sm_90"};
  const std::string plain = CompileCache::key(request, "13.0");
  request.arch = "sm_90a";
  const std::string specific = CompileCache::key(request, "13.0");
  request.arch = "sm_100a";
  EXPECT_NE(plain, specific);
  EXPECT_NE(specific, CompileCache::key(request, "13.0"));
}

}  // namespace
}  // namespace kforge

// harness/util/cuda_libraries: the CUDA header folders a candidate may include from, found
// beside the NVRTC in use in each layout it comes in (a toolkit, pip's CUDA 13 wheels in
// nvidia/cu13, CUDA 12's nvidia/cuda_* packages), and the source policy allowing exactly them.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "harness/util/cuda_libraries.hpp"
#include "sandbox/source_policy.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;

void touch(const fs::path& path) {
  fs::create_directories(path.parent_path());
  testing::write_text(path, "/* header */\n");
}

// Sets an environment variable for one test and restores it after.
class ScopedVariable {
 public:
  ScopedVariable(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name))
      old_ = old;
    value ? ::setenv(name, value, 1) : ::unsetenv(name);
  }
  ~ScopedVariable() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(CudaIncludeRoots, PipCuda13HeadersBesideTheWheelsLib) {
  testing::TemporaryDirectory dir;
  const fs::path cu13 = fs::canonical(dir.path()) / "site-packages" / "nvidia" / "cu13";
  touch(cu13 / "lib" / "libnvrtc.so.13");
  touch(cu13 / "include" / "cuda_fp16.h");
  touch(cu13 / "include" / "cuda_bf16.h");
  touch(cu13 / "include" / "cccl" / "cuda" / "std" / "cstdint");
  EXPECT_EQ(cuda_include_roots_for(cu13 / "lib" / "libnvrtc.so.13"),
            (std::vector<fs::path>{cu13 / "include" / "cccl", cu13 / "include"}));

  // The policy allows the wheels' headers through those roots, and nothing else.
  CompileRequest request;
  request.source =
      "#include <cuda_fp16.h>\n#include \"cuda_bf16.h\"\n#include <cuda/std/cstdint>\n";
  auto roots = cuda_include_roots_for(cu13 / "lib" / "libnvrtc.so.13");
  EXPECT_FALSE(check_compile_request(request, roots, 4096).has_value());
  request.source = "#include <stdio.h>\n";
  auto refused = check_compile_request(request, roots, 4096);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, CompileStatus::kForbiddenInclude);
  request.source = "#include <../lib/libnvrtc.so.13>\n";
  EXPECT_TRUE(check_compile_request(request, roots, 4096).has_value());
}

TEST(CudaIncludeRoots, PipCuda12PackagesBesideEachOther) {
  testing::TemporaryDirectory dir;
  const fs::path nvidia = fs::canonical(dir.path()) / "nvidia";
  touch(nvidia / "cuda_nvrtc" / "lib" / "libnvrtc.so.12");
  touch(nvidia / "cuda_nvrtc" / "include" / "nvrtc.h");  // no fp16 header here
  touch(nvidia / "cuda_runtime" / "include" / "cuda_fp16.h");
  touch(nvidia / "cuda_cccl" / "include" / "cuda" / "std" / "cstdint");
  EXPECT_EQ(cuda_include_roots_for(nvidia / "cuda_nvrtc" / "lib" / "libnvrtc.so.12"),
            (std::vector<fs::path>{nvidia / "cuda_cccl" / "include",
                                   nvidia / "cuda_runtime" / "include"}));
}

TEST(CudaIncludeRoots, AToolkitThroughALib64LinkAndCudaHomeAsFallback) {
  testing::TemporaryDirectory dir;
  const fs::path toolkit = fs::canonical(dir.path()) / "cuda-13.0";
  touch(toolkit / "lib" / "libnvrtc.so.13");
  fs::create_directory_symlink("lib", toolkit / "lib64");
  touch(toolkit / "include" / "cuda_fp16.h");
  EXPECT_EQ(cuda_include_roots_for(toolkit / "lib64" / "libnvrtc.so.13"),
            std::vector<fs::path>{toolkit / "include"});  // no cccl/ folder: not listed

  // NVRTC somewhere without headers: $CUDA_HOME's are used.
  const fs::path bare = fs::canonical(dir.path()) / "bare" / "lib";
  touch(bare / "libnvrtc.so.13");
  ScopedVariable home("CUDA_HOME", toolkit.c_str());
  EXPECT_EQ(cuda_include_roots_for(bare / "libnvrtc.so.13"),
            std::vector<fs::path>{toolkit / "include"});
}

}  // namespace
}  // namespace kforge

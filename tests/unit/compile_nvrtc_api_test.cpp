// sandbox/nvrtc_api: NVRTC opened at run time, and the one checked call for nvrtcResult.
#include <gtest/gtest.h>

#include <algorithm>

#include "harness/util/error.hpp"
#include "sandbox/nvrtc_api.hpp"

namespace kforge {
namespace {

TEST(CompileNvrtcApi, LibraryCandidatesIncludeSonamesAndToolkitPaths) {
  auto names = nvrtc_library_candidates();
  ASSERT_GE(names.size(), 4u);
  EXPECT_EQ(names[0], "libnvrtc.so.13");
  EXPECT_EQ(names[1], "libnvrtc.so.12");
  EXPECT_NE(std::find(names.begin(), names.end(), "/usr/local/cuda/lib64/libnvrtc.so.13"),
            names.end());
}

TEST(CompileNvrtcApi, CheckedCallNamesTheFunctionTheResultAndAttachesTheLog) {
  const Nvrtc* nvrtc = nullptr;
  try {
    nvrtc = &Nvrtc::instance();
  } catch (const Error& missing) {
    GTEST_SKIP() << missing.what();
  }
  EXPECT_NO_THROW(nvrtc->check(NVRTC_SUCCESS, "nvrtcVersion"));
  try {
    nvrtc->check(NVRTC_ERROR_INVALID_INPUT, "nvrtcGetPTX");
    FAIL() << "no Error";
  } catch (const Error& error) {
    EXPECT_NE(error.message().find("nvrtcGetPTX failed: NVRTC_ERROR_INVALID_INPUT"),
              std::string::npos)
        << error.what();
    EXPECT_EQ(error.where(), nvrtc->library_path());
  }

  nvrtcProgram program = nullptr;
  nvrtc->check(
      nvrtc->api().create_program(&program, "this is not CUDA;", "bad.cu", 0, nullptr, nullptr),
      "nvrtcCreateProgram");
  nvrtcResult result = nvrtc->api().compile_program(program, 0, nullptr);
  try {
    nvrtc->check(result, "nvrtcCompileProgram", program);
    FAIL() << "no Error";
  } catch (const Error& error) {
    EXPECT_NE(error.message().find("NVRTC_ERROR_COMPILATION"), std::string::npos);
    EXPECT_NE(error.message().find("bad.cu(1)"), std::string::npos) << error.message();
  }
  nvrtc->api().destroy_program(&program);
  EXPECT_FALSE(nvrtc->version().empty());
}

}  // namespace
}  // namespace kforge

// NVRTC and the CUDA headers where only pip's NVIDIA wheels have them (no toolkit): NVIDIA's
// real wheels from PyPI in a virtual environment (tests/system/pip_cuda/make_venv.sh, kept in a
// cache folder), the toolkit hidden in a private mount namespace, KFORGE_CUDA_LIB_DIRS naming
// the wheels' lib folder (tests/system/pip_cuda/hidden_toolkit.sh). There, NVRTC opens by full
// path from a folder the dynamic linker does not search, so its builtins (which it opens by bare
// soname) and the headers must be found beside it. Needs root (unshare --mount) and PyPI, or a
// venv from an earlier run; skips, saying which, without them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "harness/util/files.hpp"
#include "harness/util/strings.hpp"
#include "tests/support/test_cache.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;

std::string read_or_empty(const fs::path& path) {
  std::error_code failure;
  return fs::exists(path, failure) ? files::read(path) : std::string();
}

int exit_code(const fs::path& results, const std::string& step) {
  std::string text(strings::trim(read_or_empty(results / (step + ".rc"))));
  return text.empty() ? -1 : std::stoi(text);
}

const nlohmann::json* component(const nlohmann::json& report, const std::string& name) {
  for (const nlohmann::json& entry : report["components"])
    if (entry["name"] == name)
      return &entry;
  return nullptr;
}

TEST(PipCuda, WheelsAloneCompileWithTheirBuiltinsAndHeaders) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "hiding the CUDA toolkit needs a private mount namespace, which needs root";
  ProcessResult can_unshare = run_process({.program = "unshare", .arguments = {"--mount", "true"}});
  if (!can_unshare.succeeded())
    GTEST_SKIP() << "unshare --mount is not permitted here: " << can_unshare.standard_error;

  const fs::path scripts = testing::source_dir() / "tests/system/pip_cuda";
  ProcessResult venv =
      run_process({.program = scripts / "make_venv.sh",
                   .arguments = {(testing::test_cache_folder() / "pip-cuda13").string()},
                   .time_limit = std::chrono::minutes(10)});
  if (venv.exit_code == 77)
    GTEST_SKIP() << "PyPI cannot be reached to install NVIDIA's wheels: " << venv.standard_error;
  ASSERT_TRUE(venv.succeeded()) << venv.describe_end() << "\n" << venv.standard_error;
  std::string output(strings::trim(venv.standard_output));
  const fs::path cu13 =
      output.substr(output.rfind('\n') == std::string::npos ? 0 : output.rfind('\n') + 1);
  ASSERT_TRUE(fs::exists(cu13 / "lib" / "libnvrtc.so.13")) << cu13;
  ASSERT_TRUE(fs::exists(cu13 / "lib" / "libnvrtc-builtins.so.13.0")) << cu13;
  ASSERT_TRUE(fs::exists(cu13 / "include" / "cuda_fp16.h")) << cu13;
  ASSERT_TRUE(fs::exists(cu13 / "include" / "cccl" / "cuda" / "std" / "cstdint")) << cu13;

  testing::TemporaryDirectory workspace;
  const fs::path results = workspace / "results";
  const fs::path run = workspace / "run";
  fs::create_directories(run);
  ProcessResult hidden = run_process(
      {.program = scripts / "hidden_toolkit.sh",
       .arguments =
           {testing::kforge_binary().string(), cu13.string(), results.string(),
            (testing::source_dir() / "tests/system/data/eval/relu_cuda_headers.cu").string(),
            run.string()},
       .time_limit = std::chrono::minutes(8)});
  ASSERT_TRUE(hidden.succeeded()) << hidden.describe_end() << "\n" << hidden.standard_error;
  const std::string covered = read_or_empty(results / "hidden.txt");
  EXPECT_NE(covered.find("/usr/local/cuda"), std::string::npos) << covered;

  // doctor proves NVRTC by compiling a kernel with cuda_fp16.h, from the wheels.
  ASSERT_EQ(exit_code(results, "doctor"), 0)
      << read_or_empty(results / "doctor.out") << read_or_empty(results / "doctor.err");
  nlohmann::json doctor = nlohmann::json::parse(read_or_empty(results / "doctor.out"));
  const nlohmann::json* nvrtc = component(doctor, "nvrtc");
  ASSERT_NE(nvrtc, nullptr);
  EXPECT_TRUE((*nvrtc)["found"].get<bool>()) << nvrtc->dump();
  EXPECT_EQ((*nvrtc)["location"], (cu13 / "lib" / "libnvrtc.so.13").string()) << nvrtc->dump();
  const std::string detail = (*nvrtc)["detail"];
  EXPECT_NE(detail.find("cuda_fp16.h"), std::string::npos) << detail;
  EXPECT_NE(detail.find((cu13 / "include").string()), std::string::npos) << detail;

  // A candidate including cuda_fp16.h, cuda_bf16.h and CCCL compiles: `compiled`, not an
  // infrastructure error (NVRTC_ERROR_BUILTIN_OPERATION_FAILURE) nor forbidden_include.
  ASSERT_EQ(exit_code(results, "eval"), 0)
      << read_or_empty(results / "eval.out") << read_or_empty(results / "eval.err");
  nlohmann::json eval = nlohmann::json::parse(read_or_empty(results / "eval.out"));
  EXPECT_EQ(eval["verdict"], "compiled") << eval.dump(2);
  EXPECT_EQ(eval["compile"]["status"], "ok") << eval.dump(2);

  // Without its builtins beside it, NVRTC is reported missing, and says why.
  EXPECT_EQ(exit_code(results, "no_builtins"), 3) << read_or_empty(results / "no_builtins.out");
  nlohmann::json broken = nlohmann::json::parse(read_or_empty(results / "no_builtins.out"));
  const nlohmann::json* without = component(broken, "nvrtc");
  ASSERT_NE(without, nullptr);
  EXPECT_FALSE((*without)["found"].get<bool>());
  EXPECT_NE((*without)["detail"].get<std::string>().find("libnvrtc-builtins.so.13.0"),
            std::string::npos)
      << without->dump();
}

}  // namespace
}  // namespace kforge

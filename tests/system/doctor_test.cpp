// `kforge doctor` through the real binary: what it finds on this machine, and its exit code for
// the work asked about.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/tiny_workspace.hpp"

namespace kforge {
namespace {

using testing::run_kforge;

nlohmann::json component(const nlohmann::json& report, const std::string& name) {
  for (const auto& entry : report["components"]) {
    if (entry["name"] == name)
      return entry;
  }
  ADD_FAILURE() << "no component " << name;
  return {};
}

TEST(Doctor, ReportsEveryComponentAndSucceedsForCompileWork) {
  testing::TemporaryDirectory dir;
  ProcessResult result =
      run_kforge({"--python", "/usr/bin/python3", "doctor", "--json"}, dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.standard_output << result.standard_error;
  auto report = nlohmann::json::parse(result.standard_output);
  EXPECT_TRUE(report["ok"].get<bool>());
  for (const char* name : {"cuda-driver", "gpu", "nvrtc", "cupti", "python", "store", "cache"})
    EXPECT_TRUE(component(report, name).contains("found")) << name;
  EXPECT_TRUE(component(report, "nvrtc")["found"].get<bool>());
  // Proved by a real compile of a kernel that includes the fp16 header, not by a load.
  EXPECT_NE(component(report, "nvrtc")["detail"].get<std::string>().find(
                "compiled a kernel including cuda_fp16.h"),
            std::string::npos)
      << component(report, "nvrtc").dump();
  EXPECT_NE(component(report, "python")["version"].get<std::string>().find("torch"),
            std::string::npos);
  // Doctor looks without creating: no store and no cache folder appear.
  EXPECT_FALSE(std::filesystem::exists(dir / "kforge.db"));
  EXPECT_FALSE(std::filesystem::exists(dir / ".kforge" / "doctor"));
}

// The cache a workspace's work left (a task's reference runs, a candidate's compile) is reported
// with its size, folder by folder, beside the disk's free space: nothing else removes it, and a
// large task's reference runs take GiBs.
TEST(Doctor, SaysHowMuchTheCacheHoldsAndWhatTheDiskHasFree) {
  testing::TemporaryDirectory dir;
  ASSERT_EQ(testing::import_tiny_relu_workspace(dir.path()).exit_code, 0);
  testing::write_text(dir / "relu.cu", testing::emulated_candidate("relu"));
  ProcessResult evaluated = run_kforge({"eval", "relu.cu", "--task", "tiny/tiny_relu"}, dir.path());
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.standard_error;
  ProcessResult result = run_kforge({"doctor", "--json"}, dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.standard_output << result.standard_error;
  const std::string detail =
      component(nlohmann::json::parse(result.standard_output), "cache")["detail"];
  EXPECT_EQ(detail.rfind("writable; holds ", 0), 0u) << detail;
  EXPECT_NE(detail.find(" free on its disk"), std::string::npos) << detail;
  for (const auto& entry : std::filesystem::directory_iterator(dir / ".kforge")) {
    if (!entry.is_directory())
      continue;
    const std::string name = entry.path().filename().string();
    EXPECT_NE(detail.find(name + " "), std::string::npos) << name << ": " << detail;
  }
  // The task's reference runs are there, so their folder holds something.
  ASSERT_TRUE(std::filesystem::exists(dir / ".kforge" / "reference"));
  EXPECT_EQ(detail.find("reference 0 KiB"), std::string::npos) << detail;
}

TEST(Doctor, MissingRequiredPieceExitsThree) {
  testing::TemporaryDirectory dir;
  // A Python without torch: a script that fails the way such an interpreter does.
  testing::write_text(dir / "python-without-torch",
                      "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\n"
                      "exit 1\n");
  std::filesystem::permissions(dir / "python-without-torch", std::filesystem::perms::owner_all);
  ProcessResult result =
      run_kforge({"--python", (dir / "python-without-torch").string(), "doctor"}, dir.path());
  EXPECT_EQ(result.exit_code, 3) << result.standard_output;
  EXPECT_NE(result.standard_output.find("missing for the requested work: python"),
            std::string::npos)
      << result.standard_output;
  EXPECT_NE(result.standard_output.find("No module named 'torch'"), std::string::npos);
}

TEST(Doctor, GpuRequirementFollowsWhatIsThere) {
  testing::TemporaryDirectory dir;
  ProcessResult result = run_kforge(
      {"--python", "/usr/bin/python3", "doctor", "--require", "gpu", "--json"}, dir.path());
  auto report = nlohmann::json::parse(result.standard_output);
  bool has_gpu = component(report, "gpu")["found"].get<bool>();
  EXPECT_EQ(result.exit_code, has_gpu ? 0 : 3);
  EXPECT_EQ(report["ok"].get<bool>(), has_gpu);
}

TEST(Doctor, UnknownComponentIsNamed) {
  testing::TemporaryDirectory dir;
  ProcessResult result = run_kforge({"doctor", "--require", "gpux"}, dir.path());
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.standard_error.find("did you mean 'gpu'"), std::string::npos)
      << result.standard_error;
}

}  // namespace
}  // namespace kforge

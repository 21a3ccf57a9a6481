// `kforge worker gpu`, the real binary, spoken to over its pipes. On a machine without libcuda or
// without a device its hello is a clean one-line refusal and exit code 1; on a GPU machine it
// describes the device, and hiding every device makes it refuse.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/util/strings.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

using nlohmann::json;

ProcessResult talk(const std::string& input, const std::map<std::string, std::string>& env = {}) {
  ProcessSpec spec;
  spec.program = testing::kforge_binary();
  spec.arguments = {"worker", "gpu", "--device", "0"};
  spec.standard_input = input;
  spec.environment_overrides = env;
  spec.time_limit = std::chrono::seconds(120);
  return run_process(spec);
}

std::vector<json> replies(const ProcessResult& result) {
  std::vector<json> lines;
  for (const std::string& line : strings::split(result.standard_output, '\n')) {
    if (!line.empty())
      lines.push_back(json::parse(line));
  }
  return lines;
}

TEST(GpuWorkerSystem, HelloNamesTheDeviceOrWhatIsMissing) {
  ProcessResult result = talk("{\"op\":\"hello\",\"id\":1}\n");
  ASSERT_FALSE(result.timed_out);
  std::vector<json> lines = replies(result);
  ASSERT_EQ(lines.size(), 1u) << result.standard_output << result.standard_error;
  const json& hello = lines[0];
  EXPECT_EQ(hello["id"], 1);
  if (hello["ok"] == true) {
    EXPECT_EQ(result.exit_code, 0);  // stdin ended after hello
    EXPECT_FALSE(hello["device"]["name"].get<std::string>().empty());
    EXPECT_TRUE(hello["device"]["arch"].get<std::string>().starts_with("sm_"));
    return;
  }
  EXPECT_EQ(result.exit_code, 1);
  std::string error = hello["error"].get<std::string>();
  EXPECT_EQ(error.find('\n'), std::string::npos);
  // This machine: no libcuda, and the line names the library that was looked for.
  if (error.starts_with("no CUDA driver: "))
    EXPECT_NE(error.find("libcuda"), std::string::npos) << error;
  else
    EXPECT_TRUE(error.starts_with("no usable GPU: ")) << error;
}

TEST(GpuWorkerSystem, HiddenDevicesAreNoUsableGpu) {
  ProcessResult probe = talk("{\"op\":\"hello\",\"id\":1}\n");
  std::vector<json> lines = replies(probe);
  if (lines.empty() || lines[0]["ok"] != true)
    GTEST_SKIP() << "no GPU here; the refusal is checked by HelloNamesTheDeviceOrWhatIsMissing";
  ProcessResult hidden = talk("{\"op\":\"hello\",\"id\":1}\n", {{"CUDA_VISIBLE_DEVICES", ""}});
  lines = replies(hidden);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(hidden.exit_code, 1);
  EXPECT_TRUE(lines[0]["error"].get<std::string>().starts_with("no usable GPU: "));
}

TEST(GpuWorkerSystem, RequestsBeforeHelloAreBadRequestsAndExitEndsQuietly) {
  ProcessResult result =
      talk("{\"op\":\"run\",\"id\":5}\nnot json\n{\"op\":\"exit\"}\n{\"op\":\"hello\",\"id\":6}\n");
  ASSERT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code, 0);
  std::vector<json> lines = replies(result);
  ASSERT_EQ(lines.size(), 2u) << result.standard_output;
  EXPECT_EQ(lines[0]["id"], 5);
  EXPECT_EQ(lines[0]["ok"], false);
  EXPECT_EQ(lines[0]["failure"]["kind"], "bad_request");
  EXPECT_EQ(lines[1]["failure"]["kind"], "bad_request");
}

}  // namespace
}  // namespace kforge

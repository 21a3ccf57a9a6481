// `kforge worker compile` driven directly over its pipe: the protocol the compile pool relies
// on, with real NVRTC behind it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/util/files.hpp"
#include "harness/util/strings.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

std::vector<nlohmann::json> replies_of(const ProcessResult& result) {
  std::vector<nlohmann::json> replies;
  for (const std::string& line : strings::split(result.standard_output, '\n')) {
    if (!line.empty())
      replies.push_back(nlohmann::json::parse(line));
  }
  return replies;
}

std::string request(int id, const std::string& source, const std::filesystem::path& output,
                    nlohmann::json extra = nlohmann::json::object()) {
  nlohmann::json message = {
      {"id", id}, {"source", source}, {"arch", "sm_90"}, {"output_dir", output.string()}};
  message.update(extra);
  return message.dump() + "\n";
}

bool worker_has_nvrtc(const nlohmann::json& hello) {
  return !hello.contains("error");
}

TEST(CompileWorker, BadRequestsGetErrorRepliesAndTheWorkerGoesOn) {
  testing::TemporaryDirectory dir;
  ProcessSpec spec;
  spec.program = testing::kforge_binary();
  spec.arguments = {"worker", "compile"};
  spec.working_directory = dir.path();
  spec.time_limit = std::chrono::seconds(60);
  spec.standard_input = "not json\n[1, 2]\n{\"id\": 4}\n" +
                        request(5, "int x;", "relative/folder") +
                        request(6, "", dir / "out", {{"arch", "compute_90 -I/"}}) +
                        request(7, "", dir / "out", {{"options", {"-I/etc"}}});
  ProcessResult result = run_process(spec);
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  auto replies = replies_of(result);
  ASSERT_EQ(replies.size(), 7u) << result.standard_output;
  if (!worker_has_nvrtc(replies[0]))
    GTEST_SKIP() << "NVRTC is not installed: " << replies[0]["error"];
  for (size_t i = 1; i < replies.size(); ++i) {
    EXPECT_TRUE(replies[i].contains("error")) << replies[i];
    EXPECT_FALSE(replies[i].contains("status")) << replies[i];
  }
  EXPECT_EQ(replies[3]["id"], 4);
  EXPECT_NE(replies[4]["error"].get<std::string>().find("absolute"), std::string::npos);
  EXPECT_NE(replies[5]["error"].get<std::string>().find("sm_XX"), std::string::npos);
  EXPECT_NE(replies[6]["error"].get<std::string>().find("-I/etc"), std::string::npos);
}

TEST(CompileWorker, HostileAndGoodCompilesOverThePipe) {
  testing::TemporaryDirectory dir;
  ProcessSpec spec;
  spec.program = testing::kforge_binary();
  spec.arguments = {"worker", "compile"};
  spec.working_directory = dir.path();
  spec.time_limit = std::chrono::seconds(60);
  // The shipped worker obeys no test hooks: request 4's "fault" field is ignored.
  std::string good =
      "extern \"C\" __global__ void twice(float* x) {\n"
      "  __shared__ float s[N];\n  s[threadIdx.x] = x[threadIdx.x];\n  __syncthreads();\n"
      "  x[threadIdx.x] = 2 * s[N - 1 - threadIdx.x];\n}\n";
  spec.standard_input =
      request(1, "#include \"../../etc/passwd\"\n", dir / "a") +
      request(2, "#if __has_include(\"/etc/shadow\")\n#endif\n", dir / "b") +
      request(3, "extern \"C\" __global__ void k() { undeclared(); }\n", dir / "c") +
      request(4, good, dir / "d", {{"defines", {{"N", "64"}}}, {"fault", "crash"}});
  ProcessResult result = run_process(spec);
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  auto replies = replies_of(result);
  ASSERT_EQ(replies.size(), 5u) << result.standard_output;
  const nlohmann::json& hello = replies[0];
  if (!worker_has_nvrtc(hello))
    GTEST_SKIP() << "NVRTC is not installed: " << hello["error"];
  EXPECT_EQ(hello["hello"], "kforge-compile-worker");
  EXPECT_EQ(hello["protocol"], 1);
  EXPECT_FALSE(hello["nvrtc_version"].get<std::string>().empty());

  EXPECT_EQ(replies[1]["id"], 1);
  EXPECT_EQ(replies[1]["status"], "forbidden_include");
  EXPECT_EQ(replies[2]["status"], "forbidden_include");
  EXPECT_NE(replies[2]["detail"].get<std::string>().find("__has_include"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "a"));

  EXPECT_EQ(replies[3]["status"], "nvrtc_error");
  EXPECT_NE(replies[3]["log"].get<std::string>().find("undeclared"), std::string::npos);

  const nlohmann::json& ok = replies[4];
  ASSERT_EQ(ok["status"], "ok") << ok;
  EXPECT_EQ(ok["id"], 4);
  EXPECT_EQ(ok["cubin"], (dir / "d" / "candidate.cubin").string());
  EXPECT_EQ(files::read(ok["cubin"].get<std::string>()).substr(0, 4),
            "\x7f"
            "ELF");
  EXPECT_NE(files::read(ok["ptx"].get<std::string>()).find(".entry twice"), std::string::npos);
  ASSERT_EQ(ok["kernels"].size(), 1u);
  EXPECT_EQ(ok["kernels"][0]["name"], "twice");
  EXPECT_EQ(ok["kernels"][0]["shared_bytes"], 64 * 4);
  EXPECT_GT(ok["compile_ms"].get<double>(), 0.0);
  // The pipe carries the reply only: the CUBIN bytes are in the file.
  EXPECT_LT(result.standard_output.size(), 8000u);
}

TEST(CompileWorker, IsHiddenFromHelp) {
  testing::TemporaryDirectory dir;
  ProcessResult result = testing::run_kforge({"--help"}, dir.path());
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.standard_output.find("worker"), std::string::npos) << result.standard_output;
}

}  // namespace
}  // namespace kforge

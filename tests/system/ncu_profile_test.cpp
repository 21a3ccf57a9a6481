// `--profiler ncu` through the real binary on a real store: Nsight Compute's CLI is
// tests/support/ncu_stand_in.py, put on PATH as `ncu` (it runs its target as ncu does and writes
// ncu's raw-page CSV), the GPU tests/support/emulated_gpu_worker.py. The profile `kforge eval`
// stores and prints through ncu is CUPTI's for the same counters, its source recorded; where ncu
// is missing the evaluation completes and the profile says why; a profiler kforge does not know
// is a one-line error. Nothing here ran a real ncu.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "harness/evaluation/profile_report.hpp"
#include "harness/util/subprocess.hpp"
#include "tests/support/emulated_gpu_environment.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

using nlohmann::json;

class NcuProfiler : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    workspace_ = new testing::TemporaryDirectory();
    const std::filesystem::path& root = workspace_->path();
    std::filesystem::create_directories(root / "problems");
    std::filesystem::create_directories(root / "bin");
    testing::write_text(root / "problems/tiny_relu.py", testing::kTinyReluTask);
    testing::write_text(root / "kforge.toml",
                        "python = \"/usr/bin/python3\"\n"
                        "[verify]\nseeds = 2\n"
                        "[timing]\ninput_sets = 2\nwarmup = 1\nmin_samples = 4\n"
                        "max_samples = 4\n[gpu]\nrun_limit_s = 20\n");
    // Installed: `ncu` on PATH.
    std::filesystem::create_symlink(testing::source_dir() / "tests/support/ncu_stand_in.py",
                                    root / "bin/ncu");
    ProcessResult imported =
        testing::run_kforge({"tasks", "import", "problems", "--suite", "tiny"}, root);
    ASSERT_EQ(imported.exit_code, 0) << imported.standard_error;
    testing::write_text(root / "relu.cu", testing::emulated_candidate("relu"));
  }
  static void TearDownTestSuite() { delete workspace_; }

  // kforge with the emulated GPU; with ncu installed (on PATH) or not.
  static ProcessResult kforge(const std::vector<std::string>& arguments, bool ncu_installed) {
    std::map<std::string, std::string> environment = testing::emulated_gpu_environment();
    const char* path = std::getenv("PATH");
    std::string system_path = path ? path : "/usr/bin:/bin";
    environment["PATH"] =
        ncu_installed ? (workspace_->path() / "bin").string() + ":" + system_path : system_path;
    return testing::run_kforge(arguments, workspace_->path(), environment, 300);
  }

  static json json_of(const std::vector<std::string>& arguments, bool ncu_installed = true) {
    ProcessResult result = kforge(arguments, ncu_installed);
    EXPECT_EQ(result.exit_code, 0) << result.standard_error;
    return json::parse(result.standard_output);
  }

  static testing::TemporaryDirectory* workspace_;
};

testing::TemporaryDirectory* NcuProfiler::workspace_ = nullptr;

TEST_F(NcuProfiler, EvalThroughNcuStoresAndPrintsTheProfileCuptiGivesWithItsSource) {
  json cupti = json_of({"eval", "relu.cu", "--task", "tiny/tiny_relu", "--json"});
  json ncu =
      json_of({"eval", "relu.cu", "--task", "tiny/tiny_relu", "--profiler", "ncu", "--json"});
  EXPECT_EQ(ncu["verdict"], "correct");
  ASSERT_TRUE(ncu["profile"].is_object()) << ncu.dump();
  ProfileReport through_ncu = ProfileReport::from_json(ncu["profile"], "eval --profiler ncu");
  ProfileReport through_cupti = ProfileReport::from_json(cupti["profile"], "eval");
  ASSERT_TRUE(through_ncu.collected()) << ncu["profile"].dump();
  EXPECT_EQ(through_ncu.counters.profiler, "ncu");
  EXPECT_EQ(through_cupti.counters.profiler, "cupti");
  EXPECT_EQ(through_ncu.counters.chip, through_cupti.counters.chip);
  EXPECT_EQ(through_ncu.arch, through_cupti.arch);
  ASSERT_EQ(through_ncu.counters.kernels.size(), through_cupti.counters.kernels.size());
  for (size_t k = 0; k < through_ncu.counters.kernels.size(); ++k) {
    const KernelCounters& a = through_ncu.counters.kernels[k];
    const KernelCounters& b = through_cupti.counters.kernels[k];
    EXPECT_EQ(a.kernel, b.kernel);
    ASSERT_EQ(a.metrics.size(), b.metrics.size());
    for (const auto& [name, value] : b.metrics)
      EXPECT_NEAR(a.metrics.at(name), value, 1e-9 * std::max(1.0, std::abs(value))) << name;
  }
  // The same ceilings and diagnosis: the roofline and the findings, kind by kind.
  EXPECT_EQ(ncu["profile"]["ceilings"], cupti["profile"]["ceilings"]);
  ASSERT_EQ(through_ncu.diagnoses.size(), through_cupti.diagnoses.size());
  for (size_t k = 0; k < through_ncu.diagnoses.size(); ++k) {
    json a = through_ncu.diagnoses[k].to_json(), b = through_cupti.diagnoses[k].to_json();
    EXPECT_EQ(a["roofline"]["bound"], b["roofline"]["bound"]);
    ASSERT_EQ(a["findings"].size(), b["findings"].size());
    for (size_t f = 0; f < a["findings"].size(); ++f)
      EXPECT_EQ(a["findings"][f]["kind"], b["findings"][f]["kind"]);
  }

  // Printed and stored: `eval` and `show` say where the counters came from.
  ProcessResult text =
      kforge({"eval", "relu.cu", "--task", "tiny/tiny_relu", "--profiler", "ncu"}, true);
  ASSERT_EQ(text.exit_code, 0) << text.standard_error;
  EXPECT_NE(text.standard_output.find("profile: ncu on GH100, 12 passes"), std::string::npos)
      << text.standard_output;
  EXPECT_NE(text.standard_output.find("latency_bound_small_grid"), std::string::npos);
  json shown = json_of({"show", std::to_string(ncu["candidate_id"].get<int64_t>()), "--json"});
  EXPECT_EQ(shown["evaluations"][0]["profile"]["profiler"], "ncu");

  // The configuration key does what the flag does.
  ProcessResult profiled =
      kforge({"profile", "relu.cu", "--task", "tiny/tiny_relu", "--profiler", "ncu"}, true);
  ASSERT_EQ(profiled.exit_code, 0) << profiled.standard_error;
  EXPECT_NE(profiled.standard_output.find("where the time goes"), std::string::npos)
      << profiled.standard_output;
  EXPECT_NE(profiled.standard_output.find("profile: ncu on GH100"), std::string::npos);
}

TEST_F(NcuProfiler, WithoutNcuTheEvaluationCompletesAndTheProfileSaysWhy) {
  ProcessResult text =
      kforge({"eval", "relu.cu", "--task", "tiny/tiny_relu", "--profiler", "ncu"}, false);
  ASSERT_EQ(text.exit_code, 0) << text.standard_error;
  EXPECT_NE(text.standard_output.find("verdict: correct"), std::string::npos)
      << text.standard_output;
  EXPECT_NE(text.standard_output.find(
                "profile: unavailable: ncu_missing (Nsight Compute's CLI 'ncu' is not on PATH"),
            std::string::npos)
      << text.standard_output;
  json report = json_of(
      {"eval", "relu.cu", "--task", "tiny/tiny_relu", "--profiler", "ncu", "--json"}, false);
  EXPECT_EQ(report["verdict"], "correct");
  EXPECT_TRUE(report["device_time_us"].is_number()) << report.dump();
  EXPECT_EQ(report["profile"]["status"], "unavailable");
  EXPECT_EQ(report["profile"]["reason"], "ncu_missing");
  EXPECT_EQ(report["profile"]["profiler"], "ncu");
}

TEST_F(NcuProfiler, AnUnknownProfilerIsAOneLineError) {
  for (std::vector<std::string> command :
       {std::vector<std::string>{"eval", "relu.cu", "--task", "tiny/tiny_relu"},
        std::vector<std::string>{"profile", "relu.cu", "--task", "tiny/tiny_relu"},
        std::vector<std::string>{"optimize", "tiny/tiny_relu", "--agent", "replay", "--from",
                                 "relu.cu"}}) {
    command.insert(command.end(), {"--profiler", "bogus"});
    ProcessResult result = kforge(command, true);
    EXPECT_NE(result.exit_code, 0) << command[0];
    EXPECT_EQ(result.standard_error.rfind("kforge: error: ", 0), 0u) << result.standard_error;
    EXPECT_NE(result.standard_error.find("'bogus'"), std::string::npos) << result.standard_error;
    EXPECT_NE(result.standard_error.find("(--profiler)"), std::string::npos)
        << result.standard_error;
    EXPECT_EQ(std::count(result.standard_error.begin(), result.standard_error.end(), '\n'), 1)
        << result.standard_error;
  }
  // In kforge.toml the table checks the value where the file is read.
  ProcessResult help = kforge({"config", "keys"}, true);
  EXPECT_NE(help.standard_output.find("profile.profiler"), std::string::npos)
      << help.standard_output << help.standard_error;
}

// The one-shot worker ncu starts: `kforge worker gpu --requests FILE` reads its requests from
// the file and answers on stdout (here, without a GPU, its hello says why there is none).
TEST_F(NcuProfiler, TheWorkerReadsItsRequestsFromAFile) {
  testing::write_text(workspace_->path() / "requests.jsonl",
                      "{\"op\":\"hello\",\"id\":1}\n{\"op\":\"exit\"}\n");
  ProcessResult worker = testing::run_kforge(
      {"worker", "gpu", "--device", "0", "--requests", "requests.jsonl"}, workspace_->path());
  json hello = json::parse(worker.standard_output);
  EXPECT_EQ(hello["id"], 1);
  if (hello["ok"] == true) {
    EXPECT_EQ(worker.exit_code, 0);  // a GPU: hello, then exit
  } else {
    EXPECT_EQ(worker.exit_code, 1);
    EXPECT_NE(hello["error"].get<std::string>().find("no "), std::string::npos) << hello.dump();
  }
  ProcessResult missing = testing::run_kforge(
      {"worker", "gpu", "--requests", "no-such-requests.jsonl"}, workspace_->path());
  EXPECT_EQ(missing.exit_code, 2) << missing.standard_error;
}

}  // namespace
}  // namespace kforge

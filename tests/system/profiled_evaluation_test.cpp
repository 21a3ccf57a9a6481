// Stored profiles where people and agents see them, through the real binary on a real store, the
// GPU emulated by tests/support/emulated_gpu_worker.py (its `profile` answers plausible counters
// for an honest kernel, `unavailable` for relu_counters_denied) and the LLM by
// tests/support/fake_llm_server.py on loopback: the refine prompt after a profiled candidate,
// `kforge eval` and `kforge show`, text and --json.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/evaluation/profile_report.hpp"
#include "harness/util/subprocess.hpp"
#include "tests/support/emulated_gpu_environment.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/fake_llm_server.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

using nlohmann::json;
using testing::emulated_candidate;

constexpr const char* kKey = "sk-test-profiles-0000";

class ProfiledEvaluation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    workspace_ = new testing::TemporaryDirectory();
    std::filesystem::create_directories(workspace_->path() / "problems");
    testing::write_text(workspace_->path() / "problems/tiny_relu.py", testing::kTinyReluTask);
    testing::write_text(workspace_->path() / "kforge.toml",
                        "python = \"/usr/bin/python3\"\n"
                        "[llm]\nretries = 0\n"
                        "[verify]\nseeds = 2\n"
                        "[timing]\ninput_sets = 2\nwarmup = 1\nmin_samples = 4\n"
                        "max_samples = 4\n[gpu]\nrun_limit_s = 20\n");
    ProcessResult imported =
        testing::run_kforge({"tasks", "import", "problems", "--suite", "tiny"}, workspace_->path());
    ASSERT_EQ(imported.exit_code, 0) << imported.standard_error;
    for (const char* kernel : {"relu", "relu_counters_denied", "unwritten"})
      testing::write_text(workspace_->path() / (std::string(kernel) + ".cu"),
                          emulated_candidate(kernel));
  }
  static void TearDownTestSuite() { delete workspace_; }

  static ProcessResult kforge(const std::vector<std::string>& arguments, bool gpu = true) {
    std::map<std::string, std::string> environment =
        gpu ? testing::emulated_gpu_environment() : std::map<std::string, std::string>{};
    environment["KFORGE_TEST_KEY"] = kKey;
    return testing::run_kforge(arguments, workspace_->path(), environment, 300);
  }

  // Runs the refine strategy for two turns against a fake LLM whose every answer is the
  // emulated `kernel`, and returns the requests the server received.
  static json refine_requests(const std::string& kernel) {
    testing::FakeLlmServer server(
        {"--key", kKey, "--vary", "--candidate", (workspace_->path() / (kernel + ".cu")).string()});
    ProcessResult run =
        kforge({"optimize", "tiny/tiny_relu", "--agent", "llm", "--base-url", server.base_url(),
                "--model", "ok/" + kernel, "--api-key-env", "KFORGE_TEST_KEY", "--strategy",
                "refine", "--samples", "1", "--iterations", "2", "--json"});
    EXPECT_EQ(run.exit_code, 0) << run.standard_error << run.standard_output;
    return server.requests();
  }

  // The last user turn of a chat request.
  static std::string last_user_turn(const json& request) {
    const json& messages = request["body"]["messages"];
    for (auto message = messages.rbegin(); message != messages.rend(); ++message) {
      if ((*message)["role"] == "user")
        return (*message)["content"].get<std::string>();
    }
    return "";
  }

  static json json_of(const std::vector<std::string>& arguments) {
    ProcessResult result = kforge(arguments);
    EXPECT_EQ(result.exit_code, 0) << result.standard_error;
    return json::parse(result.standard_output);
  }

  static testing::TemporaryDirectory* workspace_;
};

testing::TemporaryDirectory* ProfiledEvaluation::workspace_ = nullptr;

TEST_F(ProfiledEvaluation, TheRefinePromptAfterAProfiledCandidateShowsItsRooflineAndFindings) {
  json requests = refine_requests("relu");
  ASSERT_EQ(requests.size(), 2u) << requests.dump(1);
  // The first turn has nothing to show yet; the second shows the first candidate's result with
  // its profile: a roofline line and the top findings, with their numbers.
  EXPECT_EQ(last_user_turn(requests[0]).find("Profile of this candidate"), std::string::npos);
  std::string feedback = last_user_turn(requests[1]);
  EXPECT_NE(feedback.find("Result of your last candidate: correct"), std::string::npos) << feedback;
  EXPECT_NE(feedback.find("Profile of this candidate"), std::string::npos) << feedback;
  EXPECT_NE(feedback.find("- relu: "), std::string::npos) << feedback;
  EXPECT_NE(feedback.find("of the bandwidth roof"), std::string::npos) << feedback;
  EXPECT_NE(feedback.find("Top findings"), std::string::npos) << feedback;
  // 50 blocks of 128 threads on an sm_90's 132 SMs: far under one wave.
  EXPECT_NE(feedback.find("latency_bound_small_grid"), std::string::npos) << feedback;
  EXPECT_NE(feedback.find("0.02 waves"), std::string::npos) << feedback;
}

TEST_F(ProfiledEvaluation, AnUnavailableProfileAddsNothingToThePrompt) {
  json requests = refine_requests("relu_counters_denied");
  ASSERT_EQ(requests.size(), 2u) << requests.dump(1);
  std::string feedback = last_user_turn(requests[1]);
  EXPECT_NE(feedback.find("Result of your last candidate: correct"), std::string::npos) << feedback;
  for (const char* claim : {"Profile", "roofline", "findings", "-bound", "insufficient"})
    EXPECT_EQ(feedback.find(claim), std::string::npos) << claim << " in:\n" << feedback;
}

TEST_F(ProfiledEvaluation, EvalAndShowPrintTheProfileAndItsJsonIsTheTypedReport) {
  ProcessResult eval = kforge({"eval", "relu.cu", "--task", "tiny/tiny_relu"});
  ASSERT_EQ(eval.exit_code, 0) << eval.standard_error;
  const std::string& text = eval.standard_output;
  EXPECT_NE(text.find("verdict: correct"), std::string::npos) << text;
  EXPECT_NE(text.find("profile: cupti on GH100, 12 passes"), std::string::npos) << text;
  EXPECT_NE(text.find("ceilings (sm_90): "), std::string::npos) << text;
  EXPECT_NE(text.find("dram %"), std::string::npos) << text;  // the counters table
  EXPECT_NE(text.find("roofline: "), std::string::npos) << text;
  EXPECT_NE(text.find("latency_bound_small_grid"), std::string::npos) << text;

  json report = json_of({"eval", "relu.cu", "--task", "tiny/tiny_relu", "--json"});
  ASSERT_TRUE(report["profile"].is_object()) << report.dump();
  ProfileReport profile = ProfileReport::from_json(report["profile"], "eval --json");
  EXPECT_TRUE(profile.collected());
  ASSERT_EQ(profile.diagnoses.size(), 1u);
  EXPECT_EQ(profile.diagnoses[0].kernel, "relu");
  EXPECT_FALSE(profile.diagnoses[0].findings.empty());

  // `show` prints the same profile from the store.
  std::string id = std::to_string(report["candidate_id"].get<int64_t>());
  ProcessResult show = kforge({"show", id});
  ASSERT_EQ(show.exit_code, 0) << show.standard_error;
  EXPECT_NE(show.standard_output.find("profile: cupti on GH100, 12 passes"), std::string::npos)
      << show.standard_output;
  EXPECT_NE(show.standard_output.find("latency_bound_small_grid"), std::string::npos);
  json shown = json_of({"show", id, "--json"});
  ASSERT_EQ(shown["evaluations"].size(), 1u);
  EXPECT_EQ(shown["evaluations"][0]["profile"], report["profile"]);

  // Counters unavailable: the reason, and nothing more; not profiled (incorrect): nothing.
  ProcessResult denied = kforge({"eval", "relu_counters_denied.cu", "--task", "tiny/tiny_relu"});
  ASSERT_EQ(denied.exit_code, 0) << denied.standard_error;
  EXPECT_NE(denied.standard_output.find("profile: unavailable: insufficient_privileges ("),
            std::string::npos)
      << denied.standard_output;
  EXPECT_EQ(denied.standard_output.find("roofline"), std::string::npos);
  json denied_json =
      json_of({"eval", "relu_counters_denied.cu", "--task", "tiny/tiny_relu", "--json"});
  EXPECT_EQ(denied_json["profile"]["status"], "unavailable");
  EXPECT_EQ(denied_json["profile"]["reason"], "insufficient_privileges");
  json unwritten = json_of({"eval", "unwritten.cu", "--task", "tiny/tiny_relu", "--json"});
  EXPECT_EQ(unwritten["verdict"], "incorrect");
  EXPECT_TRUE(unwritten["profile"].is_null());
  json unwritten_shown =
      json_of({"show", std::to_string(unwritten["candidate_id"].get<int64_t>()), "--json"});
  EXPECT_TRUE(unwritten_shown["evaluations"][0]["profile"].is_null());
}

TEST_F(ProfiledEvaluation, ProfileFileEvaluatesAndShowsWhereTheTimeGoes) {
  ProcessResult profiled = kforge({"profile", "relu.cu", "--task", "tiny/tiny_relu"});
  ASSERT_EQ(profiled.exit_code, 0) << profiled.standard_error;
  const std::string& text = profiled.standard_output;
  EXPECT_NE(text.find("verdict: correct"), std::string::npos) << text;
  EXPECT_NE(text.find("where the time goes"), std::string::npos) << text;
  EXPECT_NE(text.find("100%"), std::string::npos) << text;  // one launch: all of the time
  EXPECT_NE(text.find("roofline: "), std::string::npos) << text;
  EXPECT_NE(text.find("stored: candidate "), std::string::npos) << text;

  json report = json_of({"profile", "relu.cu", "--task", "tiny/tiny_relu", "--json"});
  ASSERT_EQ(report["time_by_launch"].size(), 1u) << report.dump();
  EXPECT_EQ(report["time_by_launch"][0]["kernel"], "relu");
  EXPECT_DOUBLE_EQ(report["time_by_launch"][0]["share"].get<double>(), 1.0);
  EXPECT_GT(report["time_by_launch"][0]["time_ns"].get<double>(), 0);
  EXPECT_TRUE(report["not_profiled"].is_null());
  EXPECT_EQ(report["profile"]["status"], "collected");

  json denied =
      json_of({"profile", "relu_counters_denied.cu", "--task", "tiny/tiny_relu", "--json"});
  EXPECT_EQ(denied["not_profiled"], "unavailable: insufficient_privileges");
  EXPECT_TRUE(denied["time_by_launch"].empty());

  // No GPU worker (this machine has no GPU): compiled, and the command says why no profile.
  ProcessResult no_gpu = kforge({"profile", "relu.cu", "--task", "tiny/tiny_relu"}, false);
  ASSERT_EQ(no_gpu.exit_code, 0) << no_gpu.standard_error;
  EXPECT_NE(no_gpu.standard_output.find("verdict: compiled"), std::string::npos)
      << no_gpu.standard_output;
  EXPECT_NE(no_gpu.standard_output.find("profile: none: no GPU ran the candidate"),
            std::string::npos)
      << no_gpu.standard_output;

  // The group's subcommands still work beside its own FILE; a missing FILE or --task is a
  // usage error in one line.
  ProcessResult metrics = kforge({"profile", "metrics", "--arch", "sm_90", "--json"});
  EXPECT_EQ(metrics.exit_code, 0) << metrics.standard_error;
  EXPECT_TRUE(json::parse(metrics.standard_output).contains("metrics"));
  ProcessResult no_task = kforge({"profile", "relu.cu"});
  EXPECT_EQ(no_task.exit_code, 2) << no_task.standard_error;
  EXPECT_NE(no_task.standard_error.find("--task"), std::string::npos) << no_task.standard_error;
  ProcessResult nothing = kforge({"profile"});
  EXPECT_EQ(nothing.exit_code, 2) << nothing.standard_error;
  EXPECT_NE(nothing.standard_error.find("FILE"), std::string::npos) << nothing.standard_error;
  ProcessResult missing = kforge({"profile", "no_such.cu", "--task", "tiny/tiny_relu"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.standard_error.rfind("kforge: error: ", 0), 0u) << missing.standard_error;
}

}  // namespace
}  // namespace kforge

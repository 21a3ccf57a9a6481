#include "agents/prompt.hpp"

#include <gtest/gtest.h>

#include "harness/util/error.hpp"
#include "profiler/counter_file.hpp"
#include "profiler/datasheet_peaks.hpp"
#include "profiler/diagnosis.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::agents {
namespace {

TaskView relu_task() {
  return {"level1/19_ReLU",
          "import torch\nclass Model(torch.nn.Module):\n    def forward(self, x):\n        "
          "return torch.relu(x)\n",
          {{"inputs", {{{"name", "x"}, {"shape", {16, 16384}}, {"dtype", "float32"}}}},
           {"outputs", {{{"name", "out"}}}}}};
}

GpuTarget h100() {
  return {"NVIDIA H100 80GB HBM3", "sm_90", 132, 3350, 232448};
}

TEST(AgentsPrompt, FirstPromptHasTaskSignatureGpuAndContract) {
  PromptBuilder builder(PromptLibrary::load(), relu_task(), h100());
  Conversation conversation = builder.first();
  EXPECT_NE(conversation.system.find("sm_90"), std::string::npos);
  EXPECT_NE(conversation.system.find("/* kforge:launch"), std::string::npos);
  EXPECT_NE(conversation.system.find("extern \"C\" __global__ void scale_rows"), std::string::npos);
  ASSERT_EQ(conversation.messages.size(), 1u);
  const std::string& user = conversation.messages[0].content;
  EXPECT_EQ(conversation.messages[0].role, "user");
  for (const char* expected :
       {"level1/19_ReLU", "return torch.relu(x)", "\"float32\"", "NVIDIA H100 80GB HBM3",
        "streaming multiprocessors: 132", "3350 GB/s", "232448 bytes"})
    EXPECT_NE(user.find(expected), std::string::npos) << expected;
  EXPECT_EQ(user.find("Earlier attempts"), std::string::npos);
  EXPECT_EQ(user.find("{{"), std::string::npos);
}

TEST(AgentsPrompt, TheEngineersStartingPointOpensTheConversationAsARefineStep) {
  PromptBuilder plain(PromptLibrary::load(), relu_task(), h100());
  Feedback result;
  result.ask_id = "start";
  result.verdict = Verdict::kCompileError;
  result.evidence = {{"log", "mine.cu(12): error: identifier \"y\" is undefined"}};
  PromptBuilder started = plain.with_start({.file_name = "mine.cu",
                                            .source = "__global__ void mine() {} // marker",
                                            .feedback = result,
                                            .hint = "Fix the error, then vectorise."});
  Conversation conversation = started.first();
  ASSERT_EQ(conversation.messages.size(), 3u);
  EXPECT_EQ(conversation.messages[0].content, plain.first().messages[0].content);
  EXPECT_EQ(conversation.messages[1].role, "assistant");
  EXPECT_NE(conversation.messages[1].content.find("mine.cu"), std::string::npos);
  EXPECT_NE(conversation.messages[1].content.find("// marker"), std::string::npos);
  const std::string& turn = conversation.messages[2].content;
  EXPECT_EQ(conversation.messages[2].role, "user");
  EXPECT_NE(turn.find("compile_error"), std::string::npos) << turn;
  EXPECT_NE(turn.find("identifier \\\"y\\\" is undefined"), std::string::npos) << turn;
  EXPECT_NE(turn.find("Instruction from the engineer"), std::string::npos) << turn;
  EXPECT_NE(turn.find("Fix the error, then vectorise."), std::string::npos) << turn;
  EXPECT_EQ(turn.find("{{"), std::string::npos);

  // An instruction alone ends the first turn.
  Conversation hinted = plain.with_start({.hint = "Use shared memory."}).first();
  ASSERT_EQ(hinted.messages.size(), 1u);
  EXPECT_NE(hinted.messages[0].content.find("Use shared memory."), std::string::npos);
  // The builder it came from is unchanged.
  EXPECT_EQ(plain.first().messages.size(), 1u);
}

TEST(AgentsPrompt, HistoryAndFeedbackShowVerdictsWithTrimmedEvidence) {
  PromptBuilder builder(PromptLibrary::load(), relu_task(), h100());
  std::string log(10000, 'x');
  log += "\nerror: identifier \"blockDimx\" is undefined\n";
  Feedback failed;
  failed.verdict = Verdict::kCompileError;
  failed.evidence = {{"compile_log", log}};
  Feedback fast;
  fast.verdict = Verdict::kCorrect;
  fast.speedup = 2.5;
  fast.evidence = {{"median_us", 12.5}};
  HistoryEntry entries[] = {{"i0.s0", "__global__ void a() {}", failed},
                            {"i0.s1", "__global__ void b() {}", fast}};
  std::string user = builder.first(entries).messages[0].content;
  EXPECT_NE(user.find("Earlier attempts"), std::string::npos);
  EXPECT_NE(user.find("Attempt i0.s0: compile_error"), std::string::npos);
  EXPECT_NE(user.find("Attempt i0.s1: correct, speedup 2.5x"), std::string::npos);
  EXPECT_NE(user.find("blockDimx"), std::string::npos);
  EXPECT_LT(user.size(), 8000u);  // the 10 kB log was cut to its tail

  std::string turn = builder.feedback(failed);
  EXPECT_NE(turn.find("compile_error"), std::string::npos);
  EXPECT_NE(turn.find("blockDimx"), std::string::npos);
  EXPECT_NE(turn.find("Find the cause"), std::string::npos);
  EXPECT_NE(builder.feedback(fast).find("Make it faster"), std::string::npos);
}

TEST(AgentsPrompt, AProfiledCandidatesTurnShowsItsRooflineAndTopFindings) {
  PromptBuilder builder(PromptLibrary::load(), relu_task(), h100());
  Feedback fast;
  fast.verdict = Verdict::kCorrect;
  fast.speedup = 1.4;
  fast.evidence = {{"median_us", 1460.0}};
  std::string unprofiled = builder.feedback(fast);
  EXPECT_EQ(unprofiled.find("Profile of this candidate"), std::string::npos);

  // The profile as the loop will make it: the diagnosis of recorded counters, rendered short.
  const DatasheetPeaks& peaks = find_datasheet_peaks("sm_90");
  Ceilings ceilings{peaks.bandwidth_bytes_per_s, peaks.fp32_flops_per_s, peaks.sm_count, "test"};
  std::vector<CounterSet> counters =
      read_counter_file(testing::source_dir() / "tests/unit/data/diagnosis/transpose_strided.json");
  std::vector<Diagnosis> diagnoses = {diagnose(counters.at(0), ceilings)};
  fast.profile = render_for_prompt(diagnoses);
  std::string profiled = builder.feedback(fast);
  EXPECT_NE(profiled.find("Profile of this candidate"), std::string::npos) << profiled;
  EXPECT_NE(profiled.find("- transpose_naive: memory-bound; runs 1.46 ms"), std::string::npos)
      << profiled;
  EXPECT_NE(profiled.find("1. uncoalesced_global_access: Global stores touch 32.0 sectors"),
            std::string::npos)
      << profiled;
  EXPECT_NE(profiled.find("2. dominant_stall: 80% of warp stall cycles are lg_throttle"),
            std::string::npos)
      << profiled;
  EXPECT_NE(profiled.find("3. excess_l2_dram_traffic: DRAM traffic is 1.8x"), std::string::npos)
      << profiled;
  // Everything else of the turn is as it was.
  EXPECT_NE(profiled.find("Make it faster"), std::string::npos);
  EXPECT_EQ(profiled.find("{{"), std::string::npos);

  // The first prompt's history shows an earlier attempt's profile too.
  HistoryEntry entries[] = {{"i0.s0", "__global__ void t() {}", fast}};
  EXPECT_NE(builder.first(entries).messages[0].content.find("1. uncoalesced_global_access"),
            std::string::npos);
}

TEST(AgentsPrompt, AUserFolderOverridesTemplatesAndItsMistakesAreNamed) {
  testing::TemporaryDirectory dir;
  testing::write_text(dir / "task.md", "Make {{ task_name }} fast.{{history}}");
  PromptLibrary library = PromptLibrary::load(dir.path());
  EXPECT_EQ(library.origin("task"), (dir / "task.md").string());
  EXPECT_EQ(library.origin("system"), "built-in");
  PromptBuilder builder(library, relu_task(), h100());
  EXPECT_EQ(builder.first().messages[0].content, "Make level1/19_ReLU fast.");

  testing::write_text(dir / "feedback.md", "line one\nverdict {{verdict}} {{nope}}\n");
  try {
    PromptBuilder(PromptLibrary::load(dir.path()), relu_task(), h100()).feedback(Feedback{});
    FAIL();
  } catch (const Error& failure) {
    std::string text = failure.what();
    EXPECT_NE(text.find("'nope'"), std::string::npos) << text;
    EXPECT_NE(text.find("feedback.md:2"), std::string::npos) << text;
  }

  testing::write_text(dir / "fedback.md", "typo");
  try {
    PromptLibrary::load(dir.path());
    FAIL();
  } catch (const Error& failure) {
    EXPECT_NE(std::string(failure.what()).find("did you mean 'feedback'"), std::string::npos)
        << failure.what();
  }
  EXPECT_THROW(PromptLibrary::load(dir / "missing"), Error);
}

TEST(AgentsPrompt, EvidenceSummaryIsCapped) {
  nlohmann::json evidence = {{"mismatches", nlohmann::json::array()}};
  for (int i = 0; i < 100; ++i)
    evidence["mismatches"].push_back({{"index", i}, {"got", 1.0}, {"expected", 2.0}});
  std::string summary = summarize_evidence(evidence, 600);
  EXPECT_LT(summary.size(), 700u);
  EXPECT_EQ(summarize_evidence(nlohmann::json::object()), "(no further evidence)");
  EXPECT_NE(summarize_evidence(evidence).find("92 more"), std::string::npos);
}

}  // namespace
}  // namespace kforge::agents

// The agent side end to end: a strategy's asks go through a real provider to the fake server on
// 127.0.0.1, answers are parsed, and scripted verdicts stand in for the evaluation.
#include "agents/llm_agent.hpp"

#include <gtest/gtest.h>

#include "tests/support/fake_llm_server.hpp"

namespace kforge::agents {
namespace {

std::shared_ptr<const PromptBuilder> prompts() {
  return std::make_shared<PromptBuilder>(
      PromptLibrary::load(), TaskView{"t", "class Model: pass", nlohmann::json::object()},
      GpuTarget{"GPU", "sm_90", 100, 2000, 49152});
}

ProviderSettings settings(const testing::FakeLlmServer& server, const std::string& model) {
  ProviderSettings settings;
  settings.base_url = server.base_url();
  settings.model = model;
  settings.retries = 0;
  settings.timeout = std::chrono::seconds(20);
  return settings;
}

TEST(AgentsLlmAgent, ProposalsBecomeFeedbackWithOrWithoutACandidate) {
  testing::FakeLlmServer server;
  Ask ask = make_strategy(StrategySettings{}, prompts())->ask(0).at(0);

  Proposal good = propose(*make_provider(settings(server, "ok")), ask);
  ASSERT_TRUE(good.source) << good.no_candidate_reason << good.response.error;
  EXPECT_FALSE(good.feedback_without_candidate());
  Feedback evaluated = good.feedback(Verdict::kCompiled, {{"stage", "compile"}}, std::nullopt);
  EXPECT_EQ(evaluated.ask_id, ask.id);
  EXPECT_EQ(evaluated.source, *good.source);
  EXPECT_EQ(evaluated.output_tokens, good.response.output_tokens);

  Proposal prose = propose(*make_provider(settings(server, "nocode")), ask);
  auto no_candidate = prose.feedback_without_candidate();
  ASSERT_TRUE(no_candidate);
  EXPECT_EQ(no_candidate->outcome, Outcome::kNoCandidate);
  EXPECT_FALSE(no_candidate->verdict);
  EXPECT_NE(no_candidate->evidence["reason"].get<std::string>().find("no code block"),
            std::string::npos);
  EXPECT_FALSE(no_candidate->reply.empty());

  Proposal failed = propose(*make_provider(settings(server, "500")), ask);
  auto llm_error = failed.feedback_without_candidate();
  ASSERT_TRUE(llm_error);
  EXPECT_EQ(llm_error->outcome, Outcome::kLlmError);
  EXPECT_EQ(llm_error->evidence["status"], "server_error");
  EXPECT_TRUE(llm_error->reply.empty());
}

TEST(AgentsLlmAgent, ABeamRunAgainstTheFakeServerEndsWithARecordedOutcomeForEveryAsk) {
  testing::FakeLlmServer server;
  // Every second request fails once; answers alternate with and without code.
  auto provider = make_provider(settings(server, "ok"));
  auto prose_provider = make_provider(settings(server, "nocode"));
  StrategySettings chosen;
  chosen.name = "beam";
  chosen.samples = 3;
  chosen.beam_width = 1;
  chosen.budgets.iterations = 3;
  auto strategy = make_strategy(chosen, prompts());
  int told = 0;
  int requests = 0;
  while (!strategy->finished() && requests < 50) {
    std::vector<Ask> asks = strategy->ask(0);
    ASSERT_FALSE(asks.empty());
    for (const Ask& ask : asks) {
      Provider& chosen_provider = (requests++ % 2 == 0) ? *provider : *prose_provider;
      Proposal proposal = propose(chosen_provider, ask);
      auto feedback = proposal.feedback_without_candidate();
      if (!feedback)
        feedback = proposal.feedback(Verdict::kCorrect, {{"median_us", 10}}, 1.0 + requests * 0.1);
      strategy->tell(*feedback);
      ++told;
    }
  }
  EXPECT_TRUE(strategy->finished());
  EXPECT_EQ(told, 9);
  StrategyProgress progress = strategy->progress();
  EXPECT_EQ(progress.verdicts["correct"] + progress.verdicts["no_candidate"], 9);
  EXPECT_TRUE(progress.best_speedup.has_value());
  EXPECT_GT(progress.input_tokens, 0);
}

}  // namespace
}  // namespace kforge::agents

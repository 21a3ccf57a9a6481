// Every strategy against a recorded history: scripted verdicts stand in for the LLM, the
// compiler and the GPU, so no HTTP and no CUDA are involved.
#include "agents/strategy.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "harness/util/error.hpp"

namespace kforge::agents {
namespace {

std::shared_ptr<const PromptBuilder> prompts() {
  return std::make_shared<PromptBuilder>(
      PromptLibrary::load(), TaskView{"t", "class Model: pass", nlohmann::json::object()},
      GpuTarget{"GPU", "sm_90", 100, 2000, 49152});
}

// A scripted result by its name: a verdict's, or no_candidate / llm_error.
Feedback result(const Ask& ask, const std::string& verdict, std::optional<double> speedup = {},
                int64_t tokens = 100) {
  Feedback feedback;
  feedback.ask_id = ask.id;
  feedback.reply = verdict == "llm_error" ? "" : "reply to " + ask.id;
  feedback.source = "__global__ void " + ask.id;
  if (verdict == "llm_error")
    feedback.outcome = Outcome::kLlmError;
  else if (verdict == "no_candidate")
    feedback.outcome = Outcome::kNoCandidate;
  else
    feedback.verdict = verdict_from_name(verdict).value();
  feedback.speedup = speedup;
  feedback.evidence = {{"note", "evidence of " + ask.id}};
  feedback.input_tokens = tokens;
  feedback.output_tokens = tokens;
  feedback.cost_usd = 0.01;
  return feedback;
}

std::vector<std::string> ids(const std::vector<Ask>& asks) {
  std::vector<std::string> out;
  for (const Ask& ask : asks)
    out.push_back(ask.id);
  return out;
}

StrategySettings settings(const std::string& name, int64_t samples, int64_t iterations) {
  StrategySettings settings;
  settings.name = name;
  settings.samples = samples;
  settings.budgets.iterations = iterations;
  return settings;
}

TEST(AgentsStrategySample, RoundsOfIndependentProposalsWithDistinctSampleIndices) {
  auto strategy = make_strategy(settings("sample", 3, 2), prompts());
  std::vector<Ask> round = strategy->ask(0);
  EXPECT_EQ(ids(round), (std::vector<std::string>{"i0.s0", "i0.s1", "i0.s2"}));
  for (size_t i = 0; i < round.size(); ++i) {
    EXPECT_EQ(round[i].sample_index, static_cast<int64_t>(i));
    EXPECT_EQ(round[i].conversation.messages.size(), 1u);
    EXPECT_EQ(round[i].conversation.messages[0].content, round[0].conversation.messages[0].content);
  }
  EXPECT_TRUE(strategy->ask(0).empty());  // waits for the round
  for (const Ask& ask : round)
    strategy->tell(result(ask, "compile_error"));
  std::vector<Ask> next = strategy->ask(0);
  EXPECT_EQ(ids(next), (std::vector<std::string>{"i1.s0", "i1.s1", "i1.s2"}));
  EXPECT_EQ(next[2].sample_index, 5);
  EXPECT_FALSE(strategy->finished());
  for (const Ask& ask : next)
    strategy->tell(result(ask, "incorrect"));
  EXPECT_TRUE(strategy->ask(0).empty());
  EXPECT_TRUE(strategy->finished());
  EXPECT_EQ(strategy->stop_reason(), "iterations done");
  StrategyProgress progress = strategy->progress();
  EXPECT_EQ(progress.told, 6);
  EXPECT_EQ(progress.verdicts["compile_error"], 3);
  EXPECT_EQ(progress.input_tokens, 600);
}

TEST(AgentsStrategySample, StopsAtTheTargetSpeedupAndOnBudgets) {
  StrategySettings target = settings("sample", 2, 10);
  target.budgets.target_speedup = 2;
  auto strategy = make_strategy(target, prompts());
  std::vector<Ask> round = strategy->ask(0);
  strategy->tell(result(round[0], "suspicious", 50.0));  // not correct: does not count
  strategy->tell(result(round[1], "correct", 2.5));
  EXPECT_TRUE(strategy->ask(0).empty());
  EXPECT_TRUE(strategy->finished());
  EXPECT_EQ(strategy->stop_reason(), "target speedup 2x reached by i0.s1");
  EXPECT_EQ(strategy->progress().best_speedup, 2.5);

  StrategySettings few = settings("sample", 4, 3);
  few.budgets.candidates = 5;
  strategy = make_strategy(few, prompts());
  for (const Ask& ask : strategy->ask(0))
    strategy->tell(result(ask, "compiled"));
  std::vector<Ask> last = strategy->ask(0);
  EXPECT_EQ(ids(last), (std::vector<std::string>{"i1.s0"}));
  strategy->tell(result(last[0], "compiled"));
  EXPECT_TRUE(strategy->ask(0).empty());
  EXPECT_TRUE(strategy->finished());
  EXPECT_EQ(strategy->stop_reason(), "candidate budget 5 spent");

  for (auto [field, expected] :
       std::vector<std::pair<std::string, std::string>>{{"tokens", "token budget 150 spent"},
                                                        {"cost", "cost budget $0.01 spent"},
                                                        {"wall", "wall-time budget 60 s spent"}}) {
    StrategySettings limited = settings("sample", 1, 0);
    if (field == "tokens")
      limited.budgets.tokens = 150;
    if (field == "cost")
      limited.budgets.cost_usd = 0.01;
    if (field == "wall")
      limited.budgets.wall_seconds = 60;
    strategy = make_strategy(limited, prompts());
    std::vector<Ask> first = strategy->ask(0);
    ASSERT_EQ(first.size(), 1u);
    strategy->tell(result(first[0], "compile_error"));
    EXPECT_TRUE(strategy->ask(field == "wall" ? 61 : 0).empty()) << field;
    EXPECT_EQ(strategy->stop_reason(), expected);
  }
}

TEST(AgentsStrategyRefine, EachTurnShowsTheLastAnswerAndItsFeedback) {
  auto strategy = make_strategy(settings("refine", 2, 3), prompts());
  std::vector<Ask> first = strategy->ask(0);
  EXPECT_EQ(ids(first), (std::vector<std::string>{"c0.t0", "c1.t0"}));
  strategy->tell(result(first[0], "compile_error"));
  std::vector<Ask> turn = strategy->ask(0);  // chain 0 goes on; chain 1 still waits
  ASSERT_EQ(ids(turn), (std::vector<std::string>{"c0.t1"}));
  EXPECT_EQ(turn[0].parent_id, "c0.t0");
  const auto& messages = turn[0].conversation.messages;
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[1].role, "assistant");
  EXPECT_EQ(messages[1].content, "reply to c0.t0");
  EXPECT_EQ(messages[2].role, "user");
  EXPECT_NE(messages[2].content.find("compile_error"), std::string::npos);
  EXPECT_NE(messages[2].content.find("evidence of c0.t0"), std::string::npos);

  // A failed request is asked again from the same point.
  strategy->tell(result(turn[0], "llm_error"));
  std::vector<Ask> retry = strategy->ask(0);
  ASSERT_EQ(ids(retry), (std::vector<std::string>{"c0.t2"}));
  EXPECT_EQ(retry[0].parent_id, "c0.t0");
  EXPECT_EQ(retry[0].conversation.messages.size(), 3u);
  strategy->tell(result(retry[0], "correct", 1.2));
  EXPECT_TRUE(strategy->ask(0).empty());
  EXPECT_FALSE(strategy->finished());
  strategy->tell(result(first[1], "incorrect"));
  std::vector<Ask> other = strategy->ask(0);
  ASSERT_EQ(ids(other), (std::vector<std::string>{"c1.t1"}));
  strategy->tell(result(other[0], "incorrect"));
  other = strategy->ask(0);
  ASSERT_EQ(ids(other), (std::vector<std::string>{"c1.t2"}));
  EXPECT_EQ(other[0].conversation.messages.size(), 5u);
  strategy->tell(result(other[0], "correct", 0.9));
  EXPECT_TRUE(strategy->ask(0).empty());
  EXPECT_TRUE(strategy->finished());
  EXPECT_EQ(strategy->progress().best_id, "c0.t2");
}

TEST(AgentsStrategyRefine, APromptAfterAProfiledCandidateShowsItsFindings) {
  for (const char* name : {"refine", "beam"}) {
    SCOPED_TRACE(name);
    StrategySettings chosen = settings(name, 1, 3);
    chosen.beam_width = 1;
    auto strategy = make_strategy(chosen, prompts());
    std::vector<Ask> first = strategy->ask(0);
    ASSERT_EQ(first.size(), 1u);
    Feedback told = result(first[0], "correct", 1.3);
    told.profile = "- k: memory-bound; 24% of the bandwidth roof.\n1. uncoalesced_global_access";
    strategy->tell(told);
    // Checkpointed and resumed: the profile is part of the saved feedback.
    strategy = restore_strategy(nlohmann::json::parse(strategy->state().dump()), prompts());
    std::vector<Ask> next = strategy->ask(0);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].parent_id, first[0].id);
    const std::string& turn = next[0].conversation.messages.back().content;
    EXPECT_NE(turn.find("24% of the bandwidth roof.\n1. uncoalesced_global_access"),
              std::string::npos)
        << turn;
  }
}

TEST(AgentsStrategyRefine, KeepsOnlyTheLastExchangesInAPrompt) {
  StrategySettings chosen = settings("refine", 1, 6);
  chosen.exchanges_shown = 2;
  auto strategy = make_strategy(chosen, prompts());
  std::vector<Ask> asks = strategy->ask(0);
  for (int turn = 0; turn < 5; ++turn) {
    strategy->tell(result(asks[0], "incorrect"));
    asks = strategy->ask(0);
  }
  ASSERT_EQ(ids(asks), (std::vector<std::string>{"c0.t5"}));
  const auto& messages = asks[0].conversation.messages;
  ASSERT_EQ(messages.size(), 5u);  // the task, then two answers with their feedback
  EXPECT_EQ(messages[1].content, "reply to c0.t3");
  EXPECT_EQ(messages[3].content, "reply to c0.t4");
}

TEST(AgentsStrategyBeam, RefinesTheBestKOfTheFirstGeneration) {
  StrategySettings chosen = settings("beam", 4, 2);
  chosen.beam_width = 2;
  auto strategy = make_strategy(chosen, prompts());
  std::vector<Ask> first = strategy->ask(0);
  ASSERT_EQ(first.size(), 4u);
  strategy->tell(result(first[0], "compile_error"));
  strategy->tell(result(first[1], "correct", 1.5));
  strategy->tell(result(first[2], "correct", 2.5));
  EXPECT_TRUE(strategy->ask(0).empty());  // waits for the whole generation
  strategy->tell(result(first[3], "incorrect"));
  std::vector<Ask> second = strategy->ask(0);
  ASSERT_EQ(ids(second), (std::vector<std::string>{"g1.s0", "g1.s1", "g1.s2", "g1.s3"}));
  EXPECT_EQ(second[0].parent_id, "g0.s2");
  EXPECT_EQ(second[1].parent_id, "g0.s2");
  EXPECT_EQ(second[2].parent_id, "g0.s1");
  EXPECT_EQ(second[3].parent_id, "g0.s1");
  EXPECT_NE(second[0].sample_index, second[1].sample_index);
  EXPECT_EQ(second[0].conversation.messages[1].content, "reply to g0.s2");
  EXPECT_NE(second[0].conversation.messages[2].content.find("speedup 2.5x"), std::string::npos);
  for (const Ask& ask : second)
    strategy->tell(result(ask, "correct", 3.0));
  EXPECT_TRUE(strategy->ask(0).empty());
  EXPECT_TRUE(strategy->finished());
}

// Runs a strategy to the end, answering from a fixed script, checkpointing through JSON text
// after every tell when `resume_every_step` is set.
std::vector<std::string> run(const StrategySettings& chosen, bool resume_every_step) {
  auto strategy = make_strategy(chosen, prompts());
  std::vector<std::string> trace;
  std::vector<Ask> pending;
  int step = 0;
  while (!strategy->finished()) {
    for (Ask& ask : strategy->ask(0)) {
      trace.push_back(ask.id + "<" + ask.parent_id + ">" +
                      std::to_string(ask.conversation.messages.size()));
      pending.push_back(std::move(ask));
    }
    if (pending.empty())
      break;
    Ask ask = pending.front();
    pending.erase(pending.begin());
    const char* verdicts[] = {"compile_error", "correct", "incorrect", "correct", "llm_error"};
    std::string verdict = verdicts[step % 5];
    strategy->tell(
        result(ask, verdict, verdict == "correct" ? std::optional(1.0 + step) : std::nullopt));
    ++step;
    if (resume_every_step) {
      std::string saved = strategy->state().dump();
      strategy = restore_strategy(nlohmann::json::parse(saved), prompts());
      // Asks outstanding at the checkpoint come back once; the loop already holds them.
      for (const Ask& again : strategy->ask(0)) {
        bool known = false;
        for (const Ask& held : pending)
          known = known || held.id == again.id;
        if (!known) {
          trace.push_back(again.id + "<" + again.parent_id + ">" +
                          std::to_string(again.conversation.messages.size()));
          pending.push_back(again);
        }
      }
    }
  }
  return trace;
}

TEST(AgentsStrategyState, ResumingAfterEveryTellGivesTheSameRun) {
  for (const char* name : {"sample", "refine", "beam"}) {
    StrategySettings chosen = settings(name, 3, 3);
    std::vector<std::string> straight = run(chosen, false);
    EXPECT_GE(straight.size(), 6u) << name;
    EXPECT_EQ(run(chosen, true), straight) << name;
  }
}

TEST(AgentsStrategyState, OutstandingAsksAreReissuedWithTheirConversations) {
  auto strategy = make_strategy(settings("refine", 1, 3), prompts());
  std::vector<Ask> first = strategy->ask(0);
  strategy->tell(result(first[0], "incorrect"));
  std::vector<Ask> second = strategy->ask(0);
  auto restored = restore_strategy(strategy->state(), prompts());
  std::vector<Ask> again = restored->ask(0);
  ASSERT_EQ(ids(again), ids(second));
  EXPECT_EQ(again[0].conversation.messages.back().content,
            second[0].conversation.messages.back().content);
  EXPECT_TRUE(restored->ask(0).empty());
}

TEST(AgentsStrategy, MistakesAreErrors) {
  auto strategy = make_strategy(settings("sample", 1, 1), prompts());
  Feedback stray;
  stray.ask_id = "nope";
  stray.verdict = Verdict::kCorrect;
  EXPECT_THROW(strategy->tell(stray), Error);
  std::vector<Ask> asks = strategy->ask(0);
  strategy->tell(result(asks[0], "correct", 1.0));
  EXPECT_THROW(strategy->tell(result(asks[0], "correct", 1.0)), Error);
  try {
    make_strategy(settings("bean", 1, 1), prompts());
    FAIL();
  } catch (const Error& failure) {
    EXPECT_NE(std::string(failure.what()).find("did you mean 'beam'"), std::string::npos);
  }
  EXPECT_THROW(make_strategy(settings("sample", 0, 1), prompts()), Error);
  EXPECT_THROW(restore_strategy(nlohmann::json::object(), prompts()), Error);
  EXPECT_GT(attempt_score(result(asks[0], "correct", 2.0)),
            attempt_score(result(asks[0], "correct", 1.0)));
  EXPECT_GT(attempt_score(result(asks[0], "incorrect")),
            attempt_score(result(asks[0], "compile_error")));
}

// The ranking follows the pipeline: each verdict and outcome below ranks under the one before.
TEST(AgentsStrategy, AttemptsRankByHowFarThroughThePipelineTheyGot) {
  Ask ask;
  ask.id = "i0.s0";
  const char* order[] = {"correct",      "compiled",     "suspicious", "incorrect",
                         "timeout",      "launch_error", "plan_error", "compile_error",
                         "no_candidate", "llm_error"};
  for (size_t i = 1; i < std::size(order); ++i) {
    EXPECT_GT(attempt_score(result(ask, order[i - 1])), attempt_score(result(ask, order[i])))
        << order[i - 1] << " over " << order[i];
  }
  EXPECT_EQ(attempt_score(result(ask, "runtime_error")), attempt_score(result(ask, "timeout")));
  EXPECT_GT(attempt_score(result(ask, "correct", 3.0)), attempt_score(result(ask, "correct")));
}

// The JSON state names results as words; they come back as the same enums, and a word that
// names nothing is a damaged state, never a guess.
TEST(AgentsStrategyState, FeedbackResultsRoundTripAndAnUnknownVerdictIsRefused) {
  Ask ask;
  ask.id = "i0.s0";
  for (const char* name : {"correct", "compiled", "runtime_error", "no_candidate", "llm_error"}) {
    Feedback original = result(ask, name, std::nullopt);
    nlohmann::json json = original.to_json();
    EXPECT_EQ(json["verdict"], name);
    Feedback back = Feedback::from_json(json);
    EXPECT_EQ(back.outcome, original.outcome) << name;
    EXPECT_EQ(back.verdict, original.verdict) << name;
    EXPECT_EQ(back.result_name(), name);
  }
  nlohmann::json damaged = result(ask, "correct").to_json();
  damaged["verdict"] = "corect";
  EXPECT_THROW(Feedback::from_json(damaged), Error);
}

}  // namespace
}  // namespace kforge::agents

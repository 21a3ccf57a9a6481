// Strategies decide what to ask the LLM next, one step at a time (ask/tell): `ask` gives the
// proposals that can be made now, the loop sends them, parses and evaluates the answers, and
// `tell`s each result back. A strategy sees only agent-side values (Ask, Feedback), never the
// harness or CUDA, and its whole state is JSON after every tell, so a run can checkpoint and
// resume. The registry of strategies is the table in strategy.cpp. A strategy is not
// thread-safe: the loop calls ask and tell from one thread (providers may run on many).
//
//   sample  N independent answers to the same first prompt, round after round.
//   refine  N parallel conversations; each turn shows the feedback on the last attempt.
//   beam    best-of-N, then each generation refines the best k attempts so far.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agents/agent.hpp"
#include "agents/prompt.hpp"
#include "agents/provider.hpp"
#include "harness/options/strategy_settings.hpp"

namespace kforge::agents {

// One request for a proposal. The conversation is ready for Provider::complete, and
// sample_index goes into LlmRequest::sample_index (distinct answers to one prompt).
struct Ask {
  std::string id;  // unique within the run: "i0.s3", "c1.t2", "g2.s0"
  int64_t iteration = 0;
  int64_t sample_index = 0;
  std::string parent_id;  // the attempt this one refines; empty for a fresh proposal
  Conversation conversation;
};

// Where a strategy stands, for progress displays and summaries.
struct StrategyProgress {
  int64_t asked = 0;
  int64_t told = 0;
  int64_t outstanding = 0;
  int64_t iteration = 0;  // the highest iteration asked so far
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  double cost_usd = 0;
  std::map<std::string, int64_t> verdicts;  // Feedback::result_name() -> count, for reports
  std::optional<double> best_speedup;       // of a correct candidate
  std::string best_id;                      // the best attempt by verdict, then speedup
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string_view name() const = 0;
  // The asks that can be made now: none while the strategy waits for results, or once it has
  // stopped. Each ask is returned once; after restore() the asks that were outstanding at the
  // checkpoint are returned again (their answers are in the response cache). `wall_seconds` is
  // the run's time so far, for the wall-time budget.
  virtual std::vector<Ask> ask(double wall_seconds) = 0;
  // The result of an ask. Throws Error for an id that was never asked or was already told.
  virtual void tell(const Feedback& feedback) = 0;
  // Nothing is outstanding and nothing more will be asked.
  virtual bool finished() const = 0;
  // Why asking stopped ("iterations done", "target speedup 2x reached by g1.s0", "token
  // budget 100000 spent"), once it has.
  virtual std::optional<std::string> stop_reason() const = 0;
  virtual StrategyProgress progress() const = 0;
  // Everything needed to continue: settings, budgets, asks and their feedback.
  virtual nlohmann::json state() const = 0;
};

struct StrategyKind {
  std::string_view name;
  std::string_view help;
};
std::span<const StrategyKind> strategy_kinds();

// Throws Error for an unknown strategy (with the allowed list) or settings out of range.
std::unique_ptr<Strategy> make_strategy(const StrategySettings& settings,
                                        std::shared_ptr<const PromptBuilder> prompts);
// A strategy continuing from state(). Throws Error if the state is not one.
std::unique_ptr<Strategy> restore_strategy(const nlohmann::json& state,
                                           std::shared_ptr<const PromptBuilder> prompts);

// How good an attempt is, for ranking: correct beats compiled beats failures further along the
// pipeline; among correct ones the faster wins. Higher is better.
double attempt_score(const Feedback& feedback);

}  // namespace kforge::agents

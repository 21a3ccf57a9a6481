// The registry of strategies and what they share: settings, budgets, ranking.
#include "agents/strategy.hpp"

#include <array>

#include "agents/recorded_strategy.hpp"
#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge::agents {
namespace {

using nlohmann::json;

struct StrategyRow {
  StrategyKind kind;
  std::unique_ptr<RecordedStrategy> (*make)(StrategySettings, std::shared_ptr<const PromptBuilder>);
};

const std::array kStrategies = {
    StrategyRow{{"sample", "N independent proposals per round from the same prompt"},
                make_sample_strategy},
    StrategyRow{{"refine", "N conversations; each turn shows the feedback on the last attempt"},
                make_refine_strategy},
    StrategyRow{{"beam", "best-of-N, then each generation refines the best k attempts"},
                make_beam_strategy},
};

// Ranks of results for choosing what to build on: the further along the pipeline a candidate
// got, the closer it is to a good one.
double result_rank(const Feedback& feedback) {
  if (feedback.outcome == Outcome::kNoCandidate)
    return 1;
  if (feedback.outcome == Outcome::kLlmError || !feedback.verdict)
    return 0;
  switch (*feedback.verdict) {
    case Verdict::kCorrect:
      return 100;
    case Verdict::kCompiled:
      return 50;
    case Verdict::kSuspicious:
      return 40;
    case Verdict::kIncorrect:
      return 30;
    case Verdict::kRuntimeError:
    case Verdict::kTimeout:
      return 20;
    case Verdict::kLaunchError:
      return 15;
    case Verdict::kPlanError:
      return 12;
    case Verdict::kCompileError:
      return 10;
  }
  return 0;
}

std::unique_ptr<RecordedStrategy> create(const StrategySettings& settings,
                                         std::shared_ptr<const PromptBuilder> prompts) {
  std::vector<std::string> names;
  for (const StrategyRow& row : kStrategies)
    names.emplace_back(row.kind.name);
  if (!prompts)
    throw Error("a strategy needs a prompt builder");
  if (settings.samples < 1 || settings.beam_width < 1 || settings.exchanges_shown < 1)
    throw Error("samples, beam width and exchanges shown must be at least 1",
                "strategy " + settings.name);
  for (const StrategyRow& row : kStrategies) {
    if (row.kind.name == settings.name)
      return row.make(settings, std::move(prompts));
  }
  throw Error(strings::unknown_name_message("strategy", settings.name, names), "--strategy");
}

}  // namespace

json Budgets::to_json() const {
  return {{"iterations", iterations},     {"candidates", candidates},
          {"wall_seconds", wall_seconds}, {"tokens", tokens},
          {"cost_usd", cost_usd},         {"target_speedup", target_speedup}};
}

Budgets Budgets::from_json(const json& json) {
  Budgets budgets;
  budgets.iterations = json.value("iterations", budgets.iterations);
  budgets.candidates = json.value("candidates", budgets.candidates);
  budgets.wall_seconds = json.value("wall_seconds", budgets.wall_seconds);
  budgets.tokens = json.value("tokens", budgets.tokens);
  budgets.cost_usd = json.value("cost_usd", budgets.cost_usd);
  budgets.target_speedup = json.value("target_speedup", budgets.target_speedup);
  return budgets;
}

json StrategySettings::to_json() const {
  return {{"name", name},
          {"samples", samples},
          {"beam_width", beam_width},
          {"exchanges_shown", exchanges_shown},
          {"budgets", budgets.to_json()}};
}

StrategySettings StrategySettings::from_json(const json& json) {
  StrategySettings settings;
  settings.name = json.value("name", settings.name);
  settings.samples = json.value("samples", settings.samples);
  settings.beam_width = json.value("beam_width", settings.beam_width);
  settings.exchanges_shown = json.value("exchanges_shown", settings.exchanges_shown);
  if (json.contains("budgets"))
    settings.budgets = Budgets::from_json(json["budgets"]);
  return settings;
}

std::span<const StrategyKind> strategy_kinds() {
  static const std::vector<StrategyKind> kinds = [] {
    std::vector<StrategyKind> out;
    for (const StrategyRow& row : kStrategies)
      out.push_back(row.kind);
    return out;
  }();
  return kinds;
}

std::unique_ptr<Strategy> make_strategy(const StrategySettings& settings,
                                        std::shared_ptr<const PromptBuilder> prompts) {
  return create(settings, std::move(prompts));
}

std::unique_ptr<Strategy> restore_strategy(const json& state,
                                           std::shared_ptr<const PromptBuilder> prompts) {
  if (!state.is_object() || state.value("format", "") != "kforge-strategy-state-v1" ||
      !state.contains("settings") || !state.contains("records"))
    throw Error("not a saved strategy state (format kforge-strategy-state-v1)");
  try {
    auto strategy = create(StrategySettings::from_json(state["settings"]), std::move(prompts));
    strategy->restore(state);
    return strategy;
  } catch (const json::exception& failure) {
    throw Error(std::string("a saved strategy state is damaged: ") + failure.what());
  }
}

double attempt_score(const Feedback& feedback) {
  double score = result_rank(feedback);
  if (feedback.judged(Verdict::kCorrect) && feedback.speedup)
    score += std::min(*feedback.speedup, 1e6);
  return score;
}

}  // namespace kforge::agents

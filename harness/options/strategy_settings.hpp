// A strategy's settings and budgets (llm.samples and the optimize flags): plain settings whose
// defaults harness/config.cpp reads. They sit at the bottom of the layers so that the configuration
// table includes nothing above it; agents/strategy.hpp includes it and defines their functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace kforge::agents {

// Limits on a run; 0 means no limit. Checked before every ask; answers already asked for are
// still told (and count) after a limit is reached.
struct Budgets {
  int64_t iterations = 3;  // rounds (sample), turns per chain (refine), generations (beam)
  int64_t candidates = 0;  // asks in all
  double wall_seconds = 0;
  int64_t tokens = 0;  // input + output
  double cost_usd = 0;
  double target_speedup = 0;  // stop asking once a correct candidate is this fast

  nlohmann::json to_json() const;
  static Budgets from_json(const nlohmann::json& json);
};

struct StrategySettings {
  std::string name = "sample";  // a name from strategy_kinds()
  int64_t samples = 4;          // proposals per round / chains / first generation
  int64_t beam_width = 2;       // beam: the k best that each generation refines
  int64_t exchanges_shown = 3;  // refine, beam: earlier answer+feedback pairs kept in a prompt
  Budgets budgets;

  nlohmann::json to_json() const;
  static StrategySettings from_json(const nlohmann::json& json);
};

}  // namespace kforge::agents

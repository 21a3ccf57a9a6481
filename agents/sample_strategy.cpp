// sample: N independent answers to the same first prompt per round. Rounds wait for the
// previous one so that budgets and the target speedup can end the run between them.
#include "agents/recorded_strategy.hpp"

namespace kforge::agents {
namespace {

class SampleStrategy final : public RecordedStrategy {
 public:
  using RecordedStrategy::RecordedStrategy;
  std::string_view name() const override { return "sample"; }

 protected:
  bool plan(int64_t room, std::vector<Planned>& out) override {
    if (!all_told())
      return false;
    int64_t iterations = settings().budgets.iterations;
    int64_t round = records().empty() ? 0 : records().back().iteration + 1;
    if (iterations > 0 && round >= iterations)
      return true;
    int64_t samples = settings().samples;
    for (int64_t j = 0; j < samples; ++j) {
      out.push_back(
          {"i" + std::to_string(round) + ".s" + std::to_string(j), round, round * samples + j, ""});
    }
    return iterations > 0 && round + 1 >= iterations;
  }
};

}  // namespace

std::unique_ptr<RecordedStrategy> make_sample_strategy(
    StrategySettings settings, std::shared_ptr<const PromptBuilder> prompts) {
  return std::make_unique<SampleStrategy>(std::move(settings), std::move(prompts));
}

}  // namespace kforge::agents

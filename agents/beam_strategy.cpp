// beam: a first generation of N independent answers (best-of-N), then each generation refines
// the k best attempts so far, N/k children each, showing each child its parent's answer and
// feedback. Generations wait for the previous one, which they rank.
#include <algorithm>

#include "agents/recorded_strategy.hpp"

namespace kforge::agents {
namespace {

class BeamStrategy final : public RecordedStrategy {
 public:
  using RecordedStrategy::RecordedStrategy;
  std::string_view name() const override { return "beam"; }

 protected:
  bool plan(int64_t room, std::vector<Planned>& out) override {
    if (!all_told())
      return false;
    int64_t iterations = settings().budgets.iterations;
    int64_t generation = records().empty() ? 0 : records().back().iteration + 1;
    if (iterations > 0 && generation >= iterations)
      return true;
    int64_t samples = settings().samples;
    std::vector<const Record*> parents;
    for (const Record& record : records()) {
      if (record.feedback && !record.feedback->reply.empty())
        parents.push_back(&record);
    }
    // Best first; among equals the earlier attempt, so ranking is reproducible.
    std::stable_sort(parents.begin(), parents.end(), [](const Record* a, const Record* b) {
      return attempt_score(*a->feedback) > attempt_score(*b->feedback);
    });
    if (parents.size() > static_cast<size_t>(settings().beam_width))
      parents.resize(static_cast<size_t>(settings().beam_width));
    std::string prefix = "g" + std::to_string(generation) + ".s";
    if (parents.empty()) {  // the first generation, or nothing answered yet: start afresh
      for (int64_t j = 0; j < samples; ++j)
        out.push_back({prefix + std::to_string(j), generation, generation * samples + j, ""});
    } else {
      int64_t children = std::max<int64_t>(1, samples / static_cast<int64_t>(parents.size()));
      int64_t j = 0;
      for (const Record* parent : parents) {
        for (int64_t child = 0; child < children; ++child, ++j)
          out.push_back(
              {prefix + std::to_string(j), generation, generation * samples + j, parent->id});
      }
    }
    return iterations > 0 && generation + 1 >= iterations;
  }
};

}  // namespace

std::unique_ptr<RecordedStrategy> make_beam_strategy(StrategySettings settings,
                                                     std::shared_ptr<const PromptBuilder> prompts) {
  return std::make_unique<BeamStrategy>(std::move(settings), std::move(prompts));
}

}  // namespace kforge::agents

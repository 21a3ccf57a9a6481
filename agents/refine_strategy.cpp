// refine: N conversations side by side. Each turn shows the LLM its last answer and what became
// of it; a turn whose request failed is asked again from the same point. Chains advance
// independently: one waits only for its own last result.
#include <map>

#include "agents/recorded_strategy.hpp"

namespace kforge::agents {
namespace {

class RefineStrategy final : public RecordedStrategy {
 public:
  using RecordedStrategy::RecordedStrategy;
  std::string_view name() const override { return "refine"; }

 protected:
  bool plan(int64_t room, std::vector<Planned>& out) override {
    int64_t iterations = settings().budgets.iterations;
    std::map<int64_t, const Record*> last;  // chain (its sample index) -> latest turn
    for (const Record& record : records())
      last[record.sample_index] = &record;
    bool done = iterations > 0;  // stays true only if every chain has asked its last turn
    for (int64_t chain = 0; chain < settings().samples; ++chain) {
      auto found = last.find(chain);
      const Record* latest = found == last.end() ? nullptr : found->second;
      int64_t turn = latest == nullptr ? 0 : latest->iteration + 1;
      if (iterations > 0 && turn >= iterations)
        continue;
      if (latest != nullptr && !latest->feedback) {
        done = false;  // waiting for this chain's result
        continue;
      }
      if (room >= 0 && static_cast<int64_t>(out.size()) >= room) {
        done = false;
        break;
      }
      // A failed request has no answer to build on: ask again from where it was asked.
      std::string parent;
      if (latest != nullptr)
        parent = latest->feedback->reply.empty() ? latest->parent_id : latest->id;
      out.push_back(
          {"c" + std::to_string(chain) + ".t" + std::to_string(turn), turn, chain, parent});
      if (iterations <= 0 || turn + 1 < iterations)
        done = false;
    }
    return done;
  }
};

}  // namespace

std::unique_ptr<RecordedStrategy> make_refine_strategy(
    StrategySettings settings, std::shared_ptr<const PromptBuilder> prompts) {
  return std::make_unique<RefineStrategy>(std::move(settings), std::move(prompts));
}

}  // namespace kforge::agents

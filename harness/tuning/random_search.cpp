// Random search: every untold point equally likely. The baseline every other strategy is
// measured against.
#include "harness/tuning/strategy.hpp"

namespace kforge::tuning {
namespace {

class RandomSearch final : public Strategy {
 public:
  RandomSearch(const TuningSpace& space, StrategyOptions options)
      : Strategy(space, "random", options) {}

 protected:
  std::optional<PointId> propose() override { return random_untold(); }
  void observe(PointId, Outcome, bool) override {}
};

}  // namespace

std::unique_ptr<Strategy> make_random_search(const TuningSpace& space, StrategyOptions options) {
  return std::make_unique<RandomSearch>(space, options);
}

}  // namespace kforge::tuning

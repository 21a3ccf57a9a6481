// Simulated annealing: from a random start, propose a random untold neighbour of the current
// point and move to it by the Metropolis rule on the relative change of time, at a temperature
// that cools geometrically over the budget. The schedule is fixed by two readings, not fitted
// to any space: at the start a move 10% slower is accepted with probability 0.8, at the end a
// move 1% slower with probability 0.01. A failed neighbour is never accepted; a current point
// with no untold neighbour left restarts the search from a random point.
#include <algorithm>
#include <cmath>

#include "harness/tuning/strategy.hpp"

namespace kforge::tuning {
namespace {

const double kStartTemperature = 0.10 / std::log(1 / 0.8);
const double kEndTemperature = 0.01 / std::log(1 / 0.01);
// The schedule's length when the run does not say its budget.
constexpr size_t kDefaultBudget = 1000;

class SimulatedAnnealing final : public Strategy {
 public:
  SimulatedAnnealing(const TuningSpace& space, StrategyOptions options)
      : Strategy(space, "annealing", options) {}

 protected:
  std::optional<PointId> propose() override {
    if (current_) {
      std::vector<PointId> untold;
      for (PointId neighbour : space_.neighbours(*current_))
        if (!told(neighbour))
          untold.push_back(neighbour);
      if (!untold.empty())
        return untold[random_.below(untold.size())];
      current_.reset();
    }
    return random_untold();
  }

  void observe(PointId point, Outcome outcome, bool asked) override {
    if (!asked || !outcome)
      return;
    if (!current_) {
      current_ = point;
      return;
    }
    double change = (*outcome - cost(*current_)) / std::max(cost(*current_), 1e-300);
    if (change <= 0 || random_.unit() < std::exp(-change / temperature()))
      current_ = point;
  }

 private:
  double temperature() const {
    size_t budget = options_.budget ? options_.budget : kDefaultBudget;
    double progress = std::min(1.0, static_cast<double>(told_count()) / budget);
    return kStartTemperature * std::pow(kEndTemperature / kStartTemperature, progress);
  }

  std::optional<PointId> current_;
};

}  // namespace

std::unique_ptr<Strategy> make_simulated_annealing(const TuningSpace& space,
                                                   StrategyOptions options) {
  return std::make_unique<SimulatedAnnealing>(space, options);
}

}  // namespace kforge::tuning

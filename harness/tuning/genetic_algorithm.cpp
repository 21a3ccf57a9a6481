// A genetic algorithm on value indices: a population of 20 (the usual size in the tuning
// literature, and Kernel Tuner's), parents chosen by binary tournaments, uniform crossover, each
// gene mutated to a random value with probability 1/(number of parameters), and elitist
// survival: after each generation of 20 children the best 20 of parents and children go on.
// A child outside the space or already evaluated is bred again (20 tries), then replaced by a
// random point. Failed points rank last and die out.
#include <algorithm>

#include "harness/tuning/strategy.hpp"

namespace kforge::tuning {
namespace {

constexpr size_t kPopulation = 20;
constexpr int kBreedingTries = 20;

class GeneticAlgorithm final : public Strategy {
 public:
  GeneticAlgorithm(const TuningSpace& space, StrategyOptions options)
      : Strategy(space, "genetic", options) {}

 protected:
  std::optional<PointId> propose() override {
    if (population_.size() < kPopulation)
      return random_untold();
    for (int attempt = 0; attempt < kBreedingTries; ++attempt) {
      const Point& mother = space_.point(tournament());
      const Point& father = space_.point(tournament());
      Point child(mother.size());
      for (size_t p = 0; p < child.size(); ++p) {
        child[p] = random_.below(2) ? mother[p] : father[p];
        if (random_.below(child.size()) == 0)
          child[p] = random_.below(space_.parameters()[p].values.size());
      }
      std::optional<PointId> id = space_.find(child);
      if (id && !told(*id))
        return id;
    }
    return random_untold();
  }

  void observe(PointId point, Outcome, bool asked) override {
    if (!asked)
      return;
    if (population_.size() < kPopulation) {
      population_.push_back(point);
      return;
    }
    children_.push_back(point);
    if (children_.size() < kPopulation)
      return;
    population_.insert(population_.end(), children_.begin(), children_.end());
    children_.clear();
    std::stable_sort(population_.begin(), population_.end(),
                     [this](PointId a, PointId b) { return cost(a) < cost(b); });
    population_.resize(kPopulation);
  }

 private:
  PointId tournament() {
    PointId a = population_[random_.below(population_.size())];
    PointId b = population_[random_.below(population_.size())];
    return cost(b) < cost(a) ? b : a;
  }

  std::vector<PointId> population_;
  std::vector<PointId> children_;
};

}  // namespace

std::unique_ptr<Strategy> make_genetic_algorithm(const TuningSpace& space,
                                                 StrategyOptions options) {
  return std::make_unique<GeneticAlgorithm>(space, options);
}

}  // namespace kforge::tuning

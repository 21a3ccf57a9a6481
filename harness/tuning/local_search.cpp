// Local search with restarts: from a random start, try the one-parameter neighbours of the
// current point in random order and move to the first that is faster (first improvement); a
// point none of whose neighbours is faster is a local optimum, and the search restarts from a
// new random point. Neighbours already evaluated (by this search or, in a portfolio, by another)
// are compared at no cost. A failed start or neighbour is simply not better.
#include <deque>

#include "harness/tuning/strategy.hpp"

namespace kforge::tuning {
namespace {

class LocalSearch final : public Strategy {
 public:
  LocalSearch(const TuningSpace& space, StrategyOptions options)
      : Strategy(space, "local", options) {}

 protected:
  std::optional<PointId> propose() override {
    while (current_) {
      if (untried_.empty()) {
        current_.reset();  // a local optimum: restart
        break;
      }
      PointId neighbour = untried_.front();
      untried_.pop_front();
      if (!told(neighbour))
        return neighbour;
      if (cost(neighbour) < cost(*current_))
        move_to(neighbour);
    }
    return random_untold();
  }

  void observe(PointId point, Outcome outcome, bool asked) override {
    if (!asked || !outcome)
      return;
    if (!current_ || *outcome < cost(*current_))
      move_to(point);
  }

 private:
  void move_to(PointId point) {
    current_ = point;
    std::vector<PointId> neighbours = space_.neighbours(point);
    random_.shuffle(neighbours);
    untried_.assign(neighbours.begin(), neighbours.end());
  }

  std::optional<PointId> current_;
  std::deque<PointId> untried_;
};

}  // namespace

std::unique_ptr<Strategy> make_local_search(const TuningSpace& space, StrategyOptions options) {
  return std::make_unique<LocalSearch>(space, options);
}

}  // namespace kforge::tuning

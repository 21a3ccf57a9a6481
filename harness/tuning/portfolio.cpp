// `auto`, the default: a portfolio of the model-based, local, genetic and annealing strategies
// chosen from step by step by a bandit, UCB1-Tuned (Auer, Cesa-Bianchi and Fischer 2002: UCB1
// with each member's exploration term scaled by a bound on its reward variance, which the
// paper reports works better in practice; it has no constant to set). Every member is told
// every result, whichever member asked for it, so the model fits all points seen and a local
// search compares against neighbours others found; no point is ever evaluated twice. A
// member's reward for a point it proposed is the point's rank among all points seen (1 for a
// new best, 0 for the slowest or a failed one), which needs no scale of times. Each member is
// played once first.
#include <algorithm>
#include <cmath>

#include "harness/tuning/strategy.hpp"

namespace kforge::tuning {
namespace {

struct Member {
  std::unique_ptr<Strategy> strategy;
  size_t plays = 0;
  double reward = 0;          // summed
  double squared_reward = 0;  // summed squares, for the variance
  bool exhausted = false;
};

class Portfolio final : public Strategy {
 public:
  Portfolio(const TuningSpace& space, StrategyOptions options) : Strategy(space, "auto", options) {
    using Maker = std::unique_ptr<Strategy> (*)(const TuningSpace&, StrategyOptions);
    const Maker makers[] = {make_tree_parzen, make_local_search, make_genetic_algorithm,
                            make_simulated_annealing};
    Random seeds(options.seed);
    for (Maker make : makers) {
      Member member;
      member.strategy = make(space, {seeds.next(), options.budget});
      members_.push_back(std::move(member));
    }
  }

 protected:
  std::optional<PointId> propose() override {
    for (;;) {
      Member* chosen = choose();
      if (!chosen)
        return std::nullopt;
      if (std::optional<PointId> point = chosen->strategy->ask()) {
        playing_ = chosen;
        return point;
      }
      chosen->exhausted = true;
    }
  }

  void observe(PointId point, Outcome outcome, bool asked) override {
    // A start point is every member's start; it earns no member a reward (none was playing).
    for (Member& member : members_) {
      if (telling_start())
        member.strategy->tell_start(point, outcome);
      else
        member.strategy->tell(point, outcome);
    }
    if (!asked || !playing_)
      return;
    size_t faster = 0;
    for (const Told& entry : history())
      if (cost(entry.point) < cost(point))
        ++faster;
    playing_->plays += 1;
    double reward = outcome ? 1.0 - static_cast<double>(faster) / told_count() : 0.0;
    playing_->reward += reward;
    playing_->squared_reward += reward * reward;
    playing_ = nullptr;
  }

 private:
  Member* choose() {
    size_t total = 0;
    for (const Member& member : members_)
      total += member.plays;
    Member* chosen = nullptr;
    double chosen_score = -INFINITY;
    for (Member& member : members_) {
      if (member.exhausted)
        continue;
      if (member.plays == 0)
        return &member;
      double plays = static_cast<double>(member.plays);
      double mean = member.reward / plays;
      double log_total = std::log(static_cast<double>(total));
      double variance_bound =
          member.squared_reward / plays - mean * mean + std::sqrt(2 * log_total / plays);
      double score = mean + std::sqrt(log_total / plays * std::min(0.25, variance_bound));
      if (score > chosen_score) {
        chosen = &member;
        chosen_score = score;
      }
    }
    return chosen;
  }

  std::vector<Member> members_;
  Member* playing_ = nullptr;
};

}  // namespace

std::unique_ptr<Strategy> make_portfolio(const TuningSpace& space, StrategyOptions options) {
  return std::make_unique<Portfolio>(space, options);
}

}  // namespace kforge::tuning

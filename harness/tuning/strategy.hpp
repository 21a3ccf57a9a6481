// Search strategies over a tuning space, behind one ask/tell interface: `ask` proposes the next
// point to evaluate, `tell` hands back its time (or that it failed), one step at a time, so that
// a run can checkpoint after every tell and resume after a crash. A failed point (it did not
// compile, bind, run or verify) is information, never an error: strategies treat it as the
// worst possible time. Strategies never evaluate anything themselves and never see CUDA; they
// are tested on recorded spaces.
//
// Every strategy draws its randomness from its own seeded generator, so a (strategy, seed,
// space, results) run is reproducible. Its state (`state()`) is JSON: name, seed, budget and
// the results told so far, in order; `restore_strategy` rebuilds it by replaying those results
// through a fresh strategy with the same seed, checking that it asks the same points again.
// Points a run starts from (tell_start) are replayed as start points.
// Each implementation lives in its own file beside this one; the table of names is in
// strategy.cpp.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "harness/tuning/space.hpp"

namespace kforge::tuning {

// A point's outcome: its time (lower is better), or nothing for a failed point.
using Outcome = std::optional<double>;

struct StrategyOptions {
  uint64_t seed = 0;
  // The evaluations the run intends to spend (0: not known); strategies that schedule over
  // a run (the annealing temperature) read it.
  size_t budget = 0;
};

// A small, portable generator: the sequence depends only on the seed (no standard library
// distribution, whose output is the implementation's choice), and its state is one number.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next();
  size_t below(size_t bound);  // uniform in [0, bound), bound > 0
  double unit();               // uniform in [0, 1)
  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i)
      std::swap(items[i - 1], items[below(i)]);
  }
  uint64_t state() const { return state_; }

 private:
  uint64_t state_;
};

class Strategy {
 public:
  Strategy(const TuningSpace& space, std::string name, StrategyOptions options);
  virtual ~Strategy() = default;
  Strategy(const Strategy&) = delete;
  Strategy& operator=(const Strategy&) = delete;

  const std::string& name() const { return name_; }
  const TuningSpace& space() const { return space_; }

  // The next point to evaluate, never one already told; the same point again until it is told.
  // Nothing once every point of the space has been told.
  std::optional<PointId> ask();

  // The outcome of a point: the one asked, or one evaluated elsewhere (a portfolio tells every
  // member what any member found). Telling a point twice, or one outside the space, is an Error.
  void tell(PointId point, Outcome outcome);

  // The outcome of a point the run starts from (an LLM's proposal, evaluated before the strategy
  // asks anything): recorded as any told point, and observed as if this strategy had asked it,
  // so that the search starts from it (a local search climbs from the best such point, annealing
  // walks from it, a genetic algorithm breeds from them; a portfolio tells its members so). As
  // tell, and telling one while an asked point is untold is an Error: the draws made for that
  // ask would come after it on a restore.
  void tell_start(PointId point, Outcome outcome);

  // The results told so far, in order.
  struct Told {
    PointId point;
    Outcome outcome;
    bool asked;          // whether this strategy asked for it
    bool start = false;  // told with tell_start
  };
  const std::vector<Told>& history() const { return history_; }
  std::optional<PointId> best() const { return best_; }

  nlohmann::json state() const;

 protected:
  // The implementation's proposal: an untold point, or nothing when none is left.
  virtual std::optional<PointId> propose() = 0;
  // Called after the bookkeeping of every tell; `asked` says whether this strategy asked for it
  // (true for a start point: telling_start() says which).
  virtual void observe(PointId point, Outcome outcome, bool asked) = 0;
  // Whether the tell being observed is tell_start's.
  bool telling_start() const { return telling_start_; }

  bool told(PointId point) const { return told_[point]; }
  // The time of a told point; failed (and untold) points are +infinity, the worst.
  double cost(PointId point) const { return cost_[point]; }
  // A uniformly chosen untold point, or nothing when every point is told.
  std::optional<PointId> random_untold();
  size_t told_count() const { return history_.size(); }

  const TuningSpace& space_;
  const StrategyOptions options_;
  Random random_;

 private:
  std::string name_;
  std::vector<bool> told_;
  std::vector<double> cost_;
  std::vector<Told> history_;
  void record(PointId point, Outcome outcome, bool asked, bool start);

  std::optional<PointId> pending_;
  std::optional<PointId> best_;
  bool telling_start_ = false;
};

// The strategies by name, in the order help text lists them, with one line each.
struct StrategyEntry {
  const char* name;
  const char* summary;
  std::unique_ptr<Strategy> (*make)(const TuningSpace& space, StrategyOptions options);
};
std::span<const StrategyEntry> strategies();

// A strategy by name; an unknown name is an Error listing the known ones.
std::unique_ptr<Strategy> make_strategy(const std::string& name, const TuningSpace& space,
                                        StrategyOptions options);

// A strategy from its `state()`, at the same point of its run. A state that does not fit the
// space, or that the strategy does not reproduce, is an Error.
std::unique_ptr<Strategy> restore_strategy(const nlohmann::json& state, const TuningSpace& space);

// The implementations (one file each), for the table.
std::unique_ptr<Strategy> make_random_search(const TuningSpace& space, StrategyOptions options);
std::unique_ptr<Strategy> make_local_search(const TuningSpace& space, StrategyOptions options);
std::unique_ptr<Strategy> make_genetic_algorithm(const TuningSpace& space, StrategyOptions options);
std::unique_ptr<Strategy> make_simulated_annealing(const TuningSpace& space,
                                                   StrategyOptions options);
std::unique_ptr<Strategy> make_tree_parzen(const TuningSpace& space, StrategyOptions options);
std::unique_ptr<Strategy> make_portfolio(const TuningSpace& space, StrategyOptions options);

}  // namespace kforge::tuning

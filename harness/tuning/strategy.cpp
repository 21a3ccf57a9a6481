#include "harness/tuning/strategy.hpp"

#include <array>
#include <limits>

#include "harness/util/error.hpp"

namespace kforge::tuning {

namespace {

constexpr int kStateVersion = 1;

constexpr std::array kStrategies = std::to_array<StrategyEntry>({
    {"auto", "a bandit over the strategies below, sharing what each finds (the default)",
     make_portfolio},
    {"random", "uniform random points, never one twice", make_random_search},
    {"local", "first-improvement hill climbing on one-parameter neighbours, with random restarts",
     make_local_search},
    {"genetic", "a genetic algorithm: tournaments, uniform crossover, mutation, elitist survival",
     make_genetic_algorithm},
    {"annealing", "simulated annealing over neighbours, cooling over the budget",
     make_simulated_annealing},
    {"tpe", "a tree-structured Parzen estimator fitted to the points seen", make_tree_parzen},
});

}  // namespace

// splitmix64 (Steele, Lea and Flood 2014): one 64-bit state, full period, good mixing.
uint64_t Random::next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

size_t Random::below(size_t bound) {
  // Rejection of the short last block keeps every value equally likely.
  const uint64_t threshold = (0 - static_cast<uint64_t>(bound)) % bound;
  for (;;) {
    uint64_t draw = next();
    if (draw >= threshold)
      return draw % bound;
  }
}

double Random::unit() {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

Strategy::Strategy(const TuningSpace& space, std::string name, StrategyOptions options)
    : space_(space),
      options_(options),
      random_(options.seed),
      name_(std::move(name)),
      told_(space.size(), false),
      cost_(space.size(), std::numeric_limits<double>::infinity()) {}

std::optional<PointId> Strategy::ask() {
  if (!pending_)
    pending_ = propose();
  return pending_;
}

void Strategy::tell(PointId point, Outcome outcome) {
  record(point, outcome, pending_ == point, /*start=*/false);
}

void Strategy::tell_start(PointId point, Outcome outcome) {
  if (pending_)
    throw Error("a start point was told while an asked point is untold",
                "point " + std::to_string(point));
  record(point, outcome, /*asked=*/false, /*start=*/true);
}

void Strategy::record(PointId point, Outcome outcome, bool asked, bool start) {
  if (point >= space_.size())
    throw Error("a tuning result names a point outside the space",
                "point " + std::to_string(point));
  if (told_[point])
    throw Error("a tuning point was told twice", space_.describe(point).dump());
  if (asked)
    pending_.reset();
  told_[point] = true;
  if (outcome)
    cost_[point] = *outcome;
  history_.push_back({point, outcome, asked, start});
  if (outcome && (!best_ || *outcome < cost_[*best_]))
    best_ = point;
  telling_start_ = start;
  observe(point, outcome, asked || start);
  telling_start_ = false;
}

std::optional<PointId> Strategy::random_untold() {
  if (history_.size() >= space_.size())
    return std::nullopt;
  // Rejection is fast while most points are untold; past that, choose among those left.
  for (int attempt = 0; attempt < 64; ++attempt) {
    PointId point = random_.below(space_.size());
    if (!told_[point])
      return point;
  }
  std::vector<PointId> left;
  for (PointId point = 0; point < space_.size(); ++point)
    if (!told_[point])
      left.push_back(point);
  return left[random_.below(left.size())];
}

nlohmann::json Strategy::state() const {
  nlohmann::json told = nlohmann::json::array();
  for (const Told& entry : history_) {
    told.push_back(
        {entry.point, entry.outcome ? nlohmann::json(*entry.outcome) : nullptr, entry.asked});
    if (entry.start)
      told.back().push_back(true);  // [point, outcome, false, true]: a start point
  }
  return {{"version", kStateVersion},  {"strategy", name_},           {"seed", options_.seed},
          {"budget", options_.budget}, {"space_size", space_.size()}, {"told", told}};
}

std::span<const StrategyEntry> strategies() {
  return kStrategies;
}

std::unique_ptr<Strategy> make_strategy(const std::string& name, const TuningSpace& space,
                                        StrategyOptions options) {
  std::string known;
  for (const StrategyEntry& entry : kStrategies) {
    if (name == entry.name)
      return entry.make(space, options);
    known += (known.empty() ? "" : ", ") + std::string(entry.name);
  }
  throw Error("unknown tuning strategy '" + name + "' (known: " + known + ")", "--strategy");
}

std::unique_ptr<Strategy> restore_strategy(const nlohmann::json& state, const TuningSpace& space) {
  try {
    if (state.at("version").get<int>() != kStateVersion)
      throw Error("a tuning strategy state of another version", "version");
    if (state.at("space_size").get<size_t>() != space.size())
      throw Error("a tuning strategy state of another space", "space_size");
    StrategyOptions options{state.at("seed").get<uint64_t>(), state.at("budget").get<size_t>()};
    std::unique_ptr<Strategy> strategy =
        make_strategy(state.at("strategy").get<std::string>(), space, options);
    for (const nlohmann::json& entry : state.at("told")) {
      PointId point = entry.at(0).get<PointId>();
      Outcome outcome;
      if (!entry.at(1).is_null())
        outcome = entry.at(1).get<double>();
      if (entry.size() > 3 && entry.at(3).get<bool>()) {
        strategy->tell_start(point, outcome);
        continue;
      }
      if (entry.at(2).get<bool>() && strategy->ask() != point)
        throw Error("the strategy does not ask the recorded point again",
                    "told entry " + std::to_string(strategy->history().size()));
      strategy->tell(point, outcome);
    }
    return strategy;
  } catch (const nlohmann::json::exception& error) {
    throw Error(std::string("malformed tuning strategy state: ") + error.what());
  }
}

}  // namespace kforge::tuning

// Replay: a strategy run on a recorded space, where evaluating a point is a look-up, so that
// strategies are measured without a GPU. A run evaluates `budget` points (a fraction of the
// space, at least one); its score is the optimum's time over the best time it found (1 when
// it found the optimum, 0 when every point it evaluated failed). Over N repeats with seeds
// seed, seed+1, ... it reports the score's median, p10 and p90 (linear interpolation between
// order statistics, as numpy's default), and for 90%, 95% and 99% of the optimum the median
// number of evaluations a repeat took to reach that score (a repeat that never reached it
// counts as more than the budget; the median is then absent when half the repeats never did)
// and how many repeats reached it. Random search is measured the same way, on the same space,
// budget and seeds.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/tuning/kernel_tuner_cache.hpp"

namespace kforge::tuning {

struct ReplayOptions {
  std::string strategy = "auto";
  double budget_fraction = 0.05;
  size_t repeats = 20;
  uint64_t seed = 0;
};

// The evaluations a fraction of a space of `size` points allows: ceil(fraction x size), at
// least one and at most the space.
size_t budget_of(size_t size, double fraction);

// One run: the points evaluated, in order.
std::vector<PointId> replay_run(const RecordedSpace& recorded, const std::string& strategy,
                                size_t budget, uint64_t seed);

struct ScoreSummary {
  std::string strategy;
  double median = 0, p10 = 0, p90 = 0;
  struct Reach {
    double fraction;               // of the optimum: 0.90, 0.95, 0.99
    std::optional<double> median;  // evaluations; nothing when half the repeats never reached
    size_t reached = 0;            // repeats that reached it
  };
  std::vector<Reach> reach;
  double seconds = 0;      // wall-clock time of all repeats
  double cpu_seconds = 0;  // processor time of all repeats (what a busy machine does not inflate)
};

struct ReplayReport {
  size_t space_size = 0;
  size_t succeeded = 0;  // points with a time
  double optimum = 0;
  size_t budget = 0;
  ReplayOptions options;
  ScoreSummary strategy;
  ScoreSummary random;
};

// Errors: an unknown strategy, a fraction outside (0, 1], no repeats, a space without one
// point that succeeded.
ReplayReport replay(const RecordedSpace& recorded, const ReplayOptions& options);

nlohmann::json to_json(const ReplayReport& report);

// The q-quantile (0..1) of `values`, linear between order statistics; `values` non-empty.
double quantile(std::vector<double> values, double q);

}  // namespace kforge::tuning

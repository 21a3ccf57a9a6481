#include "harness/tuning/replay.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>

#include "harness/util/error.hpp"

namespace kforge::tuning {

namespace {

constexpr double kReachFractions[] = {0.90, 0.95, 0.99};

ScoreSummary summarise(const RecordedSpace& recorded, const std::string& strategy, size_t budget,
                       const ReplayOptions& options, double optimum) {
  auto start = std::chrono::steady_clock::now();
  std::clock_t cpu_start = std::clock();
  std::vector<double> scores;
  std::vector<std::vector<double>> reach_at(std::size(kReachFractions));
  for (size_t repeat = 0; repeat < options.repeats; ++repeat) {
    std::vector<PointId> run = replay_run(recorded, strategy, budget, options.seed + repeat);
    double best = std::numeric_limits<double>::infinity();
    std::vector<double> first(std::size(kReachFractions), std::numeric_limits<double>::infinity());
    for (size_t step = 0; step < run.size(); ++step) {
      if (const Outcome& outcome = recorded.outcomes[run[step]])
        best = std::min(best, *outcome);
      for (size_t r = 0; r < std::size(kReachFractions); ++r)
        if (std::isinf(first[r]) && optimum / best >= kReachFractions[r] - 1e-12)
          first[r] = static_cast<double>(step + 1);
    }
    scores.push_back(std::isinf(best) ? 0.0 : optimum / best);
    for (size_t r = 0; r < std::size(kReachFractions); ++r)
      reach_at[r].push_back(first[r]);
  }
  ScoreSummary summary;
  summary.strategy = strategy;
  summary.median = quantile(scores, 0.5);
  summary.p10 = quantile(scores, 0.1);
  summary.p90 = quantile(scores, 0.9);
  for (size_t r = 0; r < std::size(kReachFractions); ++r) {
    ScoreSummary::Reach reach{kReachFractions[r], std::nullopt, 0};
    for (double steps : reach_at[r])
      reach.reached += std::isfinite(steps);
    double median = quantile(reach_at[r], 0.5);
    if (std::isfinite(median))
      reach.median = median;
    summary.reach.push_back(reach);
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary.cpu_seconds = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  return summary;
}

nlohmann::json summary_json(const ScoreSummary& summary) {
  nlohmann::json reach = nlohmann::json::object();
  for (const ScoreSummary::Reach& entry : summary.reach) {
    char key[16];
    std::snprintf(key, sizeof key, "%.2f", entry.fraction);
    reach[key] = {{"median_evaluations", entry.median ? nlohmann::json(*entry.median) : nullptr},
                  {"repeats_reached", entry.reached}};
  }
  return {{"strategy", summary.strategy},
          {"median", summary.median},
          {"p10", summary.p10},
          {"p90", summary.p90},
          {"reach", reach},
          {"seconds", summary.seconds},
          {"cpu_seconds", summary.cpu_seconds}};
}

}  // namespace

double quantile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  double position = q * static_cast<double>(values.size() - 1);
  size_t below = static_cast<size_t>(std::floor(position));
  size_t above = std::min(below + 1, values.size() - 1);
  if (std::isinf(values[below]) || std::isinf(values[above]))
    return position - below > 0 ? values[above] : values[below];
  return values[below] + (position - below) * (values[above] - values[below]);
}

size_t budget_of(size_t size, double fraction) {
  // The small slack keeps a product such as 0.05 x 4092 = 204.6000...01 from rounding up twice.
  auto budget = static_cast<size_t>(std::ceil(fraction * static_cast<double>(size) - 1e-9));
  return std::clamp<size_t>(budget, 1, size);
}

std::vector<PointId> replay_run(const RecordedSpace& recorded, const std::string& strategy_name,
                                size_t budget, uint64_t seed) {
  std::unique_ptr<Strategy> strategy = make_strategy(strategy_name, recorded.space, {seed, budget});
  std::vector<PointId> evaluated;
  while (evaluated.size() < budget) {
    std::optional<PointId> point = strategy->ask();
    if (!point)
      break;
    strategy->tell(*point, recorded.outcomes[*point]);
    evaluated.push_back(*point);
  }
  return evaluated;
}

ReplayReport replay(const RecordedSpace& recorded, const ReplayOptions& options) {
  make_strategy(options.strategy, recorded.space, {});  // an unknown name fails here, once
  if (!(options.budget_fraction > 0 && options.budget_fraction <= 1))
    throw Error("the budget fraction must be in (0, 1]", "--budget-fraction");
  if (options.repeats == 0)
    throw Error("at least one repeat is needed", "--repeats");
  ReplayReport report;
  report.options = options;
  report.space_size = recorded.space.size();
  report.optimum = std::numeric_limits<double>::infinity();
  for (const Outcome& outcome : recorded.outcomes)
    if (outcome) {
      report.succeeded += 1;
      report.optimum = std::min(report.optimum, *outcome);
    }
  if (report.succeeded == 0)
    throw Error("the tuning space has no configuration that succeeded", "cache");
  if (!(report.optimum > 0))
    throw Error("the tuning space's best time is not positive", "cache");
  report.budget = budget_of(report.space_size, options.budget_fraction);
  report.strategy = summarise(recorded, options.strategy, report.budget, options, report.optimum);
  report.random = summarise(recorded, "random", report.budget, options, report.optimum);
  return report;
}

nlohmann::json to_json(const ReplayReport& report) {
  return {{"space",
           {{"points", report.space_size},
            {"succeeded", report.succeeded},
            {"optimum", report.optimum}}},
          {"budget_fraction", report.options.budget_fraction},
          {"budget", report.budget},
          {"repeats", report.options.repeats},
          {"seed", report.options.seed},
          {"result", summary_json(report.strategy)},
          {"random", summary_json(report.random)}};
}

}  // namespace kforge::tuning

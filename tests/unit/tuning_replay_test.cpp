// Replay on the recorded pnpoly sub-space: budgets, scores and the reach counts against what a
// run evaluated, the quantile rule, and the errors of a bad request.
#include "harness/tuning/replay.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "harness/util/error.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::tuning {
namespace {

const RecordedSpace& recorded() {
  static const RecordedSpace space = read_kernel_tuner_cache(
      kforge::testing::source_dir() / "tests/system/data/pnpoly_RTX_3090_subspace.json.gz");
  return space;
}

TEST(TuningReplay, QuantilesInterpolateBetweenOrderStatistics) {
  EXPECT_DOUBLE_EQ(quantile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 0.1), 2);
  EXPECT_DOUBLE_EQ(quantile({7}, 0.9), 7);
}

TEST(TuningReplay, BudgetIsTheFractionRoundedUpWithinTheSpace) {
  EXPECT_EQ(budget_of(4092, 0.05), 205u);
  EXPECT_EQ(budget_of(100, 0.05), 5u);  // exactly 5, not 6 from a rounding error
  EXPECT_EQ(budget_of(100, 1e-9), 1u);
  EXPECT_EQ(budget_of(100, 1.0), 100u);
}

TEST(TuningReplay, ScoresAreTheOptimumOverTheBestFoundOfEachSeededRun) {
  ReplayOptions options{"local", 0.02, 5, 11};
  ReplayReport report = replay(recorded(), options);
  EXPECT_EQ(report.space_size, 1056u);
  EXPECT_EQ(report.succeeded, 964u);
  EXPECT_EQ(report.budget, 22u);  // ceil(0.02 * 1056)
  std::vector<double> scores;
  for (uint64_t seed = 11; seed < 16; ++seed) {
    std::vector<PointId> run = replay_run(recorded(), "local", report.budget, seed);
    EXPECT_EQ(run.size(), report.budget);
    double best = INFINITY;
    for (PointId point : run)
      if (recorded().outcomes[point])
        best = std::min(best, *recorded().outcomes[point]);
    scores.push_back(report.optimum / best);
  }
  EXPECT_DOUBLE_EQ(report.strategy.median, quantile(scores, 0.5));
  EXPECT_DOUBLE_EQ(report.strategy.p10, quantile(scores, 0.1));
  EXPECT_LE(report.strategy.p10, report.strategy.median);
  EXPECT_LE(report.strategy.median, report.strategy.p90);
  EXPECT_EQ(report.random.strategy, "random");
  ASSERT_EQ(report.strategy.reach.size(), 3u);
  for (const ScoreSummary::Reach& reach : report.strategy.reach)
    if (reach.median) {
      EXPECT_LE(*reach.median, report.budget);
    }
}

TEST(TuningReplay, TheWholeSpaceAlwaysReachesTheOptimum) {
  ReplayReport report = replay(recorded(), {"genetic", 1.0, 2, 0});
  EXPECT_EQ(report.budget, 1056u);
  EXPECT_DOUBLE_EQ(report.strategy.median, 1.0);
  EXPECT_DOUBLE_EQ(report.random.p10, 1.0);
  EXPECT_EQ(report.strategy.reach[2].reached, 2u);
}

TEST(TuningReplay, BadRequestsAreErrors) {
  EXPECT_THROW(replay(recorded(), {"nope", 0.05, 2, 0}), Error);
  EXPECT_THROW(replay(recorded(), {"auto", 0, 2, 0}), Error);
  EXPECT_THROW(replay(recorded(), {"auto", 1.5, 2, 0}), Error);
  EXPECT_THROW(replay(recorded(), {"auto", 0.05, 0, 0}), Error);
  // A space where every configuration failed has no optimum to measure against.
  RecordedSpace failed{recorded().space, std::vector<Outcome>(recorded().space.size()), "time",
                       nlohmann::json::object()};
  EXPECT_THROW(replay(failed, {"auto", 0.05, 2, 0}), Error);
}

}  // namespace
}  // namespace kforge::tuning

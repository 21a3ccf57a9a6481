// Every tuning strategy on small synthetic spaces whose answers are known: a convex bowl (with
// and without holes cut by a constraint), spaces where nearly everything fails, and the state
// of a run saved to JSON text mid-way and continued.
#include "harness/tuning/strategy.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "harness/util/error.hpp"

namespace kforge::tuning {
namespace {

// Every point of `sizes` (one value count per parameter) that `keep` accepts, values 0..n-1.
TuningSpace grid(const std::vector<uint32_t>& sizes,
                 const std::function<bool(const Point&)>& keep) {
  std::vector<Parameter> parameters;
  for (size_t p = 0; p < sizes.size(); ++p) {
    Parameter parameter{"p" + std::to_string(p), {}};
    for (uint32_t value = 0; value < sizes[p]; ++value)
      parameter.values.push_back(value);
    parameters.push_back(parameter);
  }
  std::vector<Point> points;
  Point point(sizes.size(), 0);
  for (;;) {
    if (keep(point))
      points.push_back(point);
    size_t p = 0;
    while (p < sizes.size() && ++point[p] == sizes[p])
      point[p++] = 0;
    if (p == sizes.size())
      break;
  }
  return TuningSpace(std::move(parameters), std::move(points));
}

// A bowl with its minimum (time 1) at (7, 2, 5).
Outcome bowl(const Point& point) {
  const double centre[] = {7, 2, 5};
  double time = 1;
  for (size_t p = 0; p < point.size(); ++p)
    time += (point[p] - centre[p]) * (point[p] - centre[p]);
  return time;
}

// Runs `strategy` for at most `budget` tells; returns the points asked, in order.
std::vector<PointId> drive(Strategy& strategy, const std::function<Outcome(const Point&)>& time,
                           size_t budget) {
  std::vector<PointId> asked;
  while (asked.size() < budget) {
    std::optional<PointId> point = strategy.ask();
    if (!point)
      break;
    EXPECT_EQ(strategy.ask(), point) << "ask must repeat the point until it is told";
    strategy.tell(*point, time(strategy.space().point(*point)));
    asked.push_back(*point);
  }
  return asked;
}

std::vector<std::string> names() {
  std::vector<std::string> result;
  for (const StrategyEntry& entry : strategies())
    result.push_back(entry.name);
  return result;
}

class EveryStrategy : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Tuning, EveryStrategy, ::testing::ValuesIn(names()),
                         [](const auto& info) { return info.param; });

TEST_P(EveryStrategy, FindsTheOptimumOfAConvexSpaceQuickly) {
  TuningSpace space = grid({10, 10, 10}, [](const Point&) { return true; });
  // A quarter of the space: random search finds the exact optimum in about a quarter of runs.
  const size_t budget = 250;
  int found = 0;
  for (uint64_t seed = 0; seed < 5; ++seed) {
    std::unique_ptr<Strategy> strategy = make_strategy(GetParam(), space, {seed, budget});
    drive(*strategy, bowl, budget);
    ASSERT_TRUE(strategy->best());
    found += *bowl(space.point(*strategy->best())) == 1;
  }
  if (GetParam() != "random") {
    EXPECT_EQ(found, 5) << GetParam() << " missed the minimum of a convex space";
  }
}

TEST_P(EveryStrategy, FindsTheOptimumWhenAConstraintCutsHoles) {
  // Every third point (by the sum of its indices) is excluded, the optimum kept.
  TuningSpace space = grid({10, 10, 10}, [](const Point& point) {
    return (point[0] + point[1] + point[2]) % 3 != 1 || bowl(point) == 1;
  });
  int found = 0;
  for (uint64_t seed = 0; seed < 5; ++seed) {
    std::unique_ptr<Strategy> strategy = make_strategy(GetParam(), space, {seed, 250});
    drive(*strategy, bowl, 250);
    found += *bowl(space.point(*strategy->best())) == 1;
  }
  if (GetParam() != "random") {
    EXPECT_EQ(found, 5) << GetParam();
  }
}

TEST_P(EveryStrategy, CarriesOnThroughFailedNeighbourhoodsAndNeverAsksAPointTwice) {
  // Everything fails but one point in a corner: the strategy must keep proposing new points
  // (no crash, no repeat) until it has seen the whole space, and then say it is done.
  TuningSpace space = grid({6, 6, 6}, [](const Point&) { return true; });
  auto time = [](const Point& point) -> Outcome {
    if (point == Point{5, 5, 5})
      return 3.0;
    return std::nullopt;
  };
  std::unique_ptr<Strategy> strategy = make_strategy(GetParam(), space, {7, space.size()});
  std::vector<PointId> asked = drive(*strategy, time, space.size() + 10);
  EXPECT_EQ(asked.size(), space.size());
  EXPECT_EQ(std::set<PointId>(asked.begin(), asked.end()).size(), space.size());
  EXPECT_FALSE(strategy->ask());
  ASSERT_TRUE(strategy->best());
  EXPECT_EQ(space.point(*strategy->best()), (Point{5, 5, 5}));
}

TEST_P(EveryStrategy, AllFailedSpaceEndsWithoutABest) {
  TuningSpace space = grid({4, 4}, [](const Point&) { return true; });
  std::unique_ptr<Strategy> strategy = make_strategy(GetParam(), space, {1, 16});
  std::vector<PointId> asked = drive(
      *strategy, [](const Point&) { return Outcome(); }, 100);
  EXPECT_EQ(asked.size(), 16u);
  EXPECT_FALSE(strategy->best());
}

TEST_P(EveryStrategy, StateRoundTripsThroughJsonAndContinuesTheSameWay) {
  TuningSpace space = grid({8, 8, 8}, [](const Point& point) { return point[0] != 3; });
  auto time = [](const Point& point) -> Outcome {
    if ((point[0] * 7 + point[1] * 3 + point[2]) % 11 == 0)
      return std::nullopt;  // failed points along the way
    return bowl(point);
  };
  std::unique_ptr<Strategy> whole = make_strategy(GetParam(), space, {42, 120});
  std::vector<PointId> expected = drive(*whole, time, 120);

  std::unique_ptr<Strategy> first = make_strategy(GetParam(), space, {42, 120});
  std::vector<PointId> asked = drive(*first, time, 55);
  std::string saved = first->state().dump();
  first.reset();
  std::unique_ptr<Strategy> resumed = restore_strategy(nlohmann::json::parse(saved), space);
  EXPECT_EQ(resumed->state().dump(), saved);
  std::vector<PointId> rest = drive(*resumed, time, 120 - asked.size());
  asked.insert(asked.end(), rest.begin(), rest.end());
  EXPECT_EQ(asked, expected);
}

// Points a run starts from (an LLM's proposals): told before the first ask, recorded as start
// points, never asked again, and replayed as such by a restore, which continues the same way.
TEST_P(EveryStrategy, StartPointsAreNeverAskedAndSurviveARestore) {
  TuningSpace space = grid({8, 8, 8}, [](const Point&) { return true; });
  const std::vector<PointId> starts = {*space.find({6, 2, 5}), *space.find({0, 7, 0}),
                                       *space.find({3, 3, 3})};
  auto started = [&] {
    std::unique_ptr<Strategy> strategy = make_strategy(GetParam(), space, {11, 80});
    for (PointId start : starts)
      strategy->tell_start(start, bowl(space.point(start)));
    return strategy;
  };
  std::unique_ptr<Strategy> whole = started();
  std::vector<PointId> expected = drive(*whole, bowl, 60);
  for (PointId start : starts)
    EXPECT_EQ(std::count(expected.begin(), expected.end(), start), 0) << start;
  ASSERT_EQ(whole->history().size(), 63u);
  for (size_t i = 0; i < whole->history().size(); ++i) {
    EXPECT_EQ(whole->history()[i].start, i < 3) << i;
    EXPECT_EQ(whole->history()[i].asked, i >= 3) << i;
  }

  std::unique_ptr<Strategy> first = started();
  std::vector<PointId> asked = drive(*first, bowl, 20);
  std::string saved = first->state().dump();
  first.reset();
  std::unique_ptr<Strategy> resumed = restore_strategy(nlohmann::json::parse(saved), space);
  EXPECT_EQ(resumed->state().dump(), saved);
  std::vector<PointId> rest = drive(*resumed, bowl, 40);
  asked.insert(asked.end(), rest.begin(), rest.end());
  EXPECT_EQ(asked, expected);

  // Once a point is asked and untold, a start point would reorder the draws: refused.
  std::unique_ptr<Strategy> asking = make_strategy(GetParam(), space, {11, 80});
  ASSERT_TRUE(asking->ask());
  EXPECT_THROW(asking->tell_start(starts[0], 1.0), Error);
}

// A local search starts from the best start point: its first ask is one of that point's
// neighbours (a fresh one asks a random point).
TEST(TuningStrategy, ALocalSearchClimbsFromTheBestStartPoint) {
  TuningSpace space = grid({8, 8, 8}, [](const Point&) { return true; });
  std::unique_ptr<Strategy> strategy = make_strategy("local", space, {3, 80});
  const PointId near = *space.find({6, 2, 5});
  strategy->tell_start(*space.find({0, 7, 0}), bowl(space.point(*space.find({0, 7, 0}))));
  strategy->tell_start(near, bowl(space.point(near)));
  std::vector<PointId> neighbours = space.neighbours(near);
  std::optional<PointId> first = strategy->ask();
  ASSERT_TRUE(first);
  EXPECT_NE(std::find(neighbours.begin(), neighbours.end(), *first), neighbours.end())
      << space.describe(*first).dump();
}

TEST_P(EveryStrategy, SameSeedSameRunOtherSeedOtherRun) {
  TuningSpace space = grid({10, 10, 10}, [](const Point&) { return true; });
  auto run = [&](uint64_t seed) {
    std::unique_ptr<Strategy> strategy = make_strategy(GetParam(), space, {seed, 60});
    return drive(*strategy, bowl, 60);
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_NE(run(3), run(4));
}

TEST(TuningStrategy, UnknownNameListsTheKnownOnes) {
  TuningSpace space = grid({2}, [](const Point&) { return true; });
  try {
    make_strategy("bogus", space, {});
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("known: auto, random, local"), std::string::npos)
        << error.what();
  }
}

TEST(TuningStrategy, TellingAPointTwiceOrOutsideTheSpaceIsAnError) {
  TuningSpace space = grid({3}, [](const Point&) { return true; });
  std::unique_ptr<Strategy> strategy = make_strategy("random", space, {});
  strategy->tell(1, 2.0);
  EXPECT_THROW(strategy->tell(1, 2.0), Error);
  EXPECT_THROW(strategy->tell(3, 2.0), Error);
}

TEST(TuningStrategy, StateOfAnotherSpaceOrRunIsRefused) {
  TuningSpace space = grid({5, 5}, [](const Point&) { return true; });
  TuningSpace other = grid({4, 4}, [](const Point&) { return true; });
  std::unique_ptr<Strategy> strategy = make_strategy("tpe", space, {9, 20});
  drive(*strategy, bowl, 15);
  nlohmann::json state = strategy->state();
  EXPECT_THROW(restore_strategy(state, other), Error);
  // A recorded ask the strategy would not make again (a different seed): refused, not followed.
  state["seed"] = 10;
  EXPECT_THROW(restore_strategy(state, space), Error);
  EXPECT_THROW(restore_strategy(nlohmann::json::object(), space), Error);
}

TEST(TuningSpace, NeighboursDifferInOneParameterAndStayInTheSpace) {
  TuningSpace space = grid({3, 3}, [](const Point& point) { return point != Point{1, 0}; });
  PointId corner = *space.find({0, 0});
  std::vector<Point> neighbours;
  for (PointId id : space.neighbours(corner))
    neighbours.push_back(space.point(id));
  EXPECT_EQ(neighbours, (std::vector<Point>{{2, 0}, {0, 1}, {0, 2}}));
  EXPECT_FALSE(space.find({1, 0}));
  EXPECT_FALSE(space.find({3, 0}));
  EXPECT_THROW(TuningSpace(space.parameters(), {{0, 0}, {0, 0}}), Error);
  EXPECT_THROW(TuningSpace(space.parameters(), {{0, 5}}), Error);
}

}  // namespace
}  // namespace kforge::tuning

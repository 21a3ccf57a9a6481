// The declared tuning space: restrictions exclude exactly the points they should, enumeration
// prunes and stops, sampling returns distinct valid points, a space of 10^12 points is declared,
// sampled and materialised without its product being built, and bad declarations are Errors.
#include "harness/tuning/constrained_space.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "harness/util/error.hpp"

namespace kforge::tuning {
namespace {

// `count` parameters p0.. with values 0..size-1 (the value equals its index).
std::vector<Parameter> parameters(size_t count, uint32_t size) {
  std::vector<Parameter> result;
  for (size_t p = 0; p < count; ++p) {
    Parameter parameter{"p" + std::to_string(p), {}};
    for (uint32_t value = 0; value < size; ++value)
      parameter.values.push_back(value);
    result.push_back(parameter);
  }
  return result;
}

// p_a + p_b <= limit, as a restriction reading a and b; counts its calls in `calls`.
Restriction sum_at_most(size_t a, size_t b, uint32_t limit, uint64_t* calls = nullptr) {
  return {"p" + std::to_string(a) + " + p" + std::to_string(b) + " <= " + std::to_string(limit),
          {a, b},
          [a, b, limit, calls](const Point& point) {
            if (calls)
              ++*calls;
            return point[a] + point[b] <= limit;
          }};
}

TEST(ConstrainedSpace, RestrictionsExcludeExactlyTheBrokenPoints) {
  // p0 + p1 <= 3 over 4 x 4 x 2: 10 of the 16 (p0, p1) pairs, times 2.
  ConstrainedSpace space(parameters(3, 4), {sum_at_most(0, 1, 3)});
  EXPECT_EQ(space.product_size(), 64u);
  std::vector<Point> visited;
  EXPECT_TRUE(space.enumerate([&](const Point& point) {
    visited.push_back(point);
    return true;
  }));
  size_t expected = 0;
  for (uint32_t a = 0; a < 4; ++a)
    for (uint32_t b = 0; b < 4; ++b)
      for (uint32_t c = 0; c < 4; ++c)
        expected += a + b <= 3;
  ASSERT_EQ(visited.size(), expected);
  for (const Point& point : visited) {
    EXPECT_LE(point[0] + point[1], 3u);
    EXPECT_TRUE(space.valid(point));
  }
  EXPECT_FALSE(space.valid({3, 1, 0}));
  EXPECT_TRUE(space.valid({2, 1, 0}));
  EXPECT_FALSE(space.valid({4, 0, 0}));  // out of range
  EXPECT_FALSE(space.valid({0, 0}));     // too short
  // In product order, first parameter outermost.
  EXPECT_EQ(visited.front(), (Point{0, 0, 0}));
  EXPECT_EQ(visited[1], (Point{0, 0, 1}));
  EXPECT_EQ(visited.back(), (Point{3, 0, 3}));
  TuningSpace materialised = space.materialise(1000, 0);
  EXPECT_EQ(materialised.size(), expected);
  EXPECT_EQ(materialised.point(0), visited.front());
}

TEST(ConstrainedSpace, EnumerationPrunesASubProductAtTheFirstBrokenRestriction) {
  // p0 == 0 alone is valid: the restriction over p0 is checked before p1..p5 are chosen, so
  // enumeration never walks the 9 * 10^5 points under p0 = 1..9.
  uint64_t calls = 0;
  Restriction first_is_zero{"p0 == 0", {0}, [&calls](const Point& point) {
                              ++calls;
                              return point[0] == 0;
                            }};
  ConstrainedSpace space(parameters(6, 10), {first_is_zero});
  uint64_t visited = 0;
  EXPECT_TRUE(space.enumerate([&](const Point&) {
    ++visited;
    return true;
  }));
  EXPECT_EQ(visited, 100000u);
  EXPECT_EQ(calls, 10u);
}

TEST(ConstrainedSpace, EnumerationStopsWhenTheVisitorSaysSoOrTheStepsRunOut) {
  ConstrainedSpace space(parameters(4, 10), {});
  uint64_t visited = 0;
  EXPECT_FALSE(space.enumerate([&](const Point&) { return ++visited < 5; }));
  EXPECT_EQ(visited, 5u);
  visited = 0;
  EXPECT_FALSE(space.enumerate(
      [&](const Point&) {
        ++visited;
        return true;
      },
      100));
  EXPECT_LT(visited, 100u);
}

TEST(ConstrainedSpace, ATrillionPointSpaceIsDeclaredSampledAndMaterialisedLazily) {
  // 12 parameters of 10 values: 10^12 points, about half of them valid. Materialising them would
  // take terabytes; declaring, sampling and materialising a sample must take well under a second.
  uint64_t calls = 0;
  auto started = std::chrono::steady_clock::now();
  ConstrainedSpace space(parameters(12, 10), {sum_at_most(3, 11, 9, &calls)});
  EXPECT_EQ(space.product_size(), 1000000000000u);
  Random random(7);
  std::vector<Point> sample = space.sample(random, 2000, 1000000);
  ASSERT_EQ(sample.size(), 2000u);
  std::set<Point> distinct(sample.begin(), sample.end());
  EXPECT_EQ(distinct.size(), sample.size());
  for (const Point& point : sample) {
    ASSERT_EQ(point.size(), 12u);
    EXPECT_LE(point[3] + point[11], 9u);
    EXPECT_TRUE(space.valid(point));
  }
  // Uniform over the valid points: every value of an unrestricted parameter turns up.
  std::set<uint32_t> values;
  for (const Point& point : sample)
    values.insert(point[0]);
  EXPECT_EQ(values.size(), 10u);

  TuningSpace materialised = space.materialise(5000, 11);
  EXPECT_EQ(materialised.size(), 5000u);
  for (PointId id = 0; id < materialised.size(); ++id)
    ASSERT_TRUE(space.valid(materialised.point(id)));
  // The same seed gives the same points in the same order (a resumed run's point ids).
  TuningSpace again = space.materialise(5000, 11);
  for (PointId id = 0; id < materialised.size(); ++id)
    ASSERT_EQ(again.point(id), materialised.point(id));
  EXPECT_LT(calls, 100000000u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(ConstrainedSpace, SamplingAPrunedHugeSpaceFindsTheRareValidPoints) {
  // p0 == p1 == p2 == 0 leaves 10^9 of 10^12 points: rejection still finds them, each draw
  // ending at the first restriction it breaks.
  std::vector<Restriction> restrictions;
  for (size_t p = 0; p < 3; ++p)
    restrictions.push_back({"p" + std::to_string(p) + " == 0", {p}, [p](const Point& point) {
                              return point[p] == 0;
                            }});
  ConstrainedSpace space(parameters(12, 10), restrictions);
  Random random(1);
  std::vector<Point> sample = space.sample(random, 50, 200000);
  EXPECT_EQ(sample.size(), 50u);
  for (const Point& point : sample)
    EXPECT_TRUE(point[0] == 0 && point[1] == 0 && point[2] == 0);
}

TEST(ConstrainedSpace, ARestrictionThatExcludesEverythingIsAnErrorNamingIt) {
  ConstrainedSpace small(
      parameters(2, 4),
      {sum_at_most(0, 1, 9), {"p0 > 7", {0}, [](const Point& point) { return point[0] > 7; }}});
  try {
    small.materialise(100, 0);
    FAIL() << "expected an Error";
  } catch (const Error& error) {
    EXPECT_NE(error.where().find("p0 > 7"), std::string::npos) << error.where();
    EXPECT_NE(std::string(error.what()).find("no point"), std::string::npos);
  }
  ConstrainedSpace huge(parameters(12, 10), {{"never", {5}, [](const Point&) { return false; }}});
  EXPECT_THROW(huge.materialise(100, 0), Error);
  ConstrainedSpace constant(parameters(2, 2), {{"0", {}, [](const Point&) { return false; }}});
  EXPECT_THROW(constant.materialise(100, 0), Error);
}

TEST(ConstrainedSpace, BadDeclarationsAreErrors) {
  std::vector<Parameter> empty = parameters(1, 0);
  EXPECT_THROW(ConstrainedSpace(empty, {}), Error);
  std::vector<Parameter> twice = parameters(2, 2);
  twice[1].name = "p0";
  EXPECT_THROW(ConstrainedSpace(twice, {}), Error);
  EXPECT_THROW(ConstrainedSpace(parameters(2, 2), {sum_at_most(0, 5, 1)}), Error);
  EXPECT_THROW(ConstrainedSpace(parameters(2, 2), {{"no predicate", {0}, nullptr}}), Error);
  EXPECT_THROW(ConstrainedSpace(parameters(20, 10), {}), Error);  // 10^20 > 2^64
}

}  // namespace
}  // namespace kforge::tuning

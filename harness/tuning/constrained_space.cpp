#include "harness/tuning/constrained_space.hpp"

#include <algorithm>
#include <limits>
#include <set>
#include <unordered_set>

#include "harness/util/error.hpp"

namespace kforge::tuning {

namespace {

// Enumeration tries at most this many partial and whole points per point `materialise` may
// keep before it samples instead: a space that is mostly valid, or pruned early, is listed
// whole; one where valid points are rare in a huge product is sampled.
constexpr uint64_t kStepsPerPoint = 16;
// Rejection draws per point wanted, before sampling settles for what it found.
constexpr uint64_t kDrawsPerPoint = 256;

}  // namespace

ConstrainedSpace::ConstrainedSpace(std::vector<Parameter> parameters,
                                   std::vector<Restriction> restrictions)
    : parameters_(std::move(parameters)),
      restrictions_(std::move(restrictions)),
      checked_at_(parameters_.size()) {
  std::set<std::string> names;
  for (const Parameter& parameter : parameters_) {
    if (parameter.values.empty())
      throw Error("a tuning parameter has no values", parameter.name);
    if (!names.insert(parameter.name).second)
      throw Error("a tuning parameter is declared twice", parameter.name);
    if (product_size_ > std::numeric_limits<uint64_t>::max() / parameter.values.size())
      throw Error("the tuning space has 2^64 points or more", parameter.name);
    product_size_ *= parameter.values.size();
  }
  for (size_t index = 0; index < restrictions_.size(); ++index) {
    const Restriction& restriction = restrictions_[index];
    if (!restriction.holds)
      throw Error("a tuning restriction has no predicate", restriction.text);
    size_t last = 0;
    for (size_t read : restriction.reads) {
      if (read >= parameters_.size())
        throw Error("a tuning restriction reads a parameter the space does not have",
                    restriction.text);
      last = std::max(last, read);
    }
    if (restriction.reads.empty())
      constant_.push_back(index);
    else
      checked_at_[last].push_back(index);
  }
}

bool ConstrainedSpace::valid(const Point& point) const {
  if (point.size() != parameters_.size())
    return false;
  for (size_t p = 0; p < point.size(); ++p)
    if (point[p] >= parameters_[p].values.size())
      return false;
  return std::all_of(restrictions_.begin(), restrictions_.end(),
                     [&](const Restriction& restriction) { return restriction.holds(point); });
}

const Restriction* ConstrainedSpace::broken_restriction(const Point& point) const {
  for (const Restriction& restriction : restrictions_)
    if (!restriction.holds(point))
      return &restriction;
  return nullptr;
}

bool ConstrainedSpace::enumerate(const std::function<bool(const Point&)>& visit,
                                 uint64_t max_steps) const {
  Point point(parameters_.size(), 0);
  for (size_t index : constant_)
    if (!restrictions_[index].holds(point))
      return true;  // no valid point at all: every one was "visited"
  if (parameters_.empty())
    return visit(point);
  uint64_t steps = 0;
  // Depth-first over the product, parameter 0 outermost, without recursion: `depth` is the
  // parameter being chosen, point[depth] its next value to try.
  size_t depth = 0;
  point[0] = 0;
  while (true) {
    if (point[depth] >= parameters_[depth].values.size()) {
      if (depth == 0)
        return true;
      point[depth] = 0;
      ++point[--depth];
      continue;
    }
    if (++steps > max_steps)
      return false;
    bool holds = std::all_of(checked_at_[depth].begin(), checked_at_[depth].end(),
                             [&](size_t index) { return restrictions_[index].holds(point); });
    if (!holds) {
      ++point[depth];
      continue;
    }
    if (depth + 1 == parameters_.size()) {
      if (!visit(point))
        return false;
      ++point[depth];
      continue;
    }
    point[++depth] = 0;
  }
}

std::vector<Point> ConstrainedSpace::sample(Random& random, size_t count,
                                            uint64_t max_draws) const {
  std::vector<Point> found;
  Point point(parameters_.size(), 0);
  for (size_t index : constant_)
    if (!restrictions_[index].holds(point))
      return found;
  std::unordered_set<uint64_t> seen;
  for (uint64_t draw = 0; draw < max_draws && found.size() < count; ++draw) {
    bool holds = true;
    uint64_t key = 0;
    for (size_t depth = 0; depth < parameters_.size() && holds; ++depth) {
      point[depth] = static_cast<uint32_t>(random.below(parameters_[depth].values.size()));
      key = key * parameters_[depth].values.size() + point[depth];
      holds = std::all_of(checked_at_[depth].begin(), checked_at_[depth].end(),
                          [&](size_t index) { return restrictions_[index].holds(point); });
    }
    if (holds && seen.insert(key).second)
      found.push_back(point);
  }
  return found;
}

TuningSpace ConstrainedSpace::materialise(size_t limit, uint64_t seed) const {
  std::vector<Point> points;
  const uint64_t max_steps = std::max<uint64_t>(limit, 1) * kStepsPerPoint;
  bool whole = enumerate(
      [&](const Point& point) {
        if (points.size() >= limit)
          return false;
        points.push_back(point);
        return true;
      },
      max_steps);
  if (!whole) {
    Random random(seed);
    points = sample(random, limit, std::max<uint64_t>(limit, 1) * kDrawsPerPoint);
  }
  if (points.empty()) {
    std::string texts;
    for (const Restriction& restriction : restrictions_)
      texts += (texts.empty() ? "" : "; ") + restriction.text;
    throw Error(
        std::string("no point of the tuning space satisfies its constraints") +
            (whole ? "" : " (none in " + std::to_string(limit * kDrawsPerPoint) + " random draws)"),
        texts);
  }
  return TuningSpace(parameters_, std::move(points));
}

}  // namespace kforge::tuning

// A tuning space as a kernel declares it: parameters with their values and restrictions over
// them (a plan's `defines` and `constraints`), whose valid points are found only when asked
// for. Nothing here builds the Cartesian product: a space of 10^12 points costs its parameter
// lists until it is enumerated or sampled. `materialise` turns it into the TuningSpace the
// strategies search (space.hpp): every valid point where there are few enough to list, else a
// uniform sample of them.
//
// A restriction is a predicate the caller supplies (for a candidate, its constraints evaluated
// at every shape of the task: harness/autotune/), with the parameters it reads; it is checked as
// soon as those are chosen, so a restriction on the first parameters prunes whole sub-products
// during enumeration, as ATF's constraint-aware space generation does. Points are value indices
// (space.hpp's Point); what a value means is the caller's business.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "harness/tuning/space.hpp"
#include "harness/tuning/strategy.hpp"

namespace kforge::tuning {

struct Restriction {
  std::string text;           // how it was written, for messages
  std::vector<size_t> reads;  // the parameters (indices) it reads
  // Whether it holds; only the parameters in `reads` are meaningful in `point` when it is called.
  std::function<bool(const Point& point)> holds;
};

class ConstrainedSpace {
 public:
  // A parameter without values, two with one name, a restriction reading a parameter that does
  // not exist or without a predicate, or a product of 2^64 points or more, is an Error naming it.
  ConstrainedSpace(std::vector<Parameter> parameters, std::vector<Restriction> restrictions);

  const std::vector<Parameter>& parameters() const { return parameters_; }
  const std::vector<Restriction>& restrictions() const { return restrictions_; }
  // Points of the product, valid or not.
  uint64_t product_size() const { return product_size_; }

  // Whether `point` (one in-range value index per parameter) satisfies every restriction.
  bool valid(const Point& point) const;
  // The first restriction `point` (one in-range value index per parameter) breaks, in the order
  // they were declared; nothing when it satisfies them all.
  const Restriction* broken_restriction(const Point& point) const;

  // Visits the valid points in product order (the first parameter outermost), pruning a
  // sub-product as soon as a restriction over its chosen parameters fails, until `visit` returns
  // false or `max_steps` partial and whole points have been tried. Returns whether every point
  // was visited.
  bool enumerate(const std::function<bool(const Point&)>& visit,
                 uint64_t max_steps = UINT64_MAX) const;

  // Up to `count` distinct valid points drawn uniformly from the product by rejection (each
  // draw stops at the first restriction it breaks), in the order found; fewer when `max_draws`
  // draws are spent first.
  std::vector<Point> sample(Random& random, size_t count, uint64_t max_draws) const;

  // The space the strategies search: every valid point, in product order, where enumeration
  // finds at most `limit` of them within a bounded number of steps; else `limit` points sampled
  // with `seed` (fewer where the restrictions reject almost every draw). The same space and
  // seed give the same points in the same order, so a run resumes on the same point ids.
  // No valid point found is an Error naming the restrictions.
  TuningSpace materialise(size_t limit, uint64_t seed) const;

 private:
  std::vector<Parameter> parameters_;
  std::vector<Restriction> restrictions_;
  uint64_t product_size_ = 1;
  // The restrictions to check once parameter d is chosen (the last parameter they read is d);
  // constant restrictions (reading nothing) are checked before anything is chosen.
  std::vector<std::vector<size_t>> checked_at_;
  std::vector<size_t> constant_;
};

}  // namespace kforge::tuning

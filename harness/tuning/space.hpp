// A tuning space: named parameters, each with its list of values, and the points of their
// product that are valid. Strategies see points as value indices (one per parameter) and as
// point ids (positions in the list of valid points); they never see what a value means.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace kforge::tuning {

struct Parameter {
  std::string name;
  std::vector<nlohmann::json> values;  // in the order the space declares them
};

// One value index per parameter, in the space's parameter order.
using Point = std::vector<uint32_t>;
using PointId = size_t;

class TuningSpace {
 public:
  // `points` are the valid points (a recorded space: those present in the file); a point whose
  // value index is out of range, or that appears twice, is an Error naming it.
  TuningSpace(std::vector<Parameter> parameters, std::vector<Point> points);

  const std::vector<Parameter>& parameters() const { return parameters_; }
  size_t size() const { return points_.size(); }
  const Point& point(PointId id) const { return points_[id]; }

  // The validity predicate: the id of `point` when it is in the space.
  std::optional<PointId> find(const Point& point) const;

  // The valid points that differ from `id` in exactly one parameter (any other value of it),
  // in parameter then value order.
  std::vector<PointId> neighbours(PointId id) const;

  // The point as JSON: {name: value, ...}, for reports and exports.
  nlohmann::json describe(PointId id) const;

 private:
  uint64_t key(const Point& point) const;

  std::vector<Parameter> parameters_;
  std::vector<Point> points_;
  std::vector<uint64_t> strides_;  // mixed-radix place value of each parameter's index
  std::unordered_map<uint64_t, PointId> ids_;
};

}  // namespace kforge::tuning

#include "harness/tuning/space.hpp"

#include <limits>

#include "harness/util/error.hpp"

namespace kforge::tuning {

TuningSpace::TuningSpace(std::vector<Parameter> parameters, std::vector<Point> points)
    : parameters_(std::move(parameters)), points_(std::move(points)) {
  uint64_t place = 1;
  for (const Parameter& parameter : parameters_) {
    if (parameter.values.empty())
      throw Error("a tuning parameter has no values", parameter.name);
    strides_.push_back(place);
    if (place > std::numeric_limits<uint64_t>::max() / parameter.values.size())
      throw Error("the tuning space has more than 2^64 points", parameter.name);
    place *= parameter.values.size();
  }
  ids_.reserve(points_.size());
  for (PointId id = 0; id < points_.size(); ++id) {
    const Point& point = points_[id];
    if (point.size() != parameters_.size())
      throw Error("a point has " + std::to_string(point.size()) + " values for " +
                      std::to_string(parameters_.size()) + " parameters",
                  "point " + std::to_string(id));
    for (size_t p = 0; p < point.size(); ++p)
      if (point[p] >= parameters_[p].values.size())
        throw Error("a point's value index is out of range",
                    "point " + std::to_string(id) + ", " + parameters_[p].name);
    if (!ids_.emplace(key(point), id).second)
      throw Error("a point appears twice in the tuning space", describe(id).dump());
  }
}

uint64_t TuningSpace::key(const Point& point) const {
  uint64_t key = 0;
  for (size_t p = 0; p < point.size(); ++p)
    key += point[p] * strides_[p];
  return key;
}

std::optional<PointId> TuningSpace::find(const Point& point) const {
  if (point.size() != parameters_.size())
    return std::nullopt;
  for (size_t p = 0; p < point.size(); ++p)
    if (point[p] >= parameters_[p].values.size())
      return std::nullopt;
  auto found = ids_.find(key(point));
  if (found == ids_.end())
    return std::nullopt;
  return found->second;
}

std::vector<PointId> TuningSpace::neighbours(PointId id) const {
  std::vector<PointId> result;
  Point point = points_[id];
  for (size_t p = 0; p < point.size(); ++p) {
    uint32_t own = point[p];
    for (uint32_t value = 0; value < parameters_[p].values.size(); ++value) {
      if (value == own)
        continue;
      point[p] = value;
      if (std::optional<PointId> neighbour = find(point))
        result.push_back(*neighbour);
    }
    point[p] = own;
  }
  return result;
}

nlohmann::json TuningSpace::describe(PointId id) const {
  nlohmann::json out = nlohmann::json::object();
  for (size_t p = 0; p < parameters_.size(); ++p)
    out[parameters_[p].name] = parameters_[p].values[points_[id][p]];
  return out;
}

}  // namespace kforge::tuning

// A tree-structured Parzen estimator (Bergstra et al. 2011), the model-based strategy. After 10
// random points, the points seen are split into the good (the fastest ceil(10%), at most 25:
// Optuna's default rule) and the rest, failed points always among the rest. Each group gets a
// density per parameter: a Parzen window over value positions (a Gaussian kernel one position
// wide for numeric values, which are ordered; one value alone for others) plus one uniform
// pseudo-observation. The next point is the untold candidate with the largest ratio of good to
// rest density, l(x) / g(x), the expected-improvement criterion of TPE. Candidates are 48 points
// drawn from the good density (kept when they are in the space) and 64 uniformly random untold
// points; a third of all proposals are uniformly random instead (BOHB's default).
#include <algorithm>
#include <cmath>

#include "harness/tuning/strategy.hpp"

namespace kforge::tuning {
namespace {

constexpr size_t kStartupPoints = 10;
constexpr size_t kGoodMaximum = 25;
constexpr double kGoodFraction = 0.10;
constexpr int kModelSamples = 48;
constexpr int kUniformSamples = 64;
// BOHB's share of uniformly random proposals (Falkner et al. 2018), which keeps the model from
// settling on one region it has over-fitted.
constexpr double kRandomFraction = 1.0 / 3;

class TreeParzen final : public Strategy {
 public:
  TreeParzen(const TuningSpace& space, StrategyOptions options) : Strategy(space, "tpe", options) {
    for (const Parameter& parameter : space.parameters()) {
      bool numeric = std::all_of(parameter.values.begin(), parameter.values.end(),
                                 [](const nlohmann::json& value) { return value.is_number(); });
      size_t count = parameter.values.size();
      std::vector<double> kernel(count * count, 0);
      for (size_t i = 0; i < count; ++i) {
        double total = 0;
        for (size_t j = 0; j < count; ++j) {
          double distance = static_cast<double>(i) - static_cast<double>(j);
          kernel[i * count + j] = numeric ? std::exp(-0.5 * distance * distance) : (i == j);
          total += kernel[i * count + j];
        }
        for (size_t j = 0; j < count; ++j)
          kernel[i * count + j] /= total;  // each observation weighs one
      }
      kernels_.push_back(std::move(kernel));
    }
  }

 protected:
  std::optional<PointId> propose() override {
    const std::vector<PointId>& seen = ranked_;
    size_t succeeded = std::count_if(seen.begin(), seen.end(),
                                     [this](PointId point) { return std::isfinite(cost(point)); });
    if (seen.size() < kStartupPoints || succeeded == 0 || random_.unit() < kRandomFraction)
      return random_untold();
    size_t good_count = std::min(
        {static_cast<size_t>(std::ceil(kGoodFraction * seen.size())), kGoodMaximum, succeeded});
    std::vector<std::vector<double>> good = densities(seen, 0, good_count);
    std::vector<std::vector<double>> rest = densities(seen, good_count, seen.size());

    std::vector<PointId> candidates;
    for (int draw = 0; draw < kModelSamples; ++draw) {
      Point point(space_.parameters().size());
      for (size_t p = 0; p < point.size(); ++p)
        point[p] = sample(good[p]);
      if (std::optional<PointId> id = space_.find(point); id && !told(*id))
        candidates.push_back(*id);
    }
    for (int draw = 0; draw < kUniformSamples; ++draw)
      if (std::optional<PointId> id = random_untold())
        candidates.push_back(*id);
    if (candidates.empty())
      return random_untold();

    std::vector<std::vector<double>> ratio = good;  // log l(x) - log g(x), per value
    for (size_t p = 0; p < ratio.size(); ++p)
      for (size_t value = 0; value < ratio[p].size(); ++value)
        ratio[p][value] = std::log(good[p][value]) - std::log(rest[p][value]);
    PointId chosen = candidates.front();
    double chosen_score = -INFINITY;
    for (PointId candidate : candidates) {
      double score = 0;
      const Point& point = space_.point(candidate);
      for (size_t p = 0; p < point.size(); ++p)
        score += ratio[p][point[p]];
      if (score > chosen_score) {
        chosen = candidate;
        chosen_score = score;
      }
    }
    return chosen;
  }

  // Every point seen, fastest first (failed last), in the order told among equals.
  void observe(PointId point, Outcome, bool) override {
    auto position = std::upper_bound(ranked_.begin(), ranked_.end(), point,
                                     [this](PointId a, PointId b) { return cost(a) < cost(b); });
    ranked_.insert(position, point);
  }

 private:
  // Per parameter, the normalised density of each value from the points seen[begin, end).
  std::vector<std::vector<double>> densities(const std::vector<PointId>& seen, size_t begin,
                                             size_t end) const {
    std::vector<std::vector<double>> result;
    for (size_t p = 0; p < space_.parameters().size(); ++p) {
      size_t count = space_.parameters()[p].values.size();
      std::vector<double> density(count, 1.0 / count);  // the uniform pseudo-observation
      for (size_t i = begin; i < end; ++i) {
        const double* window = &kernels_[p][space_.point(seen[i])[p] * count];
        for (size_t j = 0; j < count; ++j)
          density[j] += window[j];
      }
      double sum = 0;
      for (double weight : density)
        sum += weight;
      for (double& weight : density)
        weight /= sum;
      result.push_back(std::move(density));
    }
    return result;
  }

  uint32_t sample(const std::vector<double>& density) {
    double draw = random_.unit();
    for (uint32_t value = 0; value + 1 < density.size(); ++value) {
      draw -= density[value];
      if (draw < 0)
        return value;
    }
    return static_cast<uint32_t>(density.size() - 1);
  }

  std::vector<PointId> ranked_;
  std::vector<std::vector<double>> kernels_;  // per parameter, count x count window weights
};

}  // namespace

std::unique_ptr<Strategy> make_tree_parzen(const TuningSpace& space, StrategyOptions options) {
  return std::make_unique<TreeParzen>(space, options);
}

}  // namespace kforge::tuning

#include "harness/nightly/report_summary.hpp"

#include <algorithm>
#include <optional>

namespace kforge::nightly {
namespace {

// after / before, the smaller the better; nullopt without a time before.
std::optional<double> time_ratio(const Improvement& improvement) {
  if (!improvement.median_us_before || !(*improvement.median_us_before > 0))
    return std::nullopt;
  return improvement.median_us_after / *improvement.median_us_before;
}

}  // namespace

NightCounts count_night(const NightReport& report) {
  NightCounts counts;
  counts.regressions = report.regressions.size();
  for (const Improvement& improvement : report.improvements)
    ++(improvement.promoted ? counts.promotions : counts.improvements);
  counts.failures = report.failures.size();
  counts.environment_changes = changed_environment(report).size();
  return counts;
}

std::string counted(size_t count, const std::string& singular, const std::string& plural) {
  if (count == 0)
    return "no " + singular;
  return std::to_string(count) + " " + (count == 1 ? singular : plural);
}

std::string night_headline(const NightReport& report) {
  NightCounts counts = count_night(report);
  std::string line = counted(counts.regressions, "regression", "regressions");
  if (counts.promotions > 0)
    line += ", " + counted(counts.promotions, "promotion", "promotions");
  if (counts.improvements > 0)
    line += ", " + counted(counts.improvements, "improvement", "improvements");
  if (counts.failures > 0)
    line += ", " + counted(counts.failures, "failure", "failures");
  return line;
}

std::vector<Improvement> improvements_in_order(const NightReport& report) {
  std::vector<Improvement> ordered = report.improvements;
  std::stable_sort(ordered.begin(), ordered.end(), [](const Improvement& a, const Improvement& b) {
    if (a.promoted != b.promoted)
      return a.promoted;
    std::optional<double> ratio_a = time_ratio(a), ratio_b = time_ratio(b);
    if (ratio_a.has_value() != ratio_b.has_value())
      return ratio_a.has_value();
    return ratio_a && *ratio_a < *ratio_b;
  });
  return ordered;
}

std::vector<EnvironmentChange> changed_environment(const NightReport& report) {
  std::vector<EnvironmentChange> changed;
  for (const EnvironmentChange& entry : report.environment)
    if (!entry.before.empty() && entry.before != entry.after)
      changed.push_back(entry);
  return changed;
}

double night_seconds(const NightReport& report) {
  double seconds = 0;
  for (const NightStep& step : report.steps)
    seconds += step.seconds;
  return seconds;
}

}  // namespace kforge::nightly

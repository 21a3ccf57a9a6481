// What a reader takes in first, the same on the page, in the Markdown summary and in
// `kforge nightly report`'s listing: the night's counts, its one-line headline, and the order
// in which improvements are shown.
#pragma once

#include <string>
#include <vector>

#include "harness/nightly/night_report.hpp"

namespace kforge::nightly {

struct NightCounts {
  size_t regressions = 0;
  size_t promotions = 0;
  size_t improvements = 0;  // faster but not promoted
  size_t failures = 0;
  size_t environment_changes = 0;
};
NightCounts count_night(const NightReport& report);

// "2 regressions, 1 promotion, 3 improvements, 1 failure" or "no regression, ..."; regressions
// always, the others where there are any.
std::string night_headline(const NightReport& report);

// "1 regression", "2 regressions", "no regression".
std::string counted(size_t count, const std::string& singular, const std::string& plural);

// Promotions first, then the largest gain in time first; those without a time before last.
std::vector<Improvement> improvements_in_order(const NightReport& report);

// The environment entries whose value changed since last night. An empty `before` is a key with
// no value last night (the first night, or a key new tonight): not counted as a change.
std::vector<EnvironmentChange> changed_environment(const NightReport& report);

// The sum of the steps' times.
double night_seconds(const NightReport& report);

}  // namespace kforge::nightly

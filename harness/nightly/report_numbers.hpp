// How the report writes its numbers, the same on the page, in the summary and in the CLI's
// listing: times with a unit chosen by size and three significant digits, speedups as "2.41x",
// changes as signed percentages, token counts with thousands separators, costs in dollars.
// A missing number is written as kMissing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace kforge::nightly {

inline constexpr const char* kMissing = "-";

// A kernel's time: "812 ns", "12.3 us", "1.25 ms", "2.50 s".
std::string format_microseconds(std::optional<double> microseconds);
// A speedup (a baseline's time over the kernel's): "0.87x", "2.41x", "31.2x", "140x".
std::string format_speedup(std::optional<double> speedup);
// The change from `before` to `after` as a signed percentage of `before`: "+26.5%", "-18.3%",
// "+0.0%"; kMissing when either is missing or `before` is not positive.
std::string format_change(std::optional<double> before, std::optional<double> after);
// "12,345".
std::string format_count(int64_t count);
// "$0.42", "$12.30"; under a cent but above zero, "$0.0042".
std::string format_cost(double dollars);
// A duration: "12.3 s", "3m 05s", "1h 02m".
std::string format_seconds(double seconds);
// A night's id as a plot's axis shows it: the engine's "2026-12-03T02-00-00Z" (and
// "...Z-2", a second night begun in the same second) as "2026-12-03 02:00" (and
// "2026-12-03 02:00 #2"); any other id as it is.
std::string format_night_label(const std::string& night);

}  // namespace kforge::nightly

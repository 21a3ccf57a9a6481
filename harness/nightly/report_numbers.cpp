#include "harness/nightly/report_numbers.hpp"

#include <cmath>
#include <regex>

#include "harness/util/formatted.hpp"

namespace kforge::nightly {
namespace {

// `value` with three significant digits and no exponent, for values from 0.001 to 999.5.
std::string three_digits(double value) {
  double magnitude = std::fabs(value);
  if (magnitude >= 99.95)
    return formatted("%.0f", value);
  if (magnitude >= 9.995)
    return formatted("%.1f", value);
  if (magnitude >= 0.9995 || magnitude == 0)
    return formatted("%.2f", value);
  return formatted("%.3g", value);
}

}  // namespace

std::string format_microseconds(std::optional<double> microseconds) {
  if (!microseconds || !std::isfinite(*microseconds))
    return kMissing;
  double value = *microseconds;
  double magnitude = std::fabs(value);
  if (magnitude != 0 && magnitude < 0.9995)
    return three_digits(value * 1e3) + " ns";
  if (magnitude < 999.5)
    return three_digits(value) + " us";
  if (magnitude < 999.5e3)
    return three_digits(value / 1e3) + " ms";
  return three_digits(value / 1e6) + " s";
}

std::string format_speedup(std::optional<double> speedup) {
  if (!speedup || !std::isfinite(*speedup))
    return kMissing;
  return three_digits(*speedup) + "x";
}

std::string format_change(std::optional<double> before, std::optional<double> after) {
  if (!before || !after || !(*before > 0) || !std::isfinite(*after))
    return kMissing;
  return formatted("%+.1f%%", (*after - *before) / *before * 100);
}

std::string format_count(int64_t count) {
  // Through the unsigned magnitude, so that the most negative count has one too.
  uint64_t magnitude = count < 0 ? 0 - static_cast<uint64_t>(count) : static_cast<uint64_t>(count);
  std::string digits = std::to_string(magnitude);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return count < 0 ? "-" + out : out;
}

std::string format_cost(double dollars) {
  if (!std::isfinite(dollars))
    return kMissing;
  if (dollars > 0 && dollars < 0.005)
    return formatted("$%.4f", dollars);
  return formatted("$%.2f", dollars);
}

std::string format_seconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0)
    return kMissing;
  if (seconds < 59.95)
    return formatted("%.1f s", seconds);
  auto whole = static_cast<int64_t>(std::llround(seconds));
  if (whole < 3600)
    return formatted("%lldm %02llds", static_cast<long long>(whole / 60),
                     static_cast<long long>(whole % 60));
  return formatted("%lldh %02lldm", static_cast<long long>(whole / 3600),
                   static_cast<long long>(whole % 3600 / 60));
}

std::string format_night_label(const std::string& night) {
  static const std::regex kEngineId(
      "([0-9]{4}-[0-9]{2}-[0-9]{2})T([0-9]{2})-([0-9]{2})-[0-9]{2}(\\.[0-9]+)?Z(-([0-9]+))?");
  std::smatch parts;
  if (!std::regex_match(night, parts, kEngineId))
    return night;
  std::string label = parts[1].str() + " " + parts[2].str() + ":" + parts[3].str();
  return parts[6].matched ? label + " #" + parts[6].str() : label;
}

}  // namespace kforge::nightly

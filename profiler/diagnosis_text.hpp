// Number formatting the diagnosis's sentences share (profiler/diagnosis.cpp and the rules).
#pragma once

#include <string>

#include "harness/util/formatted.hpp"

namespace kforge::diagnosis_text {

// printf into a std::string: the one in util.
using ::kforge::formatted;

// A value with an SI prefix and a unit: 1.52e12, "B/s" -> "1.52 TB/s"; three significant digits.
std::string si(double value, const char* unit);

// A fraction as a percentage: 0.453 -> "45%" (one decimal below 10%: "4.5%").
std::string percent(double fraction);

}  // namespace kforge::diagnosis_text

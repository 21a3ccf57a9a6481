// Nsight Compute's CSV export of the raw page (`ncu --csv --page raw`), read into one CounterSet
// per profiled launch. The format, as ncu writes it: lines of its own (`==PROF== ...`) and of the
// application may come before and between the records; a header row whose first field is "ID"
// names the columns (launch details such as "Kernel Name", then one column per metric, each
// named as Nsight Compute names it, with "__" in it); a units row follows, its first field empty;
// then one row per profiled launch. Fields are quoted ("..." with "" for a quote inside);
// numbers may carry thousands separators ("1,234,567"); a value ncu could not collect is "n/a"
// or empty and is left out, as are metrics whose values are text. Values are scaled to Nsight
// Compute's base units by the units row: byte multiples (Kbyte = 1000 bytes) to bytes,
// durations to nanoseconds, rates to per second.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "profiler/diagnosis.hpp"

namespace kforge {

// Every launch in the export; throws Error naming `where` and the line for a malformed file
// (no header, an unterminated quote, a row whose field count differs from the header's).
std::vector<CounterSet> parse_ncu_raw_csv(std::string_view text, const std::string& where);

// "1,234.5" -> 1234.5, "-3e-2" -> -0.03; "n/a", "", or text that is not a number -> nothing.
std::optional<double> parse_ncu_number(std::string_view text);

// The factor that takes a value in `unit` to Nsight Compute's base unit ("Kbyte" -> 1000,
// "usecond" -> 1000 nanoseconds, "Gbyte/second" -> 1e9, "%" -> 1; a unit with no prefix -> 1).
double ncu_unit_scale(std::string_view unit);

}  // namespace kforge

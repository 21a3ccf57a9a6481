// Counters handed in from outside (`kforge profile explain FILE`): a JSON document or an Nsight
// Compute raw-page CSV export (profiler/ncu_csv.hpp), told apart by the first character.
//
// The JSON form is one object, or an array of them:
//   {"kernel": NAME, "id": ID, "metrics": {NCU_METRIC_NAME: VALUE, ...}, "flops": N, "bytes": N}
// "kernel" and "metrics" are required; "id", "flops" (the task's FLOPs) and "bytes" (the bytes the
// task must move) are optional; a metric's value is a number in Nsight Compute's base unit, or
// null for one not collected. Any other key, or a value of the wrong type, is an Error naming
// the file and the JSON path; malformed JSON is an Error naming the line and column.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "profiler/diagnosis.hpp"

namespace kforge {

std::vector<CounterSet> parse_counter_json(std::string_view text, const std::string& where);

// Reads `path` (at most 64 MiB) as JSON when its first non-blank character is `{` or `[`, else as
// an ncu raw-page CSV.
std::vector<CounterSet> read_counter_file(const std::filesystem::path& path);

}  // namespace kforge

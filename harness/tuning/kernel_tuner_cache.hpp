// Kernel Tuner's cache format (a JSON file, often gzip'd): the recorded spaces of the public
// auto-tuning benchmark hub, and what `kforge tune` writes for Kernel Tuner to read. The keys
// read: `tune_params_keys` (the parameter order), `tune_params` (each parameter's values),
// `objective` (the time's key, `time` when absent) and `cache` (one object per configuration,
// holding each parameter's value and the objective: a number, or a string such as
// `CompilationFailedConfig` for a configuration that failed). Only configurations present in
// `cache` are the space: one absent was excluded by the space's restrictions.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/tuning/space.hpp"
#include "harness/tuning/strategy.hpp"

namespace kforge::tuning {

struct RecordedSpace {
  TuningSpace space;
  std::vector<Outcome> outcomes;  // per point id; nothing for a failed configuration
  std::string objective;          // the key of the time
  nlohmann::json header;          // device_name, kernel_name, problem_size, where present
};

// Reads a cache file, gzip'd or not (told by its first bytes). A file that is not such a
// cache, or whose configurations do not fit its parameters, is an Error naming the file and
// the key; an empty space is an Error too.
RecordedSpace read_kernel_tuner_cache(const std::filesystem::path& path);

// A parsed cache document as a recorded space; errors name `where`.
RecordedSpace recorded_space_from_kernel_tuner_cache(const nlohmann::json& document,
                                                     const std::string& where);

// A recorded space from a file in either format `kforge tune --replay` reads: Kernel Tuner's
// cache or T4 results (tuning_results.hpp), gzip'd or not, told apart by their content.
RecordedSpace read_recorded_space(const std::filesystem::path& path);
// The same from a file's bytes (what the fuzz target feeds); `where` names them in errors.
RecordedSpace recorded_space_from_bytes(std::string bytes, const std::string& where);

// The cache text of the points `evaluated` (ids of `recorded`, with their outcomes), in
// Kernel Tuner's format, failed points with the time `RuntimeFailedConfig`.
std::string kernel_tuner_cache_text(const RecordedSpace& recorded,
                                    const std::vector<PointId>& evaluated);

}  // namespace kforge::tuning

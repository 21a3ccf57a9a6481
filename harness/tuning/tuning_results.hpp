// The results of a tuning run as the field's exchange formats hold them, and those formats:
// the T4 results schema (the Open Autotuning Results Schema 1.0.0 that Kernel Tuner writes and
// the autotuning-methodology tooling reads: `{"schema_version", "results": [{"timestamp",
// "configuration", "times", "invalidity", "correctness", "measurements", "objectives"}]}`) and
// Kernel Tuner's cache format (kernel_tuner_cache.hpp). Times are in milliseconds, as both
// formats have them.
//
// A failed point is written as each format expresses failure: in T4 by its `invalidity`
// (compile, runtime, timeout, correctness, constraints; `correctness` 0 for wrong results) and an
// objective measurement whose value is Kernel Tuner's failure name; in the cache by that name as
// its time (CompilationFailedConfig, RuntimeFailedConfig, InvalidConfig). Read back, every point
// without a numeric time is a failed point.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/tuning/kernel_tuner_cache.hpp"

namespace kforge::tuning {

// Why a point has no time, in T4's words (its `invalidity` enum).
enum class Invalidity { kCorrect, kCompile, kRuntime, kTimeout, kCorrectness, kConstraints };

std::string_view invalidity_name(Invalidity invalidity);  // "correct", "compile", ...
std::optional<Invalidity> invalidity_from_name(std::string_view name);
// Kernel Tuner's name for a failure, which its cache and T4 measurements hold in place of a
// time: CompilationFailedConfig (compile), InvalidConfig (constraints), RuntimeFailedConfig
// (everything else: Kernel Tuner has no names for timeouts and wrong results).
std::string_view kernel_tuner_failure_name(Invalidity invalidity);

// One evaluated point.
struct ResultEntry {
  nlohmann::json configuration = nlohmann::json::object();  // {parameter: value}
  Invalidity invalidity = Invalidity::kCorrect;
  std::optional<double> time_ms;  // the objective; correct points only
  std::vector<double> runtimes_ms;
  // Where the evaluation's time went: compiling, timing (benchmark), verifying, and the rest of
  // the evaluation (framework); and the search strategy's own time for the point (0 where it
  // was not measured, as in a replay's export).
  double compilation_ms = 0, benchmark_ms = 0, validation_ms = 0, framework_ms = 0;
  double search_algorithm_ms = 0;
  std::string timestamp;  // ISO 8601, where known
};

struct TuningResults {
  std::vector<Parameter> parameters;  // the space's parameters with all their values, in order
  std::vector<ResultEntry> results;   // in the order the points were evaluated
  std::string objective = "time";
  std::string device_name, kernel_name;
  nlohmann::json problem_size = nlohmann::json::array();
};

inline constexpr const char* kT4SchemaVersion = "1.0.0";

// The T4 results document of `results`, and its file text (bytes that are not UTF-8 replaced).
nlohmann::json t4_results_json(const TuningResults& results);
std::string t4_results_text(const TuningResults& results);
// Kernel Tuner's cache of `results`: header, `tune_params`, and one cache entry per point
// (`time`, `times`, the five timing keys Kernel Tuner's simulation mode reads, `timestamp`), with
// `cache` written last so that Kernel Tuner reads the file as a closed cache.
std::string kernel_tuner_cache_text(const TuningResults& results);

// The points `evaluated` of a recorded space (a replayed run) as results: failed points as
// runtime failures, the recording's header kept.
TuningResults tuning_results_of(const RecordedSpace& recorded,
                                const std::vector<PointId>& evaluated);

// A T4 results document as a recorded space for replay. T4 lists no parameter values: the
// parameters are the configurations' keys (every result must have the same ones), each with the
// values that occur, sorted; the objective is the first result's first `objectives` entry (`time`
// without one), a point's time its numeric measurement of that name where its invalidity is
// `correct`, else it failed. A configuration evaluated twice keeps its first result. Errors name
// `where` and the result.
RecordedSpace recorded_space_from_t4(const nlohmann::json& document, const std::string& where);

// Whether `document` is a T4 results document (an object with a `results` array) rather than
// a Kernel Tuner cache.
bool is_t4_results(const nlohmann::json& document);

}  // namespace kforge::tuning

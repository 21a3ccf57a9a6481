// `kforge tune export RUN`: a tuning run's results, read from the store, in the field's exchange
// formats (harness/tuning/tuning_results.hpp): the T4 results schema and Kernel Tuner's cache,
// so that Kernel Tuner and the autotuning-methodology tooling read kforge's runs and
// `kforge tune --replay` replays them.
//
// The points are those the run told its strategy, in order (its checkpoint), points taken from
// the store's cache included; each is written with its stored evaluation: a correct point's
// median device time as the objective and its timing samples as the runtimes (milliseconds), the
// evaluation's stage durations as the times (compile: compilation; time: benchmark; verify:
// validation; every other stage: framework) and the strategy's own time for the point (its
// ask and tell, from the checkpoint) as search_algorithm, its date as the timestamp. A point that
// is not correct is written as its verdict's failure (verdict_invalidity).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "harness/tuning/tuning_results.hpp"
#include "harness/verdict.hpp"

namespace kforge {
class Store;
}  // namespace kforge

namespace kforge::autotune {

// How T4 names a verdict's failure: compile_error is compile; plan_error (the point does not
// fit its plan's or the GPU's limits, found before anything ran) is constraints, as Kernel Tuner
// marks a configuration its device cannot take; launch and runtime errors (and `compiled`,
// where nothing ran) are runtime; timeout is timeout; incorrect and suspicious are correctness.
tuning::Invalidity verdict_invalidity(Verdict verdict);

// The results of tuning run `run_id`. Errors: no such run, a run that is not a tuning run, a
// checkpoint or stored evaluation that cannot be read.
tuning::TuningResults tuning_results_of_run(const Store& store, int64_t run_id);

// The export formats, one table: help text and errors come from it.
struct ExportFormat {
  std::string_view name;
  std::string_view summary;
};
const std::vector<ExportFormat>& export_formats();

// An Error naming the known formats when `format` is not a name of export_formats().
void check_export_format(const std::string& format);

// The file text of `results` in `format` (checked as above).
std::string export_text(const tuning::TuningResults& results, const std::string& format);

}  // namespace kforge::autotune

// What the exporters read out of a row's JSON columns. The writers of evaluations are free to
// add fields; exporters read only the ones listed here (docs/dataset-formats.md lists them for
// the writers), each optional, and never fail on a missing or malformed one.
//
//   timing:   median_us, min_us, mean_us, p10_us, p90_us, cv, span_us,
//             samples (array of numbers; only its length is exported) or sample_count
//   evidence: max_abs_error, max_rel_error, mismatch_count, first_mismatches, atol, rtol
//             (or tolerances.atol/rtol), seeds, shapes, detail
//   compile:  kernels[] (per kernel, as sandbox/compile_types.hpp writes them: registers,
//             shared_bytes, local_bytes, spill_store_bytes, spill_load_bytes; -1 where ptxas
//             reported nothing), compile_ms, log
//   environment (evaluation's, else run's): driver, cuda, nvrtc, torch, gpu_name, clocks
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "datasets/export/candidate_row.hpp"

namespace kforge::dataset {

// The column's JSON object, or an empty object when NULL, malformed or not an object.
nlohmann::json parse_object(const std::optional<std::string>& text);
nlohmann::json parse_object(const std::string& text);

struct TimingSummary {
  std::optional<double> median_us, min_us, mean_us, p10_us, p90_us, cv, span_us;
  std::optional<int64_t> sample_count;
  // The interval the true time lies in, as far as the samples say: [p10, p90] when both were
  // recorded, else median * (1 -/+ cv); nothing without either.
  std::optional<std::pair<double, double>> spread_interval() const;
};
TimingSummary timing_summary(const CandidateRow& row);

// Number or null for a key of an object (numbers stored as strings are not guessed at).
nlohmann::json number_or_null(const nlohmann::json& object, const char* key);

// The archive's flat resource columns, from the compile column's per-kernel figures: the largest
// over the candidate's kernels (registers, static shared bytes, local bytes, and spill stores
// plus spill loads), each null when no kernel reported it. A kernel whose usage line ptxas
// reported (its registers) without static shared memory uses none: ptxas prints only nonzero.
struct CompileResources {
  std::optional<int64_t> registers, shared_bytes, local_bytes, spill_bytes;
};
CompileResources compile_resources(const nlohmann::json& compile);

// The environment the evaluation recorded, completed by the run's where a key is missing.
nlohmann::json merged_environment(const CandidateRow& row);

// merged_environment over a stream of rows. Rows of one run and machine carry the same
// environment texts, so the last merge is kept and only redone when a text changes (parsing
// it for every row was a visible share of an export's time).
class EnvironmentMerger {
 public:
  const nlohmann::json& merged(const CandidateRow& row);
  // Changes whenever merged() computed a new result, so callers can keep what they derive.
  uint64_t generation() const { return generation_; }

 private:
  std::string environment_;
  std::optional<std::string> run_environment_;
  nlohmann::json merged_;
  uint64_t generation_ = 0;
};

// The row's license: the task's, else the export's default.
std::string row_license(const CandidateRow& row, const std::string& default_license);

// Short metadata carried by every single-candidate record (sft, messages, kernelbench index).
nlohmann::json row_metadata(const CandidateRow& row, const std::string& default_license);

// The user turn that asks for a kernel: the task's PyTorch program, its signature when known,
// and the candidate contract (what a kforge candidate file must be).
std::string task_prompt(const CandidateRow& row);
// The system message of chat formats.
std::string system_prompt();

// The execution feedback a loop shows after an attempt: verdict, reason, errors, speed.
std::string feedback_text(const CandidateRow& row);

}  // namespace kforge::dataset

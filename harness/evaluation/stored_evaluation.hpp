// An evaluation as the store keeps it, and the one way to read it back: the typed
// EvaluationRecord (evaluation_record.hpp) plus what only the row has (run, harness version,
// the versions it was judged under, when). Promotion, manifests, `kforge show` and the feedback
// the optimize loop tells its agents all read stored evaluations through `read_stored_evaluation`,
// so none of them picks keys out of the row's JSON columns.
//
// The row says which record version its columns hold (`evaluations.record_version`); a row of a
// version this kforge does not read is refused with an Error naming the evaluation, never
// misread. The record's parts are read as strictly as `EvaluationRecord::from_json` reads them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "datasets/records.hpp"
#include "harness/evaluation/evaluation_record.hpp"

namespace kforge {

// The versions of the tools an evaluation was judged with, besides the run's environment: kforge
// itself, its commit, NVRTC, and the architecture the evaluator was set up for.
struct HarnessBuild {
  std::string kforge, commit, nvrtc, arch;
};

struct StoredEvaluation {
  EvaluationRecord record;  // its candidate's defines and plan included
  std::optional<int64_t> run_id;
  int64_t harness_version = 0;
  HarnessBuild build;
  std::string created_at;

  // The row's `environment` column: the build's versions and, where the candidate ran on a GPU,
  // the run's environment.
  nlohmann::json versions_json() const;
};

// The evidence as the store's column (and `kforge show`) holds it: the record's evidence with the
// verdict's detail line beside it.
nlohmann::json stored_evidence_json(const EvaluationRecord& record);

// The row the store keeps for `record` (the evaluator's write): its parts in the record's JSON
// form, the record version, the current harness version and `build`.
EvaluationRow evaluation_row(const EvaluationRecord& record, std::optional<int64_t> run_id,
                             const HarnessBuild& build);

// Reads a stored row of `candidate` back into its record. Throws Error naming the evaluation on a
// row without a record version, of another record version, or whose parts are malformed.
StoredEvaluation read_stored_evaluation(const EvaluationRow& row, const CandidateRow& candidate);

// The profile the evaluator stored with evaluation `evaluation_id` (the latest, should there be
// several), read back into the worker's reply type; none where the profile stage did not run.
// Throws Error naming the profile row when it is malformed.
std::optional<ProfileReply> stored_profile_of(const Store& store, int64_t evaluation_id);

// Every evaluation of `candidate`, oldest first, each with its stored profile.
std::vector<StoredEvaluation> stored_evaluations_of(const Store& store,
                                                    const CandidateRow& candidate);

}  // namespace kforge

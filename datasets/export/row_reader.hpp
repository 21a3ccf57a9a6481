// Streams CandidateRows out of the store in one SQLite query, filters applied in SQL, in a
// deterministic order chosen by the format: rows are read one at a time and never collected,
// so an export's memory does not grow with the store.
#pragma once

#include <cstdint>
#include <functional>

#include "datasets/export/candidate_row.hpp"
#include "datasets/export/export_options.hpp"
#include "datasets/sqlite.hpp"

namespace kforge::dataset {

enum class RowOrder {
  kTaskBestFirst,   // task name; correct first; higher eager speedup; faster; candidate id
  kTaskGpuHarness,  // task; GPU; harness version; correct first; faster; candidate id (dpo)
  kTrajectory,      // task; run; GPU; iteration; candidate id (trajectories)
};

// The JSON columns an exporter splices into its output as they are (plan, defines, compile,
// stages, timing) arrive minified by SQLite's json() (one line, valid); the others are parsed
// by the exporters and arrive as stored. The timing column arrives
// without its `samples` array, whose length is in CandidateRow::timing_sample_count: samples
// are the store's to keep, an export carries their statistics.
//
// The evaluation record version (`evaluations.record_version`) whose columns the exporters read:
// harness/evaluation's kEvaluationRecordVersion, which stored_evaluation.cpp asserts is this one,
// so that a new record version does not build until the exporters read it.
inline constexpr int64_t kExportedRecordVersion = 1;

// Calls `visit` for every row that passes `filters`, in `order`. Only the latest evaluation of a
// candidate on each GPU is a row (a re-evaluation supersedes the earlier one). A row of another
// record version than kExportedRecordVersion, or of none, is an Error naming the evaluation
// (every export and `kforge dataset stats` read through here).
void read_rows(const sql::Connection& db, const Filters& filters, RowOrder order,
               const std::function<void(const CandidateRow&)>& visit);

}  // namespace kforge::dataset

// What `kforge tune` reads back from the store: the evaluations already made of one candidate
// source on one task, so that a point evaluated under the same harness, source, architecture
// and GPU is never run again (harness/autotune/). Tuned points are ordinary candidates and
// evaluations (origin `tune`, linked to their run); this is a reader over them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "datasets/store.hpp"

namespace kforge {

struct SourceEvaluationRow {
  int64_t evaluation_id = 0;
  int64_t candidate_id = 0;
  nlohmann::json defines = nlohmann::json::object();  // the candidate's define values
  std::string verdict;
  std::optional<double> device_time_us, speedup_eager;
};

// The evaluations of candidates of `task_id` whose source hashes to `source_hash`, judged under
// `harness_version` for `arch` on `gpu`, oldest first.
std::vector<SourceEvaluationRow> evaluations_of_source(const Store& store, int64_t task_id,
                                                       const std::string& source_hash,
                                                       const std::string& arch,
                                                       const std::string& gpu,
                                                       int64_t harness_version);

}  // namespace kforge

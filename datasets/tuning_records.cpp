#include "datasets/tuning_records.hpp"

namespace kforge {

std::vector<SourceEvaluationRow> evaluations_of_source(const Store& store, int64_t task_id,
                                                       const std::string& source_hash,
                                                       const std::string& arch,
                                                       const std::string& gpu,
                                                       int64_t harness_version) {
  auto query = store.db().prepare(
      "SELECT e.id, c.id, c.defines, e.verdict, e.device_time_us, e.speedup_eager FROM evaluations "
      "e "
      "JOIN candidates c ON c.id = e.candidate_id WHERE c.task_id = ? AND c.source_hash = ? "
      "AND e.arch = ? AND e.gpu = ? AND e.harness_version = ? ORDER BY e.id");
  query.bind(1, task_id).bind(2, source_hash).bind(3, arch).bind(4, gpu).bind(5, harness_version);
  std::vector<SourceEvaluationRow> rows;
  while (query.step()) {
    SourceEvaluationRow row;
    row.evaluation_id = query.integer(0);
    row.candidate_id = query.integer(1);
    row.defines = nlohmann::json::parse(query.text(2));
    row.verdict = query.text(3);
    row.device_time_us = query.optional_real(4);
    row.speedup_eager = query.optional_real(5);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace kforge

#include "datasets/records.hpp"

#include "harness/util/json_text.hpp"

namespace kforge {
namespace {

std::optional<nlohmann::json> optional_json(const sql::Statement& row, int column) {
  auto text = row.optional_text(column);
  if (!text)
    return std::nullopt;
  return nlohmann::json::parse(*text);
}

}  // namespace

int64_t insert_candidate(Store& store, const CandidateRow& candidate) {
  auto insert = store.db().prepare(
      "INSERT INTO candidates (task_id, run_id, parent_id, llm_exchange_id, iteration, origin, "
      "source, source_hash, plan, defines) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, candidate.task_id)
      .bind(2, candidate.run_id)
      .bind(3, candidate.parent_id)
      .bind(4, candidate.llm_exchange_id)
      .bind(5, candidate.iteration)
      .bind(6, candidate.origin)
      .bind(7, candidate.source)
      .bind(8, candidate.source_hash)
      .bind(9,
            candidate.plan ? std::optional<std::string>(json_text(*candidate.plan)) : std::nullopt)
      .bind(10, json_text(candidate.defines));
  insert.run();
  return store.db().last_insert_id();
}

std::optional<CandidateRow> find_candidate(const Store& store, int64_t candidate_id) {
  auto query = store.db().prepare(
      "SELECT id, task_id, run_id, parent_id, llm_exchange_id, iteration, origin, source, "
      "source_hash, plan, defines, created_at FROM candidates WHERE id = ?");
  query.bind(1, candidate_id);
  if (!query.step())
    return std::nullopt;
  CandidateRow row;
  row.id = query.integer(0);
  row.task_id = query.integer(1);
  row.run_id = query.optional_integer(2);
  row.parent_id = query.optional_integer(3);
  row.llm_exchange_id = query.optional_integer(4);
  row.iteration = query.optional_integer(5);
  row.origin = query.text(6);
  row.source = query.text(7);
  row.source_hash = query.text(8);
  row.plan = optional_json(query, 9);
  row.defines = nlohmann::json::parse(query.text(10));
  row.created_at = query.text(11);
  return row;
}

int64_t insert_evaluation(Store& store, const EvaluationRow& evaluation) {
  auto insert = store.db().prepare(
      "INSERT INTO evaluations (candidate_id, run_id, verdict, reason, evidence, arch, gpu, "
      "compile, stages, timing, device_time_us, speedup_eager, speedup_compile, "
      "harness_version, environment, record_version, node) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  auto dump = [](const std::optional<nlohmann::json>& value) {
    return value ? std::optional<std::string>(json_text(*value)) : std::nullopt;
  };
  insert.bind(1, evaluation.candidate_id)
      .bind(2, evaluation.run_id)
      .bind(3, evaluation.verdict)
      .bind(4, evaluation.reason)
      .bind(5, json_text(evaluation.evidence))
      .bind(6, evaluation.arch)
      .bind(7, evaluation.gpu)
      .bind(8, dump(evaluation.compile))
      .bind(9, json_text(evaluation.stages))
      .bind(10, dump(evaluation.timing))
      .bind(11, evaluation.device_time_us)
      .bind(12, evaluation.speedup_eager)
      .bind(13, evaluation.speedup_compile)
      .bind(14, evaluation.harness_version)
      .bind(15, json_text(evaluation.environment))
      .bind(16, evaluation.record_version)
      .bind(17, store.node());
  insert.run();
  return store.db().last_insert_id();
}

std::vector<EvaluationRow> evaluations_of(const Store& store, int64_t candidate_id) {
  auto query = store.db().prepare(
      "SELECT id, candidate_id, run_id, verdict, reason, evidence, arch, gpu, compile, stages, "
      "timing, device_time_us, speedup_eager, speedup_compile, harness_version, environment, "
      "created_at, record_version FROM evaluations WHERE candidate_id = ? ORDER BY id");
  query.bind(1, candidate_id);
  std::vector<EvaluationRow> rows;
  while (query.step()) {
    EvaluationRow row;
    row.id = query.integer(0);
    row.candidate_id = query.integer(1);
    row.run_id = query.optional_integer(2);
    row.verdict = query.text(3);
    row.reason = query.optional_text(4);
    row.evidence = nlohmann::json::parse(query.text(5));
    row.arch = query.optional_text(6);
    row.gpu = query.optional_text(7);
    row.compile = optional_json(query, 8);
    row.stages = nlohmann::json::parse(query.text(9));
    row.timing = optional_json(query, 10);
    row.device_time_us = query.optional_real(11);
    row.speedup_eager = query.optional_real(12);
    row.speedup_compile = query.optional_real(13);
    row.harness_version = query.integer(14);
    row.environment = nlohmann::json::parse(query.text(15));
    row.created_at = query.text(16);
    row.record_version = query.optional_integer(17);
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace kforge

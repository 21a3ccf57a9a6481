// Writing and reading the rows of a run: candidates and their evaluations (the runs themselves
// are in run_records.hpp). `harness_version` is the harness's (harness/evaluation/
// harness_version.hpp) and `record_version` the evaluation record's (harness/evaluation/
// evaluation_record.hpp): the store keeps them and never interprets them. Every write
// is its own transaction (or joins the caller's), so that a run killed at any moment leaves
// every finished attempt in the store.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "datasets/run_records.hpp"
#include "datasets/store.hpp"

namespace kforge {

struct CandidateRow {
  int64_t id = 0;
  int64_t task_id = 0;
  std::optional<int64_t> run_id, parent_id, llm_exchange_id, iteration;
  std::string origin;  // llm, tune, human, replay, seed, mcp
  std::string source;
  std::string source_hash;
  std::optional<nlohmann::json> plan;  // as parsed; absent when the file did not parse
  nlohmann::json defines = nlohmann::json::object();
  std::string created_at;
};

struct EvaluationRow {
  int64_t id = 0;
  int64_t candidate_id = 0;
  std::optional<int64_t> run_id;
  std::string verdict;
  std::optional<std::string> reason;
  nlohmann::json evidence = nlohmann::json::object();
  std::optional<std::string> arch, gpu;
  std::optional<nlohmann::json> compile;
  nlohmann::json stages = nlohmann::json::array();
  std::optional<nlohmann::json> timing;
  std::optional<double> device_time_us, speedup_eager, speedup_compile;
  int64_t harness_version = 0;
  // The evaluation record version whose parts the JSON columns hold; absent only in a damaged
  // row (every row has one since schema version 3, which gave older rows 1).
  std::optional<int64_t> record_version;
  nlohmann::json environment = nlohmann::json::object();
  std::string created_at;
};

int64_t insert_candidate(Store& store, const CandidateRow& candidate);
std::optional<CandidateRow> find_candidate(const Store& store, int64_t candidate_id);

int64_t insert_evaluation(Store& store, const EvaluationRow& evaluation);
std::vector<EvaluationRow> evaluations_of(const Store& store, int64_t candidate_id);

}  // namespace kforge

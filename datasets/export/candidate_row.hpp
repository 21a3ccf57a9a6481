// One exported row: a candidate with one of its evaluations (the latest on its GPU), its task,
// run and LLM exchange, as read from the store. JSON columns are kept as text here and parsed
// by the exporters that need them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "datasets/profile_records.hpp"

namespace kforge::dataset {

struct CandidateRow {
  // candidates
  int64_t candidate_id = 0;
  std::optional<int64_t> run_id;
  std::optional<int64_t> parent_id;
  std::optional<int64_t> iteration;
  std::string origin;
  std::string source;
  std::string source_hash;
  std::optional<std::string> plan;  // JSON text
  std::string defines;              // JSON text
  std::string candidate_created_at;
  // tasks
  int64_t task_id = 0;
  std::string task_name;
  std::string suite;
  int64_t task_version = 1;
  std::string task_source;
  std::string task_source_hash;
  std::optional<std::string> task_signature;  // JSON text
  std::optional<std::string> task_license;
  // evaluations
  int64_t evaluation_id = 0;
  std::string verdict;
  std::optional<std::string> reason;
  std::string evidence;  // JSON text
  std::optional<std::string> arch;
  std::optional<std::string> gpu;
  std::optional<std::string> compile;          // JSON text
  std::string stages;                          // JSON text
  std::optional<std::string> timing;           // JSON text, without "samples"
  std::optional<int64_t> timing_sample_count;  // length of timing.samples, when an array
  std::optional<double> device_time_us;
  std::optional<double> speedup_eager;
  std::optional<double> speedup_compile;
  int64_t harness_version = 0;
  std::string environment;  // JSON text (evaluation's)
  std::string evaluated_at;
  // runs
  std::optional<std::string> run_kind;
  std::optional<std::string> agent;
  std::optional<std::string> strategy;
  std::optional<std::string> run_model;
  std::optional<std::string> run_environment;  // JSON text
  // llm_exchanges
  std::optional<std::string> provider;
  std::optional<std::string> exchange_model;
  std::optional<std::string> request;   // JSON text
  std::optional<std::string> response;  // the assistant's text
  std::optional<int64_t> prompt_tokens;
  std::optional<int64_t> completion_tokens;
  std::optional<double> cost_usd;
  std::optional<int64_t> latency_ms;
  // baselines (benchmark shape, this GPU, newest)
  std::optional<double> baseline_eager_us;
  std::optional<double> baseline_compile_us;
  std::optional<std::string> baseline_torch_version;
  // profiles (the evaluation's latest; none where the profile stage did not run)
  std::optional<ProfileRow> profile;

  // The model that wrote it: the exchange's, else the run's.
  std::optional<std::string> model() const { return exchange_model ? exchange_model : run_model; }
};

}  // namespace kforge::dataset

// The figures of a dataset card, gathered while rows stream past: counts per verdict, speedup
// bucket, GPU, version, origin and split. Memory grows with the number of distinct values
// (GPUs, versions, tasks), not with rows.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "datasets/export/candidate_row.hpp"
#include "datasets/export/export_options.hpp"
#include "datasets/export/row_fields.hpp"
#include "datasets/export/splits.hpp"

namespace kforge::dataset {

struct DroppedTask {
  std::string task;
  std::string problem;
  double overlap = 0.0;
  int64_t rows = 0;
};

class DatasetStats {
 public:
  void count_read() { ++rows_read_; }
  void add_exported(const CandidateRow& row, Split split, const std::string& license);

  // The whole report; `extra` holds what the pipeline knows (format, filters, dedup,
  // decontamination, records per split) and is merged in.
  nlohmann::json to_json(const nlohmann::json& extra) const;

  // The speedup bucket a value falls in ("none" without one); buckets are fixed so that cards
  // of different exports compare.
  static std::string speedup_bucket(const std::optional<double>& speedup);

 private:
  int64_t rows_read_ = 0;
  int64_t rows_exported_ = 0;
  std::map<std::string, int64_t> verdicts_, speedup_eager_, speedup_compile_, gpus_, arches_,
      origins_, models_, harness_versions_, licenses_, suites_;
  std::map<std::string, std::map<std::string, int64_t>> versions_;  // torch -> {"2.4.0": n}
  std::array<int64_t, 3> split_rows_{};
  std::array<std::unordered_set<int64_t>, 3> split_tasks_;
  EnvironmentMerger environment_;
  uint64_t counted_generation_ = 0;
  std::vector<std::pair<const char*, std::string>> environment_versions_;  // of the last merge
};

// The README.md written next to an export, from DatasetStats::to_json's document.
std::string dataset_card(const nlohmann::json& stats);

// The same figures as plain text for `kforge dataset stats`.
std::string stats_text(const nlohmann::json& stats);

}  // namespace kforge::dataset

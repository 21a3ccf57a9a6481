// What an export (or `kforge dataset stats`) is asked to do: which rows (filters), how they are
// cleaned (deduplication, decontamination), how they are split, and under which license.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kforge::dataset {

// Row filters; each empty/unset filter passes every row. They are applied in SQL.
struct Filters {
  std::vector<std::string> verdicts;          // --verdict (any of)
  std::optional<double> min_speedup_eager;    // --min-speedup-eager
  std::optional<double> min_speedup_compile;  // --min-speedup-compile
  std::vector<std::string> gpus;              // --gpu: evaluations.gpu (any of)
  std::vector<std::string> arches;            // --arch: evaluations.arch (any of)
  std::vector<std::string> suites;            // --suite (any of)
  std::vector<std::string> tasks;             // --task: names or SQLite GLOB patterns
  std::vector<std::string> origins;           // --origin: llm, tune, human, replay, seed
  std::vector<std::string> models;            // --model: the exchange's model, else the run's
  std::optional<std::string> since;           // --since DATE: evaluations at or after
  std::optional<std::string> until;           // --until DATE: evaluations on or before (inclusive)

  // Throws Error naming the flag for unknown verdicts/origins and malformed dates.
  void validate() const;
  nlohmann::json to_json() const;  // for the dataset card
};

enum class DedupMode { kNone, kExact, kNear };

struct DedupOptions {
  DedupMode mode = DedupMode::kNear;
  int shingle_tokens = 5;  // tokens per shingle
  double near_threshold =
      0.85;  // estimated Jaccard similarity at or above which rows are duplicates
};

struct DecontaminationOptions {
  std::vector<std::filesystem::path> benchmark_dirs;  // --exclude-benchmark (repeatable)
  int ngram_tokens = 12;                              // normalised tokens per n-gram
  double threshold = 0.5;  // a task is dropped when this share of its n-grams is in one problem
};

struct SplitRatios {
  int train = 80;
  int validation = 10;
  int test = 10;
  // Parses "80,10,10" (three non-negative integers summing to 100); throws Error naming --split.
  static SplitRatios parse(const std::string& text);
};

struct ExportOptions {
  std::string format = "archive";
  Filters filters;
  bool verdicts_given = false;     // false: the format's default verdicts apply
  std::optional<DedupMode> dedup;  // unset: the format's default
  DedupOptions dedup_options;
  DecontaminationOptions decontamination;
  SplitRatios splits;
  std::string license = "unknown";  // for rows whose task records none (tasks.license)
};

std::string dedup_mode_name(DedupMode mode);
DedupMode dedup_mode_from_name(const std::string& name);  // throws Error naming --dedup

}  // namespace kforge::dataset

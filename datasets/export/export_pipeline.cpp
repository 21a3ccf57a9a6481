#include "datasets/export/export_pipeline.hpp"

#include <map>
#include <memory>
#include <unordered_map>

#include "datasets/export/dataset_stats.hpp"
#include "datasets/export/decontaminator.hpp"
#include "datasets/export/deduplicator.hpp"
#include "datasets/export/exporter.hpp"
#include "datasets/export/row_fields.hpp"
#include "harness/util/files.hpp"

namespace kforge::dataset {

using nlohmann::json;

json run_export(const sql::Connection& db, const ExportOptions& given,
                const std::optional<std::filesystem::path>& out,
                const std::function<void(const std::string&)>& progress) {
  const ExporterEntry& entry = find_exporter(given.format);
  ExportOptions options = given;
  if (!options.verdicts_given)
    options.filters.verdicts = entry.default_verdicts;
  options.filters.validate();
  DedupMode dedup_mode = options.dedup.value_or(entry.default_dedup);

  std::unique_ptr<Decontaminator> decontaminator;
  if (!options.decontamination.benchmark_dirs.empty())
    decontaminator = std::make_unique<Decontaminator>(options.decontamination);
  // Decided once per task (tasks are few next to rows); the row count grows as rows arrive.
  std::unordered_map<int64_t, size_t> task_decision;  // task id -> index in dropped, or npos
  std::vector<DroppedTask> dropped;
  int64_t dropped_rows = 0;

  Deduplicator deduplicator(dedup_mode, options.dedup_options);
  DatasetStats stats;
  RecordWriter writer(out);
  std::unique_ptr<Exporter> exporter = entry.create(writer, options);

  std::string scope;
  int64_t seen = 0;
  int64_t split_task = -1;
  Split task_split = Split::kTrain;
  read_rows(db, options.filters, entry.order, [&](const CandidateRow& row) {
    stats.count_read();
    if (progress && ++seen % 50000 == 0)
      progress("dataset: " + std::to_string(seen) + " rows read");
    if (decontaminator) {
      auto [decision, inserted] = task_decision.try_emplace(row.task_id, std::string::npos);
      if (inserted) {
        ContaminationFinding finding = decontaminator->check(row.task_source);
        if (finding.contaminated) {
          decision->second = dropped.size();
          dropped.push_back({row.task_name, finding.problem, finding.overlap, 0});
        }
      }
      if (decision->second != std::string::npos) {
        ++dropped[decision->second].rows;
        ++dropped_rows;
        return;
      }
    }
    scope = std::to_string(row.task_id);
    if (entry.dedup_per_gpu_and_harness)
      scope += "|" + row.gpu.value_or("") + "|" + std::to_string(row.harness_version);
    if (deduplicator.offer(scope, row.source) != DedupOutcome::kKept)
      return;
    // Rows of a task arrive together: its split is hashed once per task, not once per row.
    if (row.task_id != split_task) {
      split_task = row.task_id;
      task_split = split_of(row.task_name, options.splits);
    }
    Split split = task_split;
    stats.add_exported(row, split, row_license(row, options.license));
    exporter->add(row, split);
  });
  exporter->finish();
  writer.finish();

  json extra;
  extra["format"] = entry.name;
  extra["filters"] = options.filters.to_json();
  extra["default_license"] = options.license;
  extra["dedup"] = {{"mode", dedup_mode_name(dedup_mode)},
                    {"exact_duplicates", deduplicator.exact_duplicates()},
                    {"near_duplicates", deduplicator.near_duplicates()},
                    {"near_threshold", options.dedup_options.near_threshold},
                    {"shingle_tokens", options.dedup_options.shingle_tokens}};
  json benchmarks = json::array();
  for (const auto& dir : options.decontamination.benchmark_dirs)
    benchmarks.push_back(benchmark_label(dir));
  json dropped_json = json::array();
  for (const DroppedTask& task : dropped) {
    dropped_json.push_back({{"task", task.task},
                            {"problem", task.problem},
                            {"overlap", task.overlap},
                            {"rows", task.rows}});
  }
  extra["decontamination"] = {{"benchmarks", benchmarks},
                              {"problems", decontaminator ? decontaminator->problem_count() : 0},
                              {"ngram_tokens", options.decontamination.ngram_tokens},
                              {"threshold", options.decontamination.threshold},
                              {"dropped_tasks", dropped_json},
                              {"dropped_rows", dropped_rows}};
  for (Split split : kSplits)
    extra["records"][std::string(split_name(split))] = writer.records(split);
  extra["splits"]["ratios"] = std::to_string(options.splits.train) + "," +
                              std::to_string(options.splits.validation) + "," +
                              std::to_string(options.splits.test);
  json report = stats.to_json(extra);
  if (out)
    files::write_atomic(*out / "README.md", dataset_card(report));
  return report;
}

json run_export(const Store& store, const ExportOptions& options,
                const std::optional<std::filesystem::path>& out,
                const std::function<void(const std::string&)>& progress) {
  return run_export(store.db(), options, out, progress);
}

}  // namespace kforge::dataset

#include "datasets/export/dataset_stats.hpp"

#include <cstdio>

#include "datasets/export/row_fields.hpp"

namespace kforge::dataset {

using nlohmann::json;

std::string DatasetStats::speedup_bucket(const std::optional<double>& speedup) {
  if (!speedup)
    return "none";
  double value = *speedup;
  if (value < 0.5)
    return "a: <0.5x";
  if (value < 0.9)
    return "b: 0.5-0.9x";
  if (value < 1.1)
    return "c: 0.9-1.1x";
  if (value < 1.5)
    return "d: 1.1-1.5x";
  if (value < 2.0)
    return "e: 1.5-2x";
  if (value < 5.0)
    return "f: 2-5x";
  return "g: >=5x";
}

void DatasetStats::add_exported(const CandidateRow& row, Split split, const std::string& license) {
  ++rows_exported_;
  ++verdicts_[row.verdict];
  ++speedup_eager_[speedup_bucket(row.speedup_eager)];
  ++speedup_compile_[speedup_bucket(row.speedup_compile)];
  ++gpus_[row.gpu.value_or("(none)")];
  ++arches_[row.arch.value_or("(none)")];
  ++origins_[row.origin];
  ++models_[row.model().value_or("(none)")];
  ++harness_versions_[std::to_string(row.harness_version)];
  ++licenses_[license];
  ++suites_[row.suite];
  const json& environment = environment_.merged(row);
  if (environment_.generation() != counted_generation_) {
    counted_generation_ = environment_.generation();
    environment_versions_.clear();
    for (const char* key : {"torch", "cuda", "driver", "nvrtc"}) {
      auto found = environment.find(key);
      if (found != environment.end() && (found->is_string() || found->is_number()))
        environment_versions_.emplace_back(
            key, found->is_string() ? found->get<std::string>() : found->dump());
    }
  }
  for (const auto& [key, version] : environment_versions_)
    ++versions_[key][version];
  int index = static_cast<int>(split);
  ++split_rows_[index];
  split_tasks_[index].insert(row.task_id);
}

json DatasetStats::to_json(const json& extra) const {
  json document = extra;
  document["rows"] = {{"read", rows_read_}, {"exported", rows_exported_}};
  document["verdicts"] = verdicts_;
  document["speedup_eager"] = speedup_eager_;
  document["speedup_compile"] = speedup_compile_;
  document["gpus"] = gpus_;
  document["arches"] = arches_;
  document["origins"] = origins_;
  document["models"] = models_;
  document["suites"] = suites_;
  document["harness_versions"] = harness_versions_;
  document["versions"] = versions_;
  document["licenses"] = licenses_;
  for (Split split : kSplits) {
    int index = static_cast<int>(split);
    document["splits"][std::string(split_name(split))]["rows"] = split_rows_[index];
    document["splits"][std::string(split_name(split))]["tasks"] = split_tasks_[index].size();
  }
  return document;
}

namespace {

void table(std::string& out, const std::string& title, const json& counts) {
  out += "| " + title + " | rows |\n|---|---:|\n";
  if (counts.empty())
    out += "| (none) | 0 |\n";
  for (const auto& [key, value] : counts.items())
    out += "| " + key + " | " + value.dump() + " |\n";
  out += "\n";
}

std::string card_license(const json& stats) {
  const json& licenses = stats["licenses"];
  if (licenses.size() == 1)
    return licenses.begin().key();
  if (licenses.empty())
    return stats.value("default_license", "unknown");
  return "other";
}

}  // namespace

std::string dataset_card(const json& stats) {
  std::string license = card_license(stats);
  std::string out =
      "---\nlicense: " + license + "\nconfigs:\n- config_name: default\n  data_files:\n";
  // Only the splits with records: Hugging Face `datasets` refuses to load a split whose file is
  // empty. (With no records at all, all three, as there is nothing to load either way.)
  const char* const splits[] = {"train", "validation", "test"};
  bool any_records = false;
  for (const char* split : splits)
    any_records = any_records || stats["records"][split].get<int64_t>() > 0;
  for (const char* split : splits) {
    if (!any_records || stats["records"][split].get<int64_t>() > 0)
      out += "  - split: " + std::string(split) + "\n    path: " + split + ".jsonl\n";
  }
  out += "tags:\n- cuda\n- kernels\n- pytorch\n- kforge\n---\n\n";
  out += "# kforge dataset: " + stats["format"].get<std::string>() + "\n\n";
  out +=
      "PyTorch programs paired with CUDA kernels written for them. Every row carries the "
      "verdict kforge's harness gave it on the GPU named in the row (`correct`: verified "
      "against PyTorch on several seeds and shapes, then timed), with its errors, device time "
      "and speedups against PyTorch eager and torch.compile. Format: `" +
      stats["format"].get<std::string>() +
      "` (see kforge's docs/dataset-formats.md). Splits are by task, never by row: every row "
      "of a task is in the same split.\n\n";
  out += "## License\n\n" + license + "\n\n";
  if (stats["licenses"].size() > 1)
    table(out, "license", stats["licenses"]);

  out += "## Size\n\n| split | records | rows | tasks |\n|---|---:|---:|---:|\n";
  for (const char* split : {"train", "validation", "test"}) {
    out += "| " + std::string(split) + " | " + stats["records"][split].dump() + " | " +
           stats["splits"][split]["rows"].dump() + " | " + stats["splits"][split]["tasks"].dump() +
           " |\n";
  }
  out += "\nSplit ratios (percent of tasks, by a hash of the task name): " +
         stats["splits"]["ratios"].get<std::string>() + ".\n\n";
  out += "Rows read from the store after filters: " + stats["rows"]["read"].dump() +
         "; exported: " + stats["rows"]["exported"].dump() + ".\n\n";

  out += "## Filters\n\n```json\n" + stats["filters"].dump(2) + "\n```\n\n";
  const json& dedup = stats["dedup"];
  out += "## Deduplication\n\nMode `" + dedup["mode"].get<std::string>() +
         "`: exact duplicates removed " + dedup["exact_duplicates"].dump() +
         ", near duplicates removed " + dedup["near_duplicates"].dump() +
         " (MinHash estimate of token-shingle Jaccard >= " + dedup["near_threshold"].dump() +
         ", shingles of " + dedup["shingle_tokens"].dump() +
         " tokens); within a task the best row (correct first, then fastest) is kept.\n\n";
  const json& decontamination = stats["decontamination"];
  out += "## Decontamination\n\n";
  if (decontamination["benchmarks"].empty()) {
    out += "No benchmark was given (--exclude-benchmark): nothing was checked.\n\n";
  } else {
    out += "Benchmarks: " + decontamination["benchmarks"].dump() + " (" +
           decontamination["problems"].dump() + " problems). A task is dropped when at least " +
           decontamination["threshold"].dump() + " of its normalised " +
           decontamination["ngram_tokens"].dump() +
           "-token n-grams occur in one problem. Dropped tasks: " +
           std::to_string(decontamination["dropped_tasks"].size()) +
           ", rows dropped: " + decontamination["dropped_rows"].dump() + ".\n\n";
    if (!decontamination["dropped_tasks"].empty()) {
      out += "| task | overlapping problem | overlap | rows |\n|---|---|---:|---:|\n";
      for (const json& task : decontamination["dropped_tasks"]) {
        char overlap[32];
        std::snprintf(overlap, sizeof overlap, "%.2f", task["overlap"].get<double>());
        out += "| " + task["task"].get<std::string>() + " | " + task["problem"].get<std::string>() +
               " | " + overlap + " | " + task["rows"].dump() + " |\n";
      }
      out += "\n";
    }
  }
  out += "## Distributions (exported rows)\n\n";
  table(out, "verdict", stats["verdicts"]);
  table(out, "speedup vs eager", stats["speedup_eager"]);
  table(out, "speedup vs torch.compile", stats["speedup_compile"]);
  table(out, "GPU", stats["gpus"]);
  table(out, "architecture", stats["arches"]);
  table(out, "origin", stats["origins"]);
  table(out, "model", stats["models"]);
  table(out, "suite", stats["suites"]);
  table(out, "harness version", stats["harness_versions"]);
  for (const auto& [name, counts] : stats["versions"].items())
    table(out, name + " version", counts);
  return out;
}

namespace {
// `label` followed by spaces up to `width` (at least one space).
std::string padded(const std::string& label, size_t width = 18) {
  return label + std::string(label.size() < width ? width - label.size() : 1, ' ');
}
}  // namespace

std::string stats_text(const json& stats) {
  std::string out;
  auto line = [&](const std::string& text) { out += text + "\n"; };
  line(padded("format") + stats["format"].get<std::string>());
  line(padded("filters") + stats["filters"].dump());
  line(padded("rows") + "read " + stats["rows"]["read"].dump() + ", exported " +
       stats["rows"]["exported"].dump());
  line(padded("dedup") + stats["dedup"]["mode"].get<std::string>() + ": exact " +
       stats["dedup"]["exact_duplicates"].dump() + ", near " +
       stats["dedup"]["near_duplicates"].dump());
  line(padded("decontamination") + "dropped tasks " +
       std::to_string(stats["decontamination"]["dropped_tasks"].size()) + ", rows " +
       stats["decontamination"]["dropped_rows"].dump());
  for (const json& task : stats["decontamination"]["dropped_tasks"])
    line(padded("  dropped") + task["task"].get<std::string>() + " (overlaps " +
         task["problem"].get<std::string>() + ", " + task["overlap"].dump() + ")");
  for (const char* split : {"train", "validation", "test"}) {
    line(padded("split " + std::string(split)) + "records " + stats["records"][split].dump() +
         ", rows " + stats["splits"][split]["rows"].dump() + ", tasks " +
         stats["splits"][split]["tasks"].dump());
  }
  for (const char* key : {"verdicts", "speedup_eager", "speedup_compile", "gpus", "arches",
                          "origins", "models", "harness_versions", "versions", "licenses"})
    line(padded(key) + stats[key].dump());
  return out;
}

}  // namespace kforge::dataset

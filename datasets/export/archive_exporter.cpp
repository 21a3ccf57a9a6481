// archive: one flat row per evaluated candidate (its latest evaluation on each GPU) with
// everything the store knows, figures lifted out of the JSON columns into top-level fields and
// the JSON columns themselves kept whole. The tasks' programs go once each into tasks.jsonl
// (rows refer to them by name and source hash) rather than into every row.
#include <unordered_set>

#include "datasets/export/exporter.hpp"
#include "datasets/export/row_fields.hpp"

namespace kforge::dataset {
namespace {

using nlohmann::json;

template <typename T>
json or_null(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

json parse_any(const std::optional<std::string>& text) {
  if (!text)
    return nullptr;
  json parsed = json::parse(*text, nullptr, false);
  return parsed.is_discarded() ? json(nullptr) : parsed;
}

json member_or_null(const json& object, const char* key) {
  auto found = object.find(key);
  return found == object.end() ? json(nullptr) : *found;
}

class ArchiveExporter final : public Exporter {
 public:
  ArchiveExporter(RecordWriter& writer, const ExportOptions& options)
      : writer_(writer), license_(options.license) {}

  void add(const CandidateRow& row, Split split) override {
    if (row.task_id != last_task_) {
      last_task_ = row.task_id;
      writer_.write_line("tasks.jsonl", {{"task", row.task_name},
                                         {"task_id", row.task_id},
                                         {"suite", row.suite},
                                         {"version", row.task_version},
                                         {"source", row.task_source},
                                         {"source_hash", row.task_source_hash},
                                         {"signature", parse_any(row.task_signature)},
                                         {"license", row_license(row, license_)},
                                         {"split", split_name(split)}});
    }
    json evidence = parse_object(row.evidence);
    json compile = parse_object(row.compile);
    json environment = merged_environment(row);
    TimingSummary timing = timing_summary(row);
    json tolerances = evidence.contains("tolerances") && evidence["tolerances"].is_object()
                          ? evidence["tolerances"]
                          : evidence;

    json record = {
        {"candidate_id", row.candidate_id},
        {"evaluation_id", row.evaluation_id},
        {"task", row.task_name},
        {"task_id", row.task_id},
        {"task_version", row.task_version},
        {"task_source_hash", row.task_source_hash},
        {"suite", row.suite},
        {"source", row.source},
        {"source_hash", row.source_hash},
        {"plan", parse_any(row.plan)},
        {"defines", parse_any(row.defines)},
        {"origin", row.origin},
        {"parent_id", or_null(row.parent_id)},
        {"run_id", or_null(row.run_id)},
        {"iteration", or_null(row.iteration)},
        {"created_at", row.candidate_created_at},
        {"evaluated_at", row.evaluated_at},
        {"verdict", row.verdict},
        {"reason", or_null(row.reason)},
        {"evidence", evidence},
        {"max_abs_error", number_or_null(evidence, "max_abs_error")},
        {"max_rel_error", number_or_null(evidence, "max_rel_error")},
        {"mismatch_count", number_or_null(evidence, "mismatch_count")},
        {"atol", number_or_null(tolerances, "atol")},
        {"rtol", number_or_null(tolerances, "rtol")},
        {"seeds", member_or_null(evidence, "seeds")},
        {"shapes", member_or_null(evidence, "shapes")},
        {"timing", parse_any(row.timing)},
        {"timing_median_us", or_null(timing.median_us)},
        {"timing_min_us", or_null(timing.min_us)},
        {"timing_mean_us", or_null(timing.mean_us)},
        {"timing_p10_us", or_null(timing.p10_us)},
        {"timing_p90_us", or_null(timing.p90_us)},
        {"timing_cv", or_null(timing.cv)},
        {"timing_span_us", or_null(timing.span_us)},
        {"timing_samples", or_null(timing.sample_count)},
        {"device_time_us", or_null(row.device_time_us)},
        {"speedup_eager", or_null(row.speedup_eager)},
        {"speedup_compile", or_null(row.speedup_compile)},
        {"baseline_eager_us", or_null(row.baseline_eager_us)},
        {"baseline_compile_us", or_null(row.baseline_compile_us)},
        {"baseline_torch_version", or_null(row.baseline_torch_version)},
        {"compile", row.compile ? compile : json(nullptr)},
        {"registers", number_or_null(compile, "registers")},
        {"shared_bytes", number_or_null(compile, "shared_bytes")},
        {"local_bytes", number_or_null(compile, "local_bytes")},
        {"spill_bytes", number_or_null(compile, "spill_bytes")},
        {"compile_ms", number_or_null(compile, "compile_ms")},
        {"stages", parse_any(row.stages)},
        {"gpu", or_null(row.gpu)},
        {"arch", or_null(row.arch)},
        {"driver", member_or_null(environment, "driver")},
        {"cuda", member_or_null(environment, "cuda")},
        {"nvrtc", member_or_null(environment, "nvrtc")},
        {"torch", member_or_null(environment, "torch")},
        {"environment", environment},
        {"harness_version", row.harness_version},
        {"run_kind", or_null(row.run_kind)},
        {"agent", or_null(row.agent)},
        {"strategy", or_null(row.strategy)},
        {"model", or_null(row.model())},
        {"provider", or_null(row.provider)},
        {"prompt_tokens", or_null(row.prompt_tokens)},
        {"completion_tokens", or_null(row.completion_tokens)},
        {"cost_usd", or_null(row.cost_usd)},
        {"latency_ms", or_null(row.latency_ms)},
        {"license", row_license(row, license_)},
    };
    writer_.write(split, record);
  }

 private:
  RecordWriter& writer_;
  std::string license_;
  int64_t last_task_ = -1;
};

}  // namespace

std::unique_ptr<Exporter> make_archive_exporter(RecordWriter& writer,
                                                const ExportOptions& options) {
  return std::make_unique<ArchiveExporter>(writer, options);
}

}  // namespace kforge::dataset

// archive: one flat row per evaluated candidate (its latest evaluation on each GPU) with
// everything the store knows, figures lifted out of the JSON columns into top-level fields and
// the JSON columns themselves kept whole. The tasks' programs go once each into tasks.jsonl
// (rows refer to them by name and source hash) rather than into every row.
#include <array>
#include <unordered_set>

#include "datasets/export/exporter.hpp"
#include "datasets/export/json_line.hpp"
#include "datasets/export/row_fields.hpp"

namespace kforge::dataset {
namespace {

using nlohmann::json;

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
    CompileResources resources = compile_resources(compile);
    const std::array<std::optional<std::string>, 5>& environment = environment_fields(row);
    TimingSummary timing = timing_summary(row);
    const json& tolerances = evidence.contains("tolerances") && evidence["tolerances"].is_object()
                                 ? evidence["tolerances"]
                                 : evidence;

    // Field order is the documented one (docs/dataset-formats.md); JSON columns are spliced.
    JsonLine& line = line_;
    line.begin();
    line.integer("candidate_id", row.candidate_id);
    line.integer("evaluation_id", row.evaluation_id);
    line.string("task", row.task_name);
    line.integer("task_id", row.task_id);
    line.integer("task_version", row.task_version);
    line.string("task_source_hash", row.task_source_hash);
    line.string("suite", row.suite);
    line.string("source", row.source);
    line.string("source_hash", row.source_hash);
    line.raw("plan", row.plan);
    line.raw("defines", row.defines);
    line.string("origin", row.origin);
    line.integer("parent_id", row.parent_id);
    line.integer("run_id", row.run_id);
    line.integer("iteration", row.iteration);
    line.string("created_at", row.candidate_created_at);
    line.string("evaluated_at", row.evaluated_at);
    line.string("verdict", row.verdict);
    line.string("reason", row.reason);
    line.value("evidence", evidence);
    line.value("max_abs_error", number_or_null(evidence, "max_abs_error"));
    line.value("max_rel_error", number_or_null(evidence, "max_rel_error"));
    line.value("mismatch_count", number_or_null(evidence, "mismatch_count"));
    line.value("atol", number_or_null(tolerances, "atol"));
    line.value("rtol", number_or_null(tolerances, "rtol"));
    line.value("seeds", member_or_null(evidence, "seeds"));
    line.value("shapes", member_or_null(evidence, "shapes"));
    line.raw("timing", row.timing);
    line.number("timing_median_us", timing.median_us);
    line.number("timing_min_us", timing.min_us);
    line.number("timing_mean_us", timing.mean_us);
    line.number("timing_p10_us", timing.p10_us);
    line.number("timing_p90_us", timing.p90_us);
    line.number("timing_cv", timing.cv);
    line.number("timing_span_us", timing.span_us);
    line.integer("timing_samples", timing.sample_count);
    line.number("device_time_us", row.device_time_us);
    line.number("speedup_eager", row.speedup_eager);
    line.number("speedup_compile", row.speedup_compile);
    line.number("baseline_eager_us", row.baseline_eager_us);
    line.number("baseline_compile_us", row.baseline_compile_us);
    line.string("baseline_torch_version", row.baseline_torch_version);
    line.raw("compile", row.compile);
    line.integer("registers", resources.registers);
    line.integer("shared_bytes", resources.shared_bytes);
    line.integer("local_bytes", resources.local_bytes);
    line.integer("spill_bytes", resources.spill_bytes);
    line.value("compile_ms", number_or_null(compile, "compile_ms"));
    line.raw("stages", row.stages);
    line.string("gpu", row.gpu);
    line.string("arch", row.arch);
    line.raw("driver", environment[0]);
    line.raw("cuda", environment[1]);
    line.raw("nvrtc", environment[2]);
    line.raw("torch", environment[3]);
    line.raw("environment", environment[4]);
    line.integer("harness_version", row.harness_version);
    line.string("run_kind", row.run_kind);
    line.string("agent", row.agent);
    line.string("strategy", row.strategy);
    line.string("model", row.model());
    line.string("provider", row.provider);
    line.integer("prompt_tokens", row.prompt_tokens);
    line.integer("completion_tokens", row.completion_tokens);
    line.number("cost_usd", row.cost_usd);
    line.integer("latency_ms", row.latency_ms);
    line.value("profile", row.profile ? row.profile->to_json() : json(nullptr));
    line.string("license", row_license(row, license_));
    writer_.write_raw(split, line.finish());
  }

 private:
  // The serialised driver, cuda, nvrtc, torch and whole environment fields, redone only when
  // the merged environment changes (rows of one run share it).
  const std::array<std::optional<std::string>, 5>& environment_fields(const CandidateRow& row) {
    const json& environment = environment_.merged(row);
    if (environment_.generation() != dumped_generation_) {
      dumped_generation_ = environment_.generation();
      const char* keys[] = {"driver", "cuda", "nvrtc", "torch"};
      for (size_t i = 0; i < 4; ++i)
        environment_dumps_[i] = dump(member_or_null(environment, keys[i]));
      environment_dumps_[4] = dump(environment);
    }
    return environment_dumps_;
  }

  static std::string dump(const json& value) {
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
  }

  RecordWriter& writer_;
  EnvironmentMerger environment_;
  uint64_t dumped_generation_ = 0;
  std::array<std::optional<std::string>, 5> environment_dumps_;
  std::string license_;
  int64_t last_task_ = -1;
  JsonLine line_;
};

}  // namespace

std::unique_ptr<Exporter> make_archive_exporter(RecordWriter& writer,
                                                const ExportOptions& options) {
  return std::make_unique<ArchiveExporter>(writer, options);
}

}  // namespace kforge::dataset

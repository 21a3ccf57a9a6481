#include "harness/autotune/tune_export.hpp"

#include "datasets/records.hpp"
#include "datasets/run_records.hpp"
#include "datasets/task_records.hpp"
#include "harness/autotune/tuner.hpp"
#include "harness/candidate/candidate_file.hpp"
#include "harness/evaluation/stored_evaluation.hpp"
#include "harness/task.hpp"
#include "harness/util/error.hpp"

namespace kforge::autotune {
namespace {

// The stored evaluation `evaluation_id` of candidate `candidate_id`.
StoredEvaluation stored_evaluation(const Store& store, int64_t candidate_id,
                                   int64_t evaluation_id) {
  const std::string where = "evaluation " + std::to_string(evaluation_id);
  std::optional<CandidateRow> candidate = find_candidate(store, candidate_id);
  if (!candidate)
    throw Error("the store has no candidate " + std::to_string(candidate_id), where);
  for (const EvaluationRow& row : evaluations_of(store, candidate_id))
    if (row.id == evaluation_id)
      return read_stored_evaluation(row, *candidate);
  throw Error("the store has no such evaluation of candidate " + std::to_string(candidate_id),
              where);
}

// The benchmark shape of the task's first output, as Kernel Tuner's `problem_size`.
nlohmann::json problem_size_of(const Store& store, int64_t candidate_id) {
  std::optional<CandidateRow> candidate = find_candidate(store, candidate_id);
  if (!candidate)
    return nlohmann::json::array();
  std::optional<TaskRow> row = find_task(store, candidate->task_id);
  if (!row || !row->analysed())
    return nlohmann::json::array();
  Task task = Task::from_record(*row);
  if (!task.analysis || task.analysis->benchmark.outputs.empty())
    return nlohmann::json::array();
  return task.analysis->benchmark.outputs.front().shape;
}

tuning::ResultEntry result_entry(const TunedPoint& point, const StoredEvaluation& stored) {
  tuning::ResultEntry entry;
  entry.configuration = point.defines;
  entry.invalidity = verdict_invalidity(point.verdict);
  if (point.verdict == Verdict::kCorrect && point.time_us)
    entry.time_ms = *point.time_us / 1000.0;
  const EvaluationRecord& record = stored.record;
  if (entry.time_ms && record.timing)
    for (double sample_us : record.timing->samples)
      entry.runtimes_ms.push_back(sample_us / 1000.0);
  for (const StageRecord& stage : record.stages) {
    if (stage.name == "compile")
      entry.compilation_ms += stage.ms;
    else if (stage.name == "time")
      entry.benchmark_ms += stage.ms;
    else if (stage.name == "verify")
      entry.validation_ms += stage.ms;
    else
      entry.framework_ms += stage.ms;
  }
  entry.search_algorithm_ms = point.strategy_ms;
  entry.timestamp = stored.created_at;
  return entry;
}

}  // namespace

tuning::Invalidity verdict_invalidity(Verdict verdict) {
  switch (verdict) {
    case Verdict::kCorrect:
      return tuning::Invalidity::kCorrect;
    case Verdict::kCompileError:
      return tuning::Invalidity::kCompile;
    case Verdict::kPlanError:
      return tuning::Invalidity::kConstraints;
    case Verdict::kTimeout:
      return tuning::Invalidity::kTimeout;
    case Verdict::kIncorrect:
    case Verdict::kSuspicious:
      return tuning::Invalidity::kCorrectness;
    case Verdict::kLaunchError:
    case Verdict::kRuntimeError:
    case Verdict::kCompiled:
      break;
  }
  return tuning::Invalidity::kRuntime;
}

tuning::TuningResults tuning_results_of_run(const Store& store, int64_t run_id) {
  const std::string where = "run " + std::to_string(run_id);
  std::optional<RunRow> run = find_run(store, run_id);
  if (!run)
    throw Error("there is no run " + std::to_string(run_id), "kforge tune export");
  if (run->kind != "tune")
    throw Error("run " + std::to_string(run_id) + " is not a tuning run (it is a run of kind " +
                    run->kind + ")",
                "kforge tune export");
  const TuneRequest request = tune_request_of_run(store, run_id);
  auto parsed = parse_candidate(request.source, request.file_name);
  if (!parsed.ok())
    throw Error("the tuning run's candidate does not parse: " + parsed.error().message(), where);
  const CandidateFile candidate = std::move(parsed).value();

  tuning::TuningResults results;
  for (const DefineSpec& spec : candidate.plan.defines) {
    tuning::Parameter parameter{spec.name, {}};
    for (int64_t value : spec.values)
      parameter.values.push_back(value);
    results.parameters.push_back(std::move(parameter));
  }
  results.device_name = run->gpu.value_or("");
  results.kernel_name = candidate.plan.kernels.empty() ? "" : candidate.plan.kernels.front().name;
  for (const TunedPoint& point : tuned_points_of_run(store, run_id)) {
    if (results.results.empty())
      results.problem_size = problem_size_of(store, point.candidate_id);
    results.results.push_back(
        result_entry(point, stored_evaluation(store, point.candidate_id, point.evaluation_id)));
  }
  return results;
}

const std::vector<ExportFormat>& export_formats() {
  static const std::vector<ExportFormat> formats = {
      {"t4", "the T4 results schema (Kernel Tuner's and the autotuning-methodology tooling's)"},
      {"kernel-tuner-cache", "Kernel Tuner's cache file (its simulation mode replays it)"},
  };
  return formats;
}

void check_export_format(const std::string& format) {
  for (const ExportFormat& entry : export_formats())
    if (entry.name == format)
      return;
  std::string known;
  for (const ExportFormat& entry : export_formats())
    known += (known.empty() ? "" : ", ") + std::string(entry.name);
  throw Error("unknown export format '" + format + "' (known: " + known + ")", "--format");
}

std::string export_text(const tuning::TuningResults& results, const std::string& format) {
  check_export_format(format);
  if (format == "t4")
    return tuning::t4_results_text(results);
  return tuning::kernel_tuner_cache_text(results);
}

}  // namespace kforge::autotune

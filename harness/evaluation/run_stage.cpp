#include "harness/evaluation/run_stage.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <tuple>

#include "datasets/measurement_records.hpp"
#include "datasets/store.hpp"
#include "harness/config.hpp"
#include "harness/evaluation/ncu_profile.hpp"
#include "harness/reference_runner.hpp"
#include "harness/util/error.hpp"
#include "harness/util/name_table.hpp"
#include "harness/verification/compare.hpp"
#include "profiler/metric_set.hpp"
#include "profiler/statistics.hpp"
#include "sandbox/gpu_worker_client.hpp"

namespace kforge {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Names under which device measurements are cached (device_measurements), with the field of
// DeviceMeasurement each holds. A GPU whose cached rows lack any of them (rows written before
// the kernel-measured bandwidths and tensor peaks existed) is measured again.
struct MeasurementName {
  const char* name;
  double DeviceMeasurement::*field;
};
constexpr MeasurementName kMeasurementNames[] = {
    {"copy_bandwidth_bytes_per_s", &DeviceMeasurement::copy_bandwidth_bytes_per_s},
    {"read_bandwidth_bytes_per_s", &DeviceMeasurement::read_bandwidth_bytes_per_s},
    {"write_bandwidth_bytes_per_s", &DeviceMeasurement::write_bandwidth_bytes_per_s},
    {"kernel_copy_bandwidth_bytes_per_s", &DeviceMeasurement::kernel_copy_bandwidth_bytes_per_s},
    {"theoretical_bandwidth_bytes_per_s", &DeviceMeasurement::theoretical_bandwidth_bytes_per_s},
    {"peak_fp32_flops_per_s", &DeviceMeasurement::peak_fp32_flops_per_s},
    {"peak_fp16_tensor_flops_per_s", &DeviceMeasurement::peak_fp16_tensor_flops_per_s},
    {"peak_bf16_tensor_flops_per_s", &DeviceMeasurement::peak_bf16_tensor_flops_per_s},
};
constexpr const char* kTensorFullRate = "tensor_full_rate";  // 1 or 0

DeviceCeilings ceilings_from(std::map<std::string, DeviceMeasurementRow>& rows) {
  auto value = [&](const char* name) { return rows[name].value; };
  DeviceCeilings ceilings;
  ceilings.memcpy_bandwidth = value("copy_bandwidth_bytes_per_s");
  ceilings.read_bandwidth = value("read_bandwidth_bytes_per_s");
  ceilings.write_bandwidth = value("write_bandwidth_bytes_per_s");
  ceilings.kernel_copy_bandwidth = value("kernel_copy_bandwidth_bytes_per_s");
  ceilings.theoretical_bandwidth = value("theoretical_bandwidth_bytes_per_s");
  ceilings.peak_fp32 = value("peak_fp32_flops_per_s");
  ceilings.peak_fp16_tensor = value("peak_fp16_tensor_flops_per_s");
  ceilings.peak_bf16_tensor = value("peak_bf16_tensor_flops_per_s");
  ceilings.tensor_full_rate = value(kTensorFullRate) > 0;
  return ceilings;
}

// The floating dtypes among a signature's tensors: what the compute floor's peak is chosen by.
std::vector<DType> tensor_dtypes(const Signature& signature) {
  std::vector<DType> dtypes;
  for (const auto* specs : {&signature.inputs, &signature.parameters, &signature.outputs}) {
    for (const TensorSpec& spec : *specs) {
      if (spec.kind == ArgumentKind::kTensor &&
          std::find(dtypes.begin(), dtypes.end(), spec.dtype) == dtypes.end())
        dtypes.push_back(spec.dtype);
    }
  }
  return dtypes;
}

// Guard zones found changed: a write out of bounds, `incorrect` whatever the outputs say.
std::optional<RunFailure> out_of_bounds(const std::vector<GuardViolation>& violations,
                                        const std::string& where) {
  if (violations.empty())
    return std::nullopt;
  const GuardViolation& first = violations.front();
  std::string detail =
      where + ": " + (first.kernel.empty() ? std::string("a kernel") : "kernel " + first.kernel) +
      " wrote " + std::to_string(first.changed_bytes) + " byte(s) " + first.side + " '" +
      first.tensor + "' (the nearest " + std::to_string(first.offset) + " byte(s) " +
      (first.side == "after" ? "past its end" : "before its start") + ")";
  if (violations.size() > 1)
    detail += ", and " + std::to_string(violations.size() - 1) + " more guard zone(s) changed";
  return RunFailure{Verdict::kIncorrect, "out_of_bounds_write", detail};
}

nlohmann::json violations_json(const std::vector<GuardViolation>& violations) {
  nlohmann::json json = nlohmann::json::array();
  for (const GuardViolation& violation : violations)
    json.push_back(violation.to_json());
  return json;
}

TaskSource task_source(const Task& task) {
  return {task.name, task.source, task.origin_path.value_or(task.name)};
}

std::vector<OutputSpec> output_specs(const Signature& signature) {
  std::vector<OutputSpec> outputs;
  for (const TensorSpec& output : signature.outputs)
    outputs.push_back({output.name, std::string(dtype_name(output.dtype)), output.shape});
  return outputs;
}

// What the worker gets: every input tensor and parameter by name, in one file.
TensorMap worker_tensors(const ReferenceResult& reference) {
  TensorMap tensors = reference.parameters;
  for (const auto& [name, tensor] : reference.inputs)
    tensors[name] = tensor;
  return tensors;
}

void write_tensors(const fs::path& path, const TensorMap& tensors) {
  SafetensorsFile file;
  file.tensors = tensors;
  write_safetensors(path, file);
}

TensorMap read_worker_file(const fs::path& path, const std::string& what) {
  if (path.empty() || !fs::exists(path))
    throw Error("the GPU worker did not write " + what, path.string());
  return read_safetensors(path).tensors;
}

const Tensor& worker_tensor(const TensorMap& tensors, const std::string& name,
                            const fs::path& where) {
  auto found = tensors.find(name);
  if (found == tensors.end())
    throw Error("the GPU worker's file has no tensor '" + name + "'", where.string());
  return found->second;
}

nlohmann::json failure_evidence(const WorkerFailure& failure) {
  nlohmann::json json = failure.to_json();
  return json;
}

// Compares every output of one repeat with the expected tensors; the first failing output's
// comparison is returned (or the last one when all pass), with the errors over all outputs.
struct OutputsComparison {
  bool ok = true;
  std::string output;  // the failing output
  Comparison comparison;
  double max_abs_error = 0;
  double max_rel_error = 0;
  int64_t mismatch_count = 0;
};

// Each output's tolerance: the dtype's default, and for a float32 output with a float64
// reference, the allowance of compare.hpp's grounded rule.
std::map<std::string, Tolerance> tolerances_for(const ReferenceResult& reference) {
  std::map<std::string, Tolerance> tolerances;
  for (const auto& [name, want] : reference.outputs) {
    Tolerance tolerance = default_tolerance(want.dtype);
    auto exact = reference.outputs_float64.find(name);
    if (want.dtype == DType::kF32 && exact != reference.outputs_float64.end())
      tolerance.allowance = kFloat32ErrorMultiple * reference_error(want, exact->second);
    tolerances[name] = tolerance;
  }
  return tolerances;
}

OutputsComparison compare_all(const TensorMap& actual, const TensorMap& expected,
                              const fs::path& where, uint8_t poison,
                              const std::map<std::string, Tolerance>& tolerances = {},
                              const TensorMap& exact = {}) {
  OutputsComparison result;
  for (const auto& [name, want] : expected) {
    const Tensor& got = worker_tensor(actual, name, where);
    auto tolerance = tolerances.find(name);
    auto precise = exact.find(name);
    Comparison comparison = compare_outputs(
        got, want,
        tolerance != tolerances.end() ? tolerance->second : default_tolerance(want.dtype), poison,
        precise != exact.end() ? &precise->second : nullptr);
    result.max_abs_error = std::max(result.max_abs_error, comparison.max_abs_error);
    result.max_rel_error = std::max(result.max_rel_error, comparison.max_rel_error);
    result.mismatch_count += comparison.mismatch_count;
    if (result.ok && !comparison.ok()) {
      result.ok = false;
      result.output = name;
      result.comparison = comparison;
    }
  }
  return result;
}

// The first input or parameter whose bytes after the launches differ from those sent.
std::optional<RunFailure> modified_input(const TensorMap& sent, const TensorMap& after,
                                         const fs::path& after_path, const std::string& where,
                                         nlohmann::json& check) {
  for (const auto& [name, before] : sent) {
    const Tensor& now = worker_tensor(after, name, after_path);
    if (bitwise_equal(now, before))
      continue;
    int64_t changed = 0;
    int64_t count = std::min(now.numel(), before.numel());
    size_t width = dtype_size(before.dtype);
    for (int64_t i = 0; i < count && now.bytes.size() == before.bytes.size(); ++i) {
      if (now.bytes.compare(i * width, width, before.bytes, i * width, width) != 0)
        ++changed;
    }
    check["modified_input"] = name;
    check["modified_elements"] = changed;
    return RunFailure{Verdict::kIncorrect, "inputs_modified",
                      where + ": the candidate changed '" + name + "' (" + std::to_string(changed) +
                          " of " + std::to_string(before.numel()) + " elements)"};
  }
  return std::nullopt;
}

// The float32 grounding of one check: per output, PyTorch's own error against the float64
// reference and the allowance it gives (or why there is none).
void record_grounding(nlohmann::json& check, const ReferenceResult& reference,
                      const std::map<std::string, Tolerance>& tolerances) {
  nlohmann::json grounding = nlohmann::json::object();
  for (const auto& [name, want] : reference.outputs) {
    auto exact = reference.outputs_float64.find(name);
    if (want.dtype != DType::kF32 || exact == reference.outputs_float64.end())
      continue;
    grounding[name] = {{"torch_float32_error", reference_error(want, exact->second)},
                       {"allowance", tolerances.at(name).allowance}};
  }
  if (!grounding.empty()) {
    grounding["multiple"] = kFloat32ErrorMultiple;
    check["float32_grounding"] = grounding;
  } else if (!reference.float64_note.empty()) {
    check["float32_grounding"] = {{"none", reference.float64_note}};
  }
}

nlohmann::json comparison_json(const OutputsComparison& outputs) {
  nlohmann::json json = {{"output", outputs.output},
                         {"result", mismatch_kind_name(outputs.comparison.kind)},
                         {"detail", outputs.comparison.detail}};
  json["first_mismatches"] = outputs.comparison.to_json()["first_mismatches"];
  return json;
}

nlohmann::json statistics_json(const SampleSummary& summary) {
  return {{"count", summary.count}, {"median_us", summary.median}, {"min_us", summary.min},
          {"max_us", summary.max},  {"mean_us", summary.mean},     {"p10_us", summary.p10},
          {"p90_us", summary.p90},  {"stddev_us", summary.stddev}, {"cv", summary.cv}};
}

// The verdict of one check's outputs, or nothing where they passed: wrong in both repeats (at a
// check shape after the benchmark shape passed: wrong_on_check_shape), unwritten in one repeat
// only, or two repeats that disagree. The comparison that decided goes into `evidence`.
std::optional<RunFailure> judge_outputs(const OutputsComparison& first_result,
                                        const OutputsComparison& second_result,
                                        const OutputsComparison& repeats, bool at_check_shape,
                                        const std::string& where, nlohmann::json& evidence) {
  // One repeat that left outputs holding its poison pattern while the other passed: a kernel
  // that reads its own output (fmaxf over an unwritten output hides under one pattern, not
  // under both), not a race.
  const OutputsComparison* unwritten_in_one =
      !first_result.ok && first_result.comparison.kind == MismatchKind::kUnwritten
          ? &first_result
          : (!second_result.ok && second_result.comparison.kind == MismatchKind::kUnwritten
                 ? &second_result
                 : nullptr);
  if (!first_result.ok && !second_result.ok) {
    evidence.update(comparison_json(first_result));
    return RunFailure{
        Verdict::kIncorrect,
        at_check_shape ? "wrong_on_check_shape"
                       : std::string(mismatch_kind_name(first_result.comparison.kind)),
        where + ": output '" + first_result.output + "': " + first_result.comparison.detail};
  }
  if (unwritten_in_one) {
    // Right under one poison, left as the other: the output depends on what was there before
    // the launch (unwritten, or folded in, as fmaxf over a NaN poison is).
    evidence.update(comparison_json(*unwritten_in_one));
    evidence["repeats"] = {
        {"first_passed", first_result.ok},
        {"second_passed", second_result.ok},
        {"poison_bytes", {poison_byte_for_repeat(0), poison_byte_for_repeat(1)}}};
    return RunFailure{Verdict::kIncorrect, "unwritten_output",
                      where + ": output '" + unwritten_in_one->output + "' in the " +
                          (unwritten_in_one == &first_result ? "first" : "second") +
                          " repeat only: " + unwritten_in_one->comparison.detail};
  }
  if (!first_result.ok || !second_result.ok || !repeats.ok) {
    const OutputsComparison& shown =
        !first_result.ok ? first_result : (!second_result.ok ? second_result : repeats);
    evidence.update(comparison_json(shown));
    evidence["repeats"] = {{"first_passed", first_result.ok},
                           {"second_passed", second_result.ok},
                           {"repeats_agree", repeats.ok}};
    return RunFailure{Verdict::kIncorrect, "non_deterministic",
                      where + ": two runs on the same inputs disagree (output '" + shown.output +
                          "': " + shown.comparison.detail + ")"};
  }
  evidence["first_mismatches"] = nlohmann::json::array();
  return std::nullopt;
}

int64_t signature_bytes(const Signature& signature) {
  int64_t bytes = 0;
  auto add = [&](const std::vector<TensorSpec>& specs) {
    for (const TensorSpec& spec : specs) {
      if (spec.kind == ArgumentKind::kTensor)
        bytes += spec.numel() * static_cast<int64_t>(dtype_size(spec.dtype));
    }
  };
  add(signature.inputs);
  add(signature.parameters);
  add(signature.outputs);
  return bytes;
}

std::string cuda_version_text(int version) {
  if (version <= 0)
    return "";
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

// One removable job folder per request; removed whatever happens.
class JobDirectory {
 public:
  explicit JobDirectory(GpuWorkerClient& gpu) : path_(gpu.new_job_directory()) {}
  ~JobDirectory() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  JobDirectory(const JobDirectory&) = delete;
  JobDirectory& operator=(const JobDirectory&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

}  // namespace

RunFailure worker_failure_verdict(const WorkerFailure& failure, const std::string& where) {
  const std::string kind(worker_failure_kind_name(failure.kind));
  RunFailure result;
  result.reason = kind;
  switch (failure.kind) {
    case WorkerFailureKind::kLaunchError:
    case WorkerFailureKind::kOutOfMemory:
      result.verdict = Verdict::kLaunchError;
      break;
    case WorkerFailureKind::kRuntimeError:
      result.verdict = Verdict::kRuntimeError;
      if (!failure.cuda_error.empty())
        result.reason = failure.cuda_error;
      break;
    case WorkerFailureKind::kWorkerCrashed:
      result.verdict = Verdict::kRuntimeError;
      break;
    case WorkerFailureKind::kTimeout:
      result.verdict = Verdict::kTimeout;
      break;
    case WorkerFailureKind::kBadRequest:
      throw Error(
          "the GPU worker could not do what kforge asked (" + kind + "): " + failure.message,
          where);
  }
  result.detail = where + ": " + failure.message;
  if (!failure.cuda_error.empty())
    result.detail += " [" + failure.cuda_error + "]";
  if (!failure.kernel.empty())
    result.detail += " (kernel " + failure.kernel + ")";
  return result;
}

RunSettings RunSettings::from_config(const Config& config) {
  RunSettings settings;
  settings.seeds = static_cast<int>(std::max<int64_t>(1, config.integer("verify.seeds")));
  settings.dtype = config.string("verify.dtype");
  settings.input_sets = static_cast<int>(std::max<int64_t>(1, config.integer("timing.input_sets")));
  TimingSettings& timing = settings.timing;
  timing.warmup = static_cast<int>(config.integer("timing.warmup"));
  timing.min_samples = static_cast<int>(std::max<int64_t>(2, config.integer("timing.min_samples")));
  timing.max_samples =
      static_cast<int>(std::max<int64_t>(timing.min_samples, config.integer("timing.max_samples")));
  timing.target_spread = config.real("timing.target_spread");
  timing.time_cap_ms = config.real("timing.time_cap_ms");
  timing.flush_l2 = config.boolean("timing.flush_l2");
  settings.baselines = config.boolean("timing.baselines");
  settings.profile = config.boolean("profile.enabled");
  settings.profile_only_correct = config.boolean("profile.only_correct");
  // The table's choices were checked where the value was read (file or flag).
  settings.profiler = value_named(kProfilerChoiceNames, config.string("profile.profiler"))
                          .value_or(ProfilerChoice::kCupti);
  settings.ncu = config.string("profile.ncu");
  return settings;
}

std::optional<double> speedup(std::optional<double> baseline_us, double candidate_us) {
  if (!baseline_us || !(*baseline_us > 0) || !(candidate_us > 0))
    return std::nullopt;
  return *baseline_us / candidate_us;
}

BaselinesRecord baseline_for(Store& store, ReferenceRunner& reference, const Task& task,
                             const std::string& gpu, int device_index,
                             const RunSettings& settings) {
  const PythonInterpreter& python = reference.python();
  BaselineKey key{task.id, "benchmark", settings.dtype, gpu, python.torch_version};
  auto row_record = [](const BaselineRow& row, bool cached) {
    BaselinesRecord record{.eager_us = row.eager_us,
                           .compile_us = row.compile_us,
                           .torch_version = row.key.torch_version,
                           .gpu = row.key.gpu,
                           .shape = row.key.shape,
                           .dtype = row.key.dtype,
                           .cached = cached};
    for (const auto& [mode, statistics, error] :
         {std::tuple{"eager", &record.eager_statistics, &record.eager_error},
          std::tuple{"compile", &record.compile_statistics, &record.compile_error}}) {
      if (row.detail.contains(mode) && row.detail[mode].contains("statistics"))
        *statistics = row.detail[mode]["statistics"];
      if (row.detail.contains(mode) && row.detail[mode].contains("error"))
        *error = row.detail[mode]["error"];
    }
    return record;
  };
  if (auto cached = find_baseline(store, key))
    return row_record(*cached, true);

  BaselineRequest request{.task = task_source(task),
                          .seed = 0,
                          .dtype = settings.dtype,
                          .device_index = device_index,
                          .timing = settings.timing};
  auto outcome = reference.baseline(request);
  if (const auto* failure = std::get_if<ReferenceFailure>(&outcome))
    return {.error = failure->message, .kind = failure->kind};
  const BaselineTimes& times = std::get<BaselineTimes>(outcome);
  BaselineRow row;
  row.key = key;
  row.detail = {{"method", times.method}, {"device_name", times.device_name}};
  auto mode = [&](const BaselineMode& mode, std::optional<double>& median, const char* name) {
    nlohmann::json part = {{"hit_time_cap", mode.hit_time_cap}};
    if (!mode.error.empty()) {
      part["error"] = mode.error;
    } else {
      SampleSummary summary = summarize(mode.samples_us);
      median = summary.median;
      part["statistics"] = statistics_json(summary);
      part["samples"] = mode.samples_us;
    }
    row.detail[name] = part;
  };
  mode(times.eager, row.eager_us, "eager");
  mode(times.compile, row.compile_us, "compile");
  if (!row.eager_us && !row.compile_us)
    return {.error = "eager: " + times.eager.error + "; compile: " + times.compile.error};
  store_baseline(store, row);
  return row_record(row, false);
}

RunStage::RunStage(Store& store, GpuWorkerClient& gpu, ReferenceRunner& reference,
                   RunSettings settings)
    : store_(store), gpu_(gpu), reference_(reference), settings_(std::move(settings)) {}

RunStageResult RunStage::run(const RunStageRequest& request) {
  RunProgress progress = start(request);
  RunStageResult& result = progress.result;
  const std::vector<std::string> stage_names = {"verify", "time", "baseline", "profile"};
  // A failed pass decides the verdict: its stage is recorded as failed, the later ones as
  // skipped, and the errors over the checks so far are kept.
  auto finish = [&](const std::string& failed_stage, Clock::time_point started,
                    const RunFailure& failure) {
    result.verdict = failure.verdict;
    result.reason = failure.reason;
    result.detail = failure.detail;
    result.stages.push_back(
        {failed_stage, StageStatus::kFailed, milliseconds_since(started), failure.detail});
    // The kernels of an incorrect or suspicious candidate ran to completion: with
    // profile.only_correct = false they are profiled too.
    const bool ran =
        failure.verdict == Verdict::kIncorrect || failure.verdict == Verdict::kSuspicious;
    bool after = false;
    for (const std::string& name : stage_names) {
      if (after && name == "profile" && ran && settings_.profile && !settings_.profile_only_correct)
        result.stages.push_back(profile(request, progress));
      else if (after)
        result.stages.push_back({name, StageStatus::kSkipped, 0, "an earlier stage failed"});
      after = after || name == failed_stage;
    }
    VerificationRecord& verification = *result.evidence.verification;
    verification.max_abs_error = progress.max_abs_error;
    verification.max_rel_error = progress.max_rel_error;
    verification.mismatch_count = progress.mismatch_count;
    return std::move(result);
  };

  auto started = Clock::now();
  if (auto failed = verify(request, progress))
    return finish("verify", started, *failed);
  result.stages.push_back(
      {"verify", StageStatus::kOk, milliseconds_since(started),
       std::to_string(result.evidence.verification->checks.size()) + " checks passed"});

  started = Clock::now();
  if (auto failed = time(request, progress))
    return finish("time", started, *failed);
  if (auto failed = floor(request, progress))
    return finish("time", started, *failed);
  const TimingStatistics& statistics = result.timing->statistics;
  result.stages.push_back({"time", StageStatus::kOk, milliseconds_since(started),
                           std::to_string(statistics.count) + " samples, median " +
                               std::to_string(statistics.median_us) + " us"});

  result.verdict = Verdict::kCorrect;
  result.reason = "";
  result.detail = "verified on " + std::to_string(settings_.seeds) + " seeds x " +
                  std::to_string(request.shapes.size()) + " shapes and on the timed outputs; " +
                  "median " + std::to_string(statistics.median_us) + " us";
  result.stages.push_back(baseline(request, progress));
  result.stages.push_back(profile(request, progress));
  return std::move(result);
}

RunProgress RunStage::start(const RunStageRequest& request) const {
  const DeviceDescription& device = gpu_.device();
  const PythonInterpreter& python = reference_.python();
  RunProgress progress;
  // The references are computed on the evaluation's own GPU, never on another one that may be
  // timing a candidate (gpu.devices).
  progress.reference_device =
      python.cuda_available ? "cuda:" + std::to_string(device.ordinal) : "cpu";
  RunStageResult& result = progress.result;
  result.gpu = device.name;
  result.environment = {.gpu = device.name,
                        .gpu_arch = device.arch,
                        .driver = device.driver_version,
                        .cuda = cuda_version_text(device.cuda_driver_version),
                        .cupti = device.cupti_version,
                        .clock_khz = device.clock_khz,
                        .memory_clock_khz = device.memory_clock_khz,
                        .torch = python.torch_version,
                        .reference_device = progress.reference_device,
                        .device = device.ordinal};
  VerificationRecord& verification = result.evidence.verification.emplace();
  for (int seed = 0; seed < settings_.seeds; ++seed)
    verification.seeds.push_back(seed);
  for (const BoundShape& shape : request.shapes)
    verification.shapes.push_back(shape.name);
  const BoundShape& benchmark = request.shapes.front();
  if (!benchmark.signature->outputs.empty()) {
    Tolerance tolerance = default_tolerance(benchmark.signature->outputs.front().dtype);
    verification.atol = tolerance.atol;
    verification.rtol = tolerance.rtol;
  }
  return progress;
}

std::optional<RunFailure> RunStage::verify(const RunStageRequest& request, RunProgress& progress) {
  const Task& task = *request.task;
  VerificationRecord& verification = *progress.result.evidence.verification;
  for (int seed = 0; seed < settings_.seeds; ++seed) {
    bool benchmark_passed = false;
    for (const BoundShape& shape : request.shapes) {
      ReferenceRequest reference_request{.task = task_source(task),
                                         .constants = shape.constants,
                                         .seed = seed,
                                         .dtype = settings_.dtype,
                                         .device = progress.reference_device,
                                         .count_flops = shape.name == "benchmark" && seed == 0,
                                         .vary_scalars = true};
      ReferenceResult reference = reference_.run(reference_request);
      if (reference_request.count_flops) {
        progress.flops = reference.flops;
        progress.flops_method = reference.flops_method;
      }
      std::string where = "seed " + std::to_string(seed) + ", " + shape.name + " shape";
      // Scalar inputs come from get_inputs() too; where a seed's differ from the analysis the
      // plan is bound again to what this seed really passes.
      ResolvedPlan plan = shape.plan;
      if (reference.signature.to_json() != shape.signature->to_json()) {
        auto bound = bind_candidate(*request.candidate, request.ptx, reference.signature,
                                    request.defines, request.limits, request.footprints);
        if (!bound.ok())
          return RunFailure{Verdict::kPlanError, "at_" + shape.name + "_shape",
                            where + ": " + bound.error().message()};
        plan = std::move(bound).value();
      }

      JobDirectory job(gpu_);
      TensorMap sent = worker_tensors(reference);
      fs::path tensors_path = job.path() / "tensors.safetensors";
      write_tensors(tensors_path, sent);
      RunRequest run_request{.cubin = request.cubin,
                             .plan = plan.to_json(),
                             .tensors = tensors_path,
                             .outputs = output_specs(reference.signature),
                             .repeats = 2,
                             .out_dir = job.path()};
      CheckRecord check{.seed = seed, .shape = shape.name};
      auto reply = gpu_.run(run_request);
      if (const auto* failure = std::get_if<WorkerFailure>(&reply)) {
        RunFailure verdict = worker_failure_verdict(*failure, where);
        check.reason = verdict.reason;
        check.evidence["failure"] = failure_evidence(*failure);
        verification.checks.push_back(std::move(check));
        return verdict;
      }
      const RunReply& run_reply = std::get<RunReply>(reply);
      if (run_reply.outputs.size() != 2)
        throw Error("the GPU worker returned " + std::to_string(run_reply.outputs.size()) +
                        " output files for 2 repeats",
                    where);
      if (auto failed = out_of_bounds(run_reply.guard_violations, where)) {
        check.reason = failed->reason;
        check.evidence["guard_violations"] = violations_json(run_reply.guard_violations);
        verification.checks.push_back(std::move(check));
        return failed;
      }
      TensorMap first = read_worker_file(run_reply.outputs[0], "the first repeat's outputs");
      TensorMap second = read_worker_file(run_reply.outputs[1], "the second repeat's outputs");
      TensorMap after = read_worker_file(run_reply.inputs_after, "the inputs after the launches");

      // Each repeat under its own poison (the rule in sandbox/gpu_protocol.hpp).
      const std::map<std::string, Tolerance> tolerances = tolerances_for(reference);
      OutputsComparison first_result =
          compare_all(first, reference.outputs, run_reply.outputs[0], poison_byte_for_repeat(0),
                      tolerances, reference.outputs_float64);
      OutputsComparison second_result =
          compare_all(second, reference.outputs, run_reply.outputs[1], poison_byte_for_repeat(1),
                      tolerances, reference.outputs_float64);
      // The repeats against each other: a race shows as a difference beyond rounding.
      OutputsComparison repeats =
          compare_all(second, first, run_reply.outputs[1], poison_byte_for_repeat(1), tolerances);
      record_grounding(check.evidence, reference, tolerances);
      if (reference.scalar_factor)
        check.evidence["scalar_factor"] = *reference.scalar_factor;
      if (!reference.scalars_note.empty())
        check.evidence["scalars_note"] = reference.scalars_note;
      check.max_abs_error = std::max(first_result.max_abs_error, second_result.max_abs_error);
      check.max_rel_error = std::max(first_result.max_rel_error, second_result.max_rel_error);
      check.mismatch_count = first_result.mismatch_count;
      progress.max_abs_error = std::max(progress.max_abs_error, *check.max_abs_error);
      progress.max_rel_error = std::max(progress.max_rel_error, *check.max_rel_error);
      progress.mismatch_count += first_result.mismatch_count;

      // Inputs first: the worker uploads them once, so an input modified in any repeat is
      // still modified after the last, and the repeat after a modification computes from the
      // changed input (which would otherwise look like a race).
      std::optional<RunFailure> failed =
          modified_input(sent, after, run_reply.inputs_after, where, check.evidence);
      if (!failed)
        failed =
            judge_outputs(first_result, second_result, repeats,
                          shape.name != "benchmark" && benchmark_passed, where, check.evidence);
      if (failed) {
        check.reason = failed->reason;
        verification.checks.push_back(std::move(check));
        return failed;
      }
      check.passed = true;
      verification.checks.push_back(std::move(check));
      if (shape.name == "benchmark")
        benchmark_passed = true;
    }
  }
  verification.max_abs_error = progress.max_abs_error;
  verification.max_rel_error = progress.max_rel_error;
  verification.mismatch_count = progress.mismatch_count;
  return std::nullopt;
}

std::optional<RunFailure> RunStage::time(const RunStageRequest& request, RunProgress& progress) {
  const Task& task = *request.task;
  const BoundShape& benchmark = request.shapes.front();
  RunStageResult& result = progress.result;
  JobDirectory job(gpu_);
  std::vector<fs::path> input_sets;
  for (int index = 0; index < settings_.input_sets; ++index) {
    ReferenceResult set = reference_.run({.task = task_source(task),
                                          .seed = kRotationSeedBase + index,
                                          .dtype = settings_.dtype,
                                          .device = progress.reference_device,
                                          .float64_reference = false});
    input_sets.push_back(job.path() / ("set" + std::to_string(index) + ".safetensors"));
    write_tensors(input_sets.back(), worker_tensors(set));
  }
  // The fresh set: its reference outputs stay here; the worker sees its inputs only inside
  // the timed loop.
  ReferenceResult fresh = reference_.run({.task = task_source(task),
                                          .seed = kFreshSeed,
                                          .dtype = settings_.dtype,
                                          .device = progress.reference_device});
  fs::path fresh_path = job.path() / "fresh.safetensors";
  write_tensors(fresh_path, worker_tensors(fresh));
  TimeRequest time_request{.cubin = request.cubin,
                           .plan = benchmark.plan.to_json(),
                           .input_sets = input_sets,
                           .fresh_inputs = fresh_path,
                           .outputs = output_specs(*benchmark.signature),
                           .warmup = settings_.timing.warmup,
                           .min_samples = settings_.timing.min_samples,
                           .max_samples = settings_.timing.max_samples,
                           .target_spread = settings_.timing.target_spread,
                           .time_cap_ms = settings_.timing.time_cap_ms,
                           .flush_l2 = settings_.timing.flush_l2,
                           .out_dir = job.path()};
  auto timed = gpu_.time(time_request);
  if (const auto* failure = std::get_if<WorkerFailure>(&timed)) {
    RunFailure verdict = worker_failure_verdict(*failure, "timing at the benchmark shape");
    result.evidence.timing_failure = failure_evidence(*failure);
    return verdict;
  }
  const TimeReply& time_reply = std::get<TimeReply>(timed);
  if (time_reply.device_us.empty())
    throw Error("the GPU worker returned no timing samples", task.name);

  SampleSummary summary = summarize(time_reply.device_us);
  SampleSummary span = summarize(time_reply.span_us);
  result.timing = TimingRecord{
      .statistics = {.count = static_cast<int64_t>(summary.count),
                     .median_us = summary.median,
                     .min_us = summary.min,
                     .max_us = summary.max,
                     .mean_us = summary.mean,
                     .p10_us = summary.p10,
                     .p90_us = summary.p90,
                     .stddev_us = summary.stddev,
                     .cv = summary.cv},
      .span_us = span.median,
      .samples = time_reply.device_us,
      .span_samples = time_reply.span_us,
      .kernels_per_iteration = time_reply.kernels_per_iteration,
      .fresh_iteration = time_reply.fresh_iteration,
      .hit_time_cap = time_reply.hit_time_cap,
      .input_sets = settings_.input_sets,
      .method =
          "CUPTI activity: per timed iteration, the summed duration of the candidate's own "
          "kernels; L2 flushed before each timed iteration (not counted); warm-up " +
          std::to_string(settings_.timing.warmup) + "; rotating " +
          std::to_string(settings_.input_sets) + " input sets; until (p90 - p10) / median <= " +
          std::to_string(settings_.timing.target_spread) + " after " +
          std::to_string(settings_.timing.min_samples) + " samples, or " +
          std::to_string(settings_.timing.max_samples) + " samples, or " +
          std::to_string(settings_.timing.time_cap_ms) + " ms"};
  result.device_time_us = summary.median;

  // The outputs of the timed iteration on the fresh inputs.
  TensorMap fresh_outputs = read_worker_file(time_reply.fresh_outputs,
                                             "the outputs of the timed iteration on fresh inputs");
  if (auto failed = out_of_bounds(time_reply.guard_violations, "timing at the benchmark shape")) {
    result.evidence.timing_guard_violations = violations_json(time_reply.guard_violations);
    return failed;
  }
  OutputsComparison fresh_result =
      compare_all(fresh_outputs, fresh.outputs, time_reply.fresh_outputs, kFreshPoisonByte,
                  tolerances_for(fresh), fresh.outputs_float64);
  CheckRecord fresh_check{.seed = kFreshSeed,
                          .shape = "benchmark",
                          .passed = fresh_result.ok,
                          .timed = true,
                          .iteration = time_reply.fresh_iteration,
                          .max_abs_error = fresh_result.max_abs_error,
                          .max_rel_error = fresh_result.max_rel_error,
                          .mismatch_count = fresh_result.mismatch_count};
  if (!fresh_result.ok) {
    fresh_check.evidence.update(comparison_json(fresh_result));
    fresh_check.reason = "behaves_differently_when_timed";
  }
  result.evidence.verification->checks.push_back(std::move(fresh_check));
  progress.max_abs_error = std::max(progress.max_abs_error, fresh_result.max_abs_error);
  progress.max_rel_error = std::max(progress.max_rel_error, fresh_result.max_rel_error);
  if (!fresh_result.ok) {
    return RunFailure{Verdict::kSuspicious, "behaves_differently_when_timed",
                      "the outputs of timed iteration " +
                          std::to_string(time_reply.fresh_iteration) +
                          " on inputs first seen while timing are wrong (output '" +
                          fresh_result.output + "': " + fresh_result.comparison.detail + ")"};
  }
  int64_t launches = static_cast<int64_t>(benchmark.plan.launches.size());
  if (time_reply.kernels_per_iteration != launches) {
    return RunFailure{Verdict::kSuspicious, "unexpected_kernel_count",
                      "CUPTI saw " + std::to_string(time_reply.kernels_per_iteration) +
                          " kernels per timed iteration; the plan launches " +
                          std::to_string(launches)};
  }
  return std::nullopt;
}

std::optional<RunFailure> RunStage::floor(const RunStageRequest& request, RunProgress& progress) {
  if (!progress.result.timing)
    throw Error("the floor pass needs the time pass's median", request.task->name);
  const DeviceDescription& device = gpu_.device();
  const BoundShape& benchmark = request.shapes.front();
  const double median = progress.result.timing->statistics.median_us;
  // The device's measured figures, cached per GPU and driver.
  auto measured = find_device_measurements(store_, device.name, device.driver_version);
  bool complete = measured.contains(kTensorFullRate);
  for (const MeasurementName& entry : kMeasurementNames)
    complete = complete && measured.contains(entry.name);
  if (!complete) {
    auto measurement = gpu_.measure();
    if (const auto* failure = std::get_if<WorkerFailure>(&measurement))
      throw Error("measuring the GPU's bandwidth and peak rates failed: " + failure->message,
                  device.name);
    const DeviceMeasurement& figures = std::get<DeviceMeasurement>(measurement);
    if (!(figures.copy_bandwidth_bytes_per_s > 0) || !(figures.peak_fp32_flops_per_s > 0))
      throw Error("the GPU worker measured no bandwidth or peak rate", device.name);
    for (const MeasurementName& entry : kMeasurementNames)
      measured[entry.name] = {figures.*entry.field, figures.details, ""};
    measured[kTensorFullRate] = {figures.tensor_full_rate ? 1.0 : 0.0, figures.details, ""};
    for (const auto& [name, row] : measured)
      store_device_measurement(store_, device.name, device.driver_version, name, row);
  }
  const std::optional<double>& flops = progress.flops;
  const std::string& flops_method = progress.flops_method;
  FloorDecision floor = decide_floor(
      ceilings_from(measured), static_cast<double>(signature_bytes(*benchmark.signature)),
      flops.value_or(0), tensor_dtypes(*benchmark.signature), median);
  progress.result.evidence.floor = FloorRecord{
      .bytes = floor.bytes,
      .flops = floor.flops,
      .bandwidth_bytes_per_s = floor.bandwidth_bytes_per_s,
      .peak_flops_per_s = floor.peak_flops_per_s,
      .peak_basis = floor.peak_basis,
      .memory_us = floor.memory_us,
      .compute_us = floor.compute_us,
      .floor_us = floor.floor_us(),
      .fraction_of_floor = floor.fraction_of_floor(),
      .memory_margin = kMemoryFloorMargin,
      .compute_margin = kComputeFloorMargin,
      .memory_violated = floor.memory_violated,
      .compute_violated = floor.compute_violated,
      .bytes_counted = "every input, parameter and output tensor once, at the benchmark shape",
      .flops_counted =
          flops ? flops_method
                : "0 FLOPs: bytes-only floor (" +
                      (flops_method.empty() ? std::string("not counted") : flops_method) + ")"};
  if (!floor.suspicious())
    return std::nullopt;
  std::string binding = floor.compute_violated ? std::to_string(static_cast<int64_t>(floor.flops)) +
                                                     " FLOPs at the " + floor.peak_basis
                                               : std::to_string(static_cast<int64_t>(floor.bytes)) +
                                                     " bytes at the best measured bandwidth";
  return RunFailure{Verdict::kSuspicious, "faster_than_physical_floor",
                    "median device time " + std::to_string(median) +
                        " us is below the physical floor of " + std::to_string(floor.floor_us()) +
                        " us (" + binding + ", beyond the margin)"};
}

StageRecord RunStage::baseline(const RunStageRequest& request, RunProgress& progress) {
  if (!settings_.baselines)
    return {"baseline", StageStatus::kSkipped, 0, "timing.baselines is false"};
  if (!progress.result.timing)
    throw Error("the baseline pass needs the time pass's median", request.task->name);
  auto started = Clock::now();
  const DeviceDescription& device = gpu_.device();
  RunStageResult& result = progress.result;
  BaselinesRecord& baselines = result.evidence.baselines.emplace(
      baseline_for(store_, reference_, *request.task, device.name, device.ordinal, settings_));
  if (baselines.error)
    return {"baseline", StageStatus::kSkipped, milliseconds_since(started), *baselines.error};
  const double median = result.timing->statistics.median_us;
  result.speedup_eager = speedup(baselines.eager_us, median);
  result.speedup_compile = speedup(baselines.compile_us, median);
  return {"baseline", StageStatus::kOk, milliseconds_since(started),
          baselines.cached ? "from the store" : "timed"};
}

StageRecord RunStage::profile(const RunStageRequest& request, RunProgress& progress) {
  if (!settings_.profile)
    return {"profile", StageStatus::kSkipped, 0, "profile.enabled is false"};
  auto started = Clock::now();
  const Task& task = *request.task;
  const BoundShape& benchmark = request.shapes.front();
  JobDirectory job(gpu_);
  ReferenceResult set = reference_.run({.task = task_source(task),
                                        .seed = kRotationSeedBase,
                                        .dtype = settings_.dtype,
                                        .device = progress.reference_device,
                                        .float64_reference = false});
  fs::path inputs = job.path() / "profile.safetensors";
  write_tensors(inputs, worker_tensors(set));
  // The metric set by Nsight Compute name: CUPTI gets the counters (the worker computes the
  // launch metrics itself), ncu every metric, launch metrics included.
  ProfileRequest counters{.cubin = request.cubin,
                          .plan = benchmark.plan.to_json(),
                          .tensors = inputs,
                          .outputs = output_specs(*benchmark.signature),
                          .metrics = metric_names(MetricSource::kCounter),
                          .out_dir = job.path()};
  ProfileReply& profile = progress.result.profile.emplace();
  if (settings_.profiler != ProfilerChoice::kNcu) {
    auto profiled = gpu_.profile(counters);
    if (const auto* failure = std::get_if<WorkerFailure>(&profiled)) {
      // Counters are never worth a verdict: the kernels already ran, twice per check.
      profile.reason = ProfileUnavailableReason::kWorkerFailure;
      profile.detail =
          std::string(worker_failure_kind_name(failure->kind)) + ": " + failure->message;
    } else {
      profile = std::get<ProfileReply>(profiled);
    }
  }
  // auto: ncu where the machine refused CUPTI's counters (not where the candidate failed).
  const bool cupti_refused = profile.status == ProfileStatus::kUnavailable &&
                             profile.reason != ProfileUnavailableReason::kWorkerFailure;
  if (settings_.profiler == ProfilerChoice::kNcu ||
      (settings_.profiler == ProfilerChoice::kAuto && cupti_refused)) {
    std::vector<std::string> all = metric_names(MetricSource::kCounter);
    for (std::string& name : metric_names(MetricSource::kLaunch))
      all.push_back(std::move(name));
    counters.metrics = std::move(all);
    const GpuWorkerOptions& worker = gpu_.options();
    ProfileReply through_ncu =
        profile_with_ncu({.ncu = settings_.ncu,
                          .worker_program = worker.worker_program,
                          .worker_arguments = worker.worker_arguments,
                          .job = job.path() / "ncu",
                          .chip = chip_for_arch(gpu_.device().arch).value_or(""),
                          .time_limit = worker.time_limit},
                         counters);
    if (settings_.profiler == ProfilerChoice::kAuto &&
        through_ncu.status == ProfileStatus::kUnavailable)
      through_ncu.detail = through_ncu.detail + "; cupti: " + std::string(profile.reason_name()) +
                           (profile.detail.empty() ? "" : " (" + profile.detail + ")");
    profile = std::move(through_ncu);
  }
  if (profile.status == ProfileStatus::kUnavailable) {
    return {"profile", StageStatus::kSkipped, milliseconds_since(started),
            "counters unavailable: " + std::string(profile.reason_name()) +
                (profile.detail.empty() ? "" : " (" + profile.detail + ")")};
  }
  return {"profile", StageStatus::kOk, milliseconds_since(started),
          profile.profiler + ": " + std::to_string(profile.kernels.size()) + " kernels, " +
              std::to_string(profile.passes) + " passes, " + std::to_string(profile.overhead_ms) +
              " ms"};
}

}  // namespace kforge

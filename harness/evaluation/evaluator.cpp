#include "harness/evaluation/evaluator.hpp"

#include <algorithm>
#include <chrono>

#include "datasets/profile_records.hpp"
#include "datasets/records.hpp"
#include "datasets/store.hpp"
#include "harness/candidate/candidate_file.hpp"
#include "harness/candidate/ptx_entries.hpp"
#include "harness/evaluation/gpu_pool.hpp"
#include "harness/evaluation/stored_evaluation.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/hash.hpp"
#include "harness/util/version.hpp"
#include "sandbox/compile_pool.hpp"
#include "sandbox/gpu_worker_client.hpp"
#include "sandbox/source_policy.hpp"

namespace kforge {
namespace {

using Clock = std::chrono::steady_clock;

// How much of a source over the size limit the store keeps.
constexpr size_t kTooLargeSourceHeadBytes = 4096;

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The shapes a candidate must bind at: the benchmark shape, then every check shape.
std::vector<std::pair<std::string, const Signature*>> shapes_of(const Task& task) {
  std::vector<std::pair<std::string, const Signature*>> shapes;
  shapes.emplace_back("benchmark", &task.analysis->benchmark);
  for (const CheckShape& shape : task.analysis->check_shapes)
    shapes.emplace_back(shape.name, &shape.signature);
  return shapes;
}

// "<where>: define 'x' has the name of the task's input 'x'; ..." for the first define named
// like an input, parameter or output of `signature`, or "".
std::string define_name_clash(const LaunchPlan& plan, const Signature& signature) {
  for (const DefineSpec& spec : plan.defines) {
    for (const auto& [specs, role] :
         {std::pair{&signature.inputs, "input"}, std::pair{&signature.parameters, "parameter"},
          std::pair{&signature.outputs, "output"}}) {
      for (const TensorSpec& tensor : *specs) {
        if (tensor.name == spec.name)
          return spec.where + ": define '" + spec.name + "' has the name of the task's " + role +
                 " '" + spec.name + "'; rename the define";
      }
    }
  }
  return {};
}

// What ptxas reported per kernel, for the bind stage's register and shared memory checks.
std::vector<KernelFootprint> footprints_of(const CompileResult& compile) {
  std::vector<KernelFootprint> footprints;
  for (const KernelResources& kernel : compile.kernels)
    footprints.push_back({kernel.name, kernel.shared_bytes, kernel.registers});
  return footprints;
}

nlohmann::json launches_to_json(const ResolvedPlan& plan) {
  nlohmann::json launches = nlohmann::json::array();
  for (const ResolvedLaunch& launch : plan.launches) {
    launches.push_back({{"kernel", launch.kernel},
                        {"grid", launch.grid},
                        {"block", launch.block},
                        {"shared_bytes", launch.shared_bytes}});
  }
  int64_t scratch_bytes = 0;
  for (const ScratchAllocation& buffer : plan.scratch)
    scratch_bytes += buffer.bytes;
  return {{"launches", launches}, {"scratch_bytes", scratch_bytes}};
}

}  // namespace

Evaluator::Evaluator(Store& store, CompilePool& pool, EvaluatorOptions options)
    : store_(store), pool_(pool), options_(std::move(options)) {
  gpus_ = options_.gpus;
  if (gpus_ == nullptr && options_.gpu != nullptr && options_.reference != nullptr) {
    own_gpus_ = std::make_unique<GpuPool>(store_.path());
    own_gpus_->add_borrowed(options_.gpu->device().ordinal, *options_.gpu, *options_.reference);
    gpus_ = own_gpus_.get();
  }
}

Evaluator::~Evaluator() = default;

int Evaluator::parallelism() const {
  return pool_.worker_count();
}

int Evaluator::gpu_count() const {
  return gpus_ ? static_cast<int>(gpus_->size()) : 0;
}

EvaluationOutcome Evaluator::evaluate(const Task& task, const EvaluationRequest& request) {
  return complete(task, prepare(task, request));
}

PreparedCandidate Evaluator::prepare(const Task& task, EvaluationRequest request_value) const {
  if (!task.analysis)
    throw Error("task has not been analysed by the reference runner", task.name);
  PreparedCandidate prepared;
  prepared.request = std::move(request_value);
  const EvaluationRequest& request = prepared.request;
  EvaluationOutcome& outcome = prepared.outcome;
  outcome.arch = options_.arch;
  const bool gpu_runs = gpus_ != nullptr;
  std::vector<std::string> later_stages = {"parse", "compile", "bind"};
  if (gpu_runs) {
    later_stages.insert(later_stages.end(), {"verify", "time", "baseline"});
  } else {
    later_stages.push_back("run");
  }

  // Each stage either passes, or ends the evaluation with a verdict; the stages after a
  // failure are recorded as skipped, so every evaluation lists the whole pipeline.
  auto finish = [&](const std::string& failed_stage) {
    bool after = false;
    for (const std::string& name : later_stages) {
      if (name == failed_stage) {
        after = true;
        continue;
      }
      if (after)
        outcome.stages.push_back({name, StageStatus::kSkipped, 0, "an earlier stage failed"});
    }
  };
  auto fail = [&](const std::string& stage, Clock::time_point started, Verdict verdict,
                  std::string reason, std::string detail) {
    outcome.stages.push_back({stage, StageStatus::kFailed, milliseconds_since(started), detail});
    outcome.verdict = verdict;
    outcome.reason = std::move(reason);
    outcome.detail = std::move(detail);
    finish(stage);
  };

  std::optional<CandidateFile>& candidate = prepared.candidate;
  [&] {
    auto started = Clock::now();
    // The size and the encoding first: a source the compile would refuse is not parsed at all,
    // so that an oversized one costs nothing (and a plan error can never quote a bad byte).
    if (auto refused =
            check_source_text(request.source, request.file_name, pool_.max_source_bytes())) {
      outcome.stages.push_back(
          {"parse", StageStatus::kSkipped, 0, "the source was refused unread"});
      CompileResult compile;
      compile.status = refused->status;
      compile.detail = refused->detail;
      compile.arch = options_.arch;
      outcome.compile = compile;
      return fail("compile", started, Verdict::kCompileError,
                  std::string(compile_status_name(refused->status)), refused->detail);
    }
    auto parsed = parse_candidate(request.source, request.file_name);
    if (!parsed.ok())
      return fail("parse", started, Verdict::kPlanError, "malformed_plan",
                  parsed.error().message());
    candidate = std::move(parsed).value();
    outcome.plan = candidate->plan.to_json();
    try {
      outcome.defines = choose_define_values(candidate->plan, request.define_overrides);
    } catch (const PlanError& error) {
      return fail("parse", started, Verdict::kPlanError, "bad_define", error.message());
    }
    // A define is a macro: one named like a kernel parameter (`-Dx=256` over `const float* x`)
    // would break the compile, so the clash is a plan error before NVRTC sees it.
    if (std::string clash = define_name_clash(candidate->plan, task.analysis->benchmark);
        !clash.empty())
      return fail("parse", started, Verdict::kPlanError, "bad_define", clash);
    // Constraints before the compile: a point of a tuning space that breaks one costs nothing.
    for (const auto& [shape_name, signature] : shapes_of(task)) {
      auto holds = check_plan_constraints(candidate->plan, *signature, outcome.defines);
      if (!holds.ok())
        return fail("parse", started, Verdict::kPlanError, "constraint",
                    "at the " + shape_name + " shape: " + holds.error().message());
    }
    // sm_90a where the plan asks for architecture-specific code: compiled, cached and stored so.
    try {
      outcome.arch = choose_compile_arch(candidate->plan, options_.arch);
    } catch (const PlanError& error) {
      return fail("parse", started, Verdict::kPlanError, "arch_mismatch", error.message());
    }
    const Limits limits = options_.limits.for_arch(options_.arch);
    // The launch limits before the compile too (a block of more than 1024 threads, a grid or
    // block dimension or the dynamic shared memory over its limit, at any shape): such a point
    // gets the bind failure it would get after compiling, and NVRTC never sees it.
    for (const auto& [shape_name, signature] : shapes_of(task)) {
      auto within = check_plan_limits(candidate->plan, *signature, outcome.defines, limits);
      if (!within.ok()) {
        outcome.stages.push_back({"parse", StageStatus::kOk, milliseconds_since(started), ""});
        outcome.stages.push_back({"compile", StageStatus::kSkipped, 0,
                                  "the launch plan is over a limit, so nothing was compiled"});
        return fail("bind", Clock::now(), Verdict::kPlanError, "at_" + shape_name + "_shape",
                    "at the " + shape_name + " shape: " + within.error().message());
      }
    }
    outcome.stages.push_back({"parse", StageStatus::kOk, milliseconds_since(started), ""});

    started = Clock::now();
    CompileRequest compile_request{
        .source = candidate->source(), .arch = outcome.arch, .name = request.file_name};
    for (const auto& [name, value] : outcome.defines)
      compile_request.defines[name] = std::to_string(value);
    outcome.compile = pool_.compile(compile_request);
    if (!outcome.compile->ok()) {
      return fail("compile", started, Verdict::kCompileError,
                  std::string(compile_status_name(outcome.compile->status)),
                  outcome.compile->detail);
    }
    for (const KernelResources& kernel : outcome.compile->kernels) {
      int64_t local = std::max(kernel.local_bytes, kernel.stack_frame_bytes);
      if (local > options_.max_local_bytes_per_thread) {
        return fail("compile", started, Verdict::kCompileError, "local_memory_limit",
                    "kernel '" + kernel.name + "' needs " + std::to_string(local) +
                        " bytes of local memory per thread; the limit is " +
                        std::to_string(options_.max_local_bytes_per_thread));
      }
    }
    outcome.stages.push_back({"compile", StageStatus::kOk, milliseconds_since(started),
                              outcome.compile->from_cache ? "cache hit" : ""});

    started = Clock::now();
    std::string ptx = files::read(outcome.compile->ptx_path);
    prepared.footprints = footprints_of(*outcome.compile);
    nlohmann::json bindings = nlohmann::json::object();
    for (const auto& [shape_name, signature] : shapes_of(task)) {
      auto bound =
          bind_candidate(*candidate, ptx, *signature, outcome.defines, limits, prepared.footprints);
      if (!bound.ok()) {
        return fail("bind", started, Verdict::kPlanError, "at_" + shape_name + "_shape",
                    "at the " + shape_name + " shape: " + bound.error().message());
      }
      bindings[shape_name] = launches_to_json(bound.value());
      SizeConstants constants;
      for (const CheckShape& shape : task.analysis->check_shapes) {
        if (shape.name == shape_name)
          constants = shape.constants;
      }
      prepared.shapes.push_back({shape_name, constants, signature, std::move(bound).value()});
    }
    outcome.evidence.bindings = bindings;
    outcome.stages.push_back({"bind", StageStatus::kOk, milliseconds_since(started),
                              std::to_string(bindings.size()) + " shapes"});
    prepared.ptx = std::move(ptx);
    prepared.runnable = true;
  }();
  return prepared;
}

void Evaluator::run_on_gpu(const Task& task, PreparedCandidate& prepared) {
  if (!prepared.runnable || prepared.ran)
    return;
  prepared.ran = true;
  EvaluationOutcome& outcome = prepared.outcome;
  if (gpus_ == nullptr) {
    outcome.stages.push_back({"run", StageStatus::kSkipped, 0, options_.no_run_reason});
    outcome.verdict = Verdict::kCompiled;
    outcome.reason = "no_gpu";
    outcome.detail = options_.no_run_reason;
    return;
  }
  const RunStageRequest request{.task = &task,
                                .candidate = &*prepared.candidate,
                                .ptx = std::move(prepared.ptx),
                                .cubin = outcome.compile->cubin_path,
                                .defines = outcome.defines,
                                .limits = options_.limits.for_arch(options_.arch),
                                .shapes = std::move(prepared.shapes),
                                .footprints = prepared.footprints};
  RunStageResult ran;
  while (true) {
    GpuPool::Lease lease = gpus_->acquire();
    RunStage stage(lease.store(), lease.gpu(), lease.reference(), options_.run);
    std::optional<Error> failed;
    try {
      ran = stage.run(request);
    } catch (const Error& failure) {
      failed = failure;
    }
    // A worker killed during this candidate's stages whose replacement cannot start means the
    // device is gone, not that the candidate failed: the device leaves the pool and the
    // candidate runs again on another. One that starts again leaves the verdict as it is.
    if (std::string lost = lease.gpu().ensure_worker(); !lost.empty()) {
      gpus_->retire(lease, lost);
      continue;
    }
    if (failed)
      throw *failed;
    break;
  }
  outcome.stages.insert(outcome.stages.end(), ran.stages.begin(), ran.stages.end());
  outcome.verdict = ran.verdict;
  outcome.reason = ran.reason;
  outcome.detail = ran.detail;
  outcome.evidence.verification = std::move(ran.evidence.verification);
  outcome.evidence.timing_failure = std::move(ran.evidence.timing_failure);
  outcome.evidence.timing_guard_violations = std::move(ran.evidence.timing_guard_violations);
  outcome.evidence.floor = std::move(ran.evidence.floor);
  outcome.evidence.baselines = std::move(ran.evidence.baselines);
  outcome.gpu = ran.gpu;
  outcome.timing = ran.timing;
  outcome.device_time_us = ran.device_time_us;
  // Speedups are claimed for verified, plausible times only.
  if (ran.verdict == Verdict::kCorrect) {
    outcome.speedup_eager = ran.speedup_eager;
    outcome.speedup_compile = ran.speedup_compile;
  }
  outcome.environment = ran.environment;
  outcome.profile = std::move(ran.profile);
}

EvaluationOutcome Evaluator::complete(const Task& task, PreparedCandidate prepared) {
  return record(store_, task, std::move(prepared));
}

EvaluationOutcome Evaluator::record(Store& store, const Task& task, PreparedCandidate prepared) {
  run_on_gpu(task, prepared);
  const EvaluationRequest& request = prepared.request;
  EvaluationOutcome outcome = std::move(prepared.outcome);

  // A source refused as too large is kept as its hash, its size and its first bytes (cut at a
  // character boundary): writing megabytes the compile never looked at into the store would
  // make a hostile size cost seconds and grow every dataset built from it.
  std::string_view kept_source = request.source;
  if (outcome.compile && outcome.compile->status == CompileStatus::kTooLarge) {
    size_t head = std::min(kept_source.size(), kTooLargeSourceHeadBytes);
    while (head > 0 && head < kept_source.size() &&
           (static_cast<unsigned char>(kept_source[head]) & 0xC0) == 0x80)
      --head;
    kept_source = kept_source.substr(0, head);
    outcome.evidence.source_bytes = static_cast<int64_t>(request.source.size());
    outcome.evidence.source_stored_bytes = static_cast<int64_t>(kept_source.size());
  }

  // One transaction: the candidate and its evaluation are stored together or not at all.
  Store::Transaction transaction(store);
  CandidateRow candidate_row{.task_id = task.id,
                             .run_id = request.run_id,
                             .parent_id = request.parent_id,
                             .llm_exchange_id = request.llm_exchange_id,
                             .iteration = request.iteration,
                             .origin = request.origin,
                             .source = std::string(kept_source),
                             .source_hash = sha256_hex(request.source),
                             .plan = outcome.plan,
                             .defines = outcome.defines};
  outcome.candidate_id = insert_candidate(store, candidate_row);
  // The store's columns hold the record's parts in their JSON form, with its version.
  EvaluationRow evaluation_row = kforge::evaluation_row(
      outcome, request.run_id,
      HarnessBuild{.kforge = kVersion,
                   .commit = kGitCommit,
                   .nvrtc = outcome.compile ? outcome.compile->nvrtc_version : "",
                   .arch = options_.arch});
  outcome.evaluation_id = insert_evaluation(store, evaluation_row);
  if (outcome.profile) {
    nlohmann::json kernels = nlohmann::json::array();
    for (const KernelCounters& counters : outcome.profile->kernels)
      kernels.push_back(counters.to_json());
    insert_profile(store, {.evaluation_id = outcome.evaluation_id,
                           .status = outcome.profile->status,
                           .reason = outcome.profile->reason,
                           .detail = outcome.profile->detail,
                           .profiler = outcome.profile->profiler,
                           .chip = outcome.profile->chip,
                           .passes = outcome.profile->passes,
                           .overhead_ms = outcome.profile->overhead_ms,
                           .kernels = std::move(kernels)});
  }
  transaction.commit();
  return outcome;
}

}  // namespace kforge

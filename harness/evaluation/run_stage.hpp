// The evaluator's GPU stages, for a candidate that compiled and whose plan bound at every shape.
// The parent holds the references and compares; the GPU worker (through GpuWorkerClient) only
// runs the candidate on the tensors it is given. docs/design.md's protocols, in order, each a named
// pass of RunStage (verify, time, floor, baseline) that fills its part of the typed record
// (evaluation_record.hpp):
//
//   verify   — per seed (verify.seeds), at the benchmark shape and then every check shape:
//              inputs, parameters and reference outputs from ReferenceRunner::run (seeds after
//              0 scale the task's float scalar inputs, so the plan is bound again to them; for
//              float32 the reference is also computed in float64); the worker runs the plan
//              twice on the same inputs, outputs poisoned before each launch; the parent checks
//              the inputs after the launches against those sent, bit for bit (first: a change
//              in any repeat is still there after the last), then compares both repeats with
//              the reference (compare.hpp: per-dtype tolerance, float32 grounded in PyTorch's
//              own error against float64, unwritten elements, NaN/Inf) and with each other. The
//              first failing check decides the verdict; every check run so far is kept as
//              evidence, with each check's float32 grounding and scalar factor.
//   time     — at the benchmark shape: input sets from other seeds to rotate among, and one
//              more set (fresh) whose reference the parent computed but never sent before
//              timing. The worker times with CUPTI (device time of the candidate's own kernels
//              per iteration, L2 flushed, warm-up, repeated to a spread target or cap) and
//              returns the outputs of the timed iteration that ran on the fresh set; the parent
//              checks them.
//   floor    — recorded as part of the time stage: the physical floor (profiler/statistics.hpp
//              decide_floor, docs/judge.md): every input, parameter and output byte at the
//              benchmark shape over the best measured bandwidth (read-only, write-only, copy
//              kernels, memcpy, the bus's theoretical rate), and the reference's FLOPs (where torch
//              counts them) over the peak for the task's dtypes, or no compute floor where none was
//              measured; 10% margin for memory, 25% for compute.
//   baseline — PyTorch eager and torch.compile of the task on the same GPU, timed the same
//              way by the reference runner, cached in the store per task, shape, dtype, GPU
//              and torch version; speedup = baseline median / candidate median.
//   profile  — hardware counters (CUPTI range profiler in the worker, a pass of its own that is
//              never timed) for each launch of the plan at the benchmark shape on one rotation
//              input set: the metric set of profiler/metric_set.hpp by Nsight Compute name,
//              the passes they needed and the overhead. By default only for a `correct`
//              candidate (profile.only_correct = false adds `incorrect` and `suspicious` ones,
//              whose kernels ran to completion); profile.enabled = false skips it. It never
//              changes the verdict: counters the machine does not allow, and a worker failure
//              while profiling, are a profile with status `unavailable` and the reason.
//              profile.profiler = ncu collects the same metric set through Nsight Compute's CLI
//              around a one-shot worker instead, and auto where CUPTI's counters are refused
//              (ncu_profile.hpp); the reply says which (`profiler`).
//
// Verdicts decided here:
//   incorrect  — reasons mismatch, nan_or_inf, unwritten_output, shape, dtype (the output's
//                comparison; unwritten_output also where only one repeat left its poison: the
//                kernel reads the output it should write, right under one of the two poison
//                patterns only), out_of_bounds_write (a guard zone around a buffer changed, in
//                verify or while timed), inputs_modified (in any repeat, whatever the outputs),
//                non_deterministic (the two repeats disagree: one passes and one fails, or they
//                differ beyond the tolerance),
//                wrong_on_check_shape (an output fails at a check shape after the benchmark
//                shape passed on the same seed).
//   suspicious — behaves_differently_when_timed (the fresh timed iteration's outputs fail),
//                unexpected_kernel_count (CUPTI saw another number of kernels per iteration
//                than the plan launches), faster_than_physical_floor. Never `correct`.
//   launch_error, runtime_error, timeout — from the worker's WorkerFailure kind; out_of_memory
//                is launch_error (the plan's buffers could not be provided, so none of its
//                code ran), worker_crashed is runtime_error with the worker's stderr tail.
//   correct    — every check passed, the timed outputs passed, and the time is above the floor.
// A WorkerFailure of kind bad_request, or a reply that lacks a promised file or tensor, is
// kforge's own failure and throws Error.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/candidate/candidate_file.hpp"
#include "harness/candidate/plan_validation.hpp"
#include "harness/evaluation/evaluation_record.hpp"
#include "harness/evaluation/stage_record.hpp"
#include "harness/options/run_settings.hpp"
#include "harness/task.hpp"
#include "harness/verdict.hpp"
#include "sandbox/gpu_protocol.hpp"

namespace kforge {

class Config;
class GpuWorkerClient;
class ReferenceRunner;
class Store;
struct WorkerFailure;

// Seeds of the timing protocol's input sets, far from the verification seeds so that no timed
// input was seen before timing began.
inline constexpr int64_t kRotationSeedBase = 1000;
inline constexpr int64_t kFreshSeed = 2024;

// One shape the plan was bound at in the bind stage.
struct BoundShape {
  std::string name;         // "benchmark", "small", "odd"
  SizeConstants constants;  // overrides for the reference runner; empty for the benchmark
  const Signature* signature = nullptr;
  ResolvedPlan plan;
};

struct RunStageRequest {
  const Task* task = nullptr;
  const CandidateFile* candidate = nullptr;  // to bind again where a seed's scalars differ
  std::string ptx;
  std::filesystem::path cubin;
  std::map<std::string, int64_t> defines;
  Limits limits;
  std::vector<BoundShape> shapes;           // the benchmark shape first
  std::vector<KernelFootprint> footprints;  // the compile's, to bind again with the same checks
};

struct RunStageResult {
  Verdict verdict = Verdict::kCorrect;
  std::string reason;
  std::string detail;
  // The run's parts of the evidence: verification (checks, seeds, shapes, errors), the timing
  // failure or guard violations, the floor, the baselines.
  EvidenceRecord evidence;
  std::optional<TimingRecord> timing;  // samples and statistics
  std::optional<double> device_time_us, speedup_eager, speedup_compile;
  std::vector<StageRecord> stages;      // verify, time, baseline, profile (skipped after a failure)
  std::optional<ProfileReply> profile;  // where the profile stage ran
  std::string gpu;                      // the device's name
  RunEnvironment environment;           // driver, CUDA, torch, clocks
};

// A failed check or a worker's failure: what decides a verdict.
struct RunFailure {
  Verdict verdict = Verdict::kIncorrect;
  std::string reason;
  std::string detail;
};

// A GPU worker's failure as a verdict, by its kind (the table above): the reason is the kind's
// name, or for a runtime_error the CUDA error that names the fault. bad_request is kforge's own
// fault and throws Error naming `where`.
RunFailure worker_failure_verdict(const WorkerFailure& failure, const std::string& where);

// What the passes hand on: the result they fill, and what one pass found for a later one.
struct RunProgress {
  RunStageResult result;
  std::string
      reference_device;  // "cuda:N" (the worker's device) where torch sees a GPU, else "cpu"
  // The reference's FLOPs at the benchmark shape (seed 0) and how torch counted them, for the
  // floor.
  std::optional<double> flops;
  std::string flops_method;
  // The largest errors and the mismatches over the checks so far.
  double max_abs_error = 0, max_rel_error = 0;
  int64_t mismatch_count = 0;
};

// The run stage as named passes in pipeline order: verify, then time and floor (recorded
// together as the `time` stage), then baseline. `run` starts the result, runs the passes and
// records each one's duration; a pass that returns a failure ends the run with its verdict, the
// stages after it recorded as skipped. The passes are public so that each can be tested alone,
// on the progress of those before it.
class RunStage {
 public:
  RunStage(Store& store, GpuWorkerClient& gpu, ReferenceRunner& reference, RunSettings settings);

  RunStageResult run(const RunStageRequest& request);

  // The result before any pass: the GPU's name, the environment, the seeds, shapes and
  // tolerance the checks will use.
  RunProgress start(const RunStageRequest& request) const;
  // Every seed at every shape, each check kept as evidence; the first failing check decides.
  std::optional<RunFailure> verify(const RunStageRequest& request, RunProgress& progress);
  // CUPTI timing at the benchmark shape, then the check of the timed outputs on fresh inputs
  // and of the kernel count.
  std::optional<RunFailure> time(const RunStageRequest& request, RunProgress& progress);
  // The physical floor for the timed median (after `time`); the device's figures are measured
  // once per GPU and driver and cached in the store.
  std::optional<RunFailure> floor(const RunStageRequest& request, RunProgress& progress);
  // The PyTorch baselines and the speedups over them (after `time`); never fails the
  // candidate. Returns the stage's status and detail.
  StageRecord baseline(const RunStageRequest& request, RunProgress& progress);
  // Hardware counters per launch at the benchmark shape; never fails the candidate (an
  // unavailable profile says why). Returns the stage's status and detail.
  StageRecord profile(const RunStageRequest& request, RunProgress& progress);

 private:
  Store& store_;
  GpuWorkerClient& gpu_;
  ReferenceRunner& reference_;
  RunSettings settings_;
};

// The PyTorch baselines of `task` at its benchmark shape on `gpu`: from the store's baselines
// table, else timed by `reference` and stored. Returns the medians with how they were found, or
// only the error where the runner refused (no CUDA) or failed; never throws for that.
BaselinesRecord baseline_for(Store& store, ReferenceRunner& reference, const Task& task,
                             const std::string& gpu, int device_index, const RunSettings& settings);

// Baseline median over candidate median, or nullopt where either is missing or not positive.
std::optional<double> speedup(std::optional<double> baseline_us, double candidate_us);

}  // namespace kforge

// The evaluation record: everything one evaluation found, as one typed value with one JSON form.
// The evaluator fills it (the run stage's passes fill the GPU parts), the store persists its
// parts (evaluations.evidence, stages, compile, timing), and the CLI's report, promotion and
// agent feedback read them. `to_json` writes the record with `version`; `from_json` reads it back
// and refuses a malformed record, or one of another version, with an Error naming the field
// ("evidence.checks[2].seed").
//
// The JSON of every part is the shape the store has always held (same keys, same values), so
// rows written before the record existed read as version 1 records.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/evaluation/stage_record.hpp"
#include "harness/reference_runner.hpp"
#include "harness/verdict.hpp"
#include "sandbox/compile_types.hpp"
#include "sandbox/gpu_protocol.hpp"

namespace kforge {

inline constexpr int kEvaluationRecordVersion = 1;

// One check of the verification protocol: a seed at a shape (or the timed iteration on fresh
// inputs), whether it passed, why not, its errors, and the rest of its evidence (the first
// mismatches, the worker's failure, guard violations, the float32 grounding, the repeats, ...)
// as the comparison wrote it.
struct CheckRecord {
  int64_t seed = 0;
  std::string shape;
  bool passed = false;
  std::optional<std::string> reason;  // null where the check passed
  bool timed = false;                 // the timed iteration on fresh inputs
  std::optional<int64_t> iteration;   // which timed iteration, where timed
  std::optional<double> max_abs_error, max_rel_error;
  std::optional<int64_t> mismatch_count;  // absent where no output was compared
  nlohmann::json evidence = nlohmann::json::object();

  nlohmann::json to_json() const;
  // `path`: where the check sits in the record ("evidence.checks[2]"), for errors.
  static CheckRecord from_json(const nlohmann::json& json, const std::string& path,
                               const std::string& where);
};

// The verification protocol's summary: what was run, the tolerance, every check so far, and the
// largest errors over them.
struct VerificationRecord {
  std::vector<int64_t> seeds;
  std::vector<std::string> shapes;
  std::optional<double> atol, rtol;  // the first output's dtype's defaults
  std::vector<CheckRecord> checks;
  std::optional<double> max_abs_error, max_rel_error;
  std::optional<int64_t> mismatch_count;
};

// Sample statistics in microseconds (profiler/statistics.hpp's SampleSummary, as stored).
struct TimingStatistics {
  int64_t count = 0;
  double median_us = 0, min_us = 0, max_us = 0, mean_us = 0, p10_us = 0, p90_us = 0, stddev_us = 0,
         cv = 0;
};

// The timing protocol's result at the benchmark shape: every sample kept, with its statistics.
struct TimingRecord {
  TimingStatistics statistics;  // of the per-iteration device times
  double span_us = 0;           // median first-kernel-start to last-kernel-end
  std::vector<double> samples, span_samples;
  int64_t kernels_per_iteration = 0;
  int64_t fresh_iteration = 0;
  bool hit_time_cap = false;
  int64_t input_sets = 0;
  std::string method;

  nlohmann::json to_json() const;
  static TimingRecord from_json(const nlohmann::json& json, const std::string& where);
};

// The physical floor as decided (profiler/statistics.hpp decide_floor), with how bytes and
// FLOPs were counted.
struct FloorRecord {
  double bytes = 0, flops = 0;
  double bandwidth_bytes_per_s = 0;
  std::optional<double> peak_flops_per_s;
  std::string peak_basis;
  double memory_us = 0, compute_us = 0, floor_us = 0, fraction_of_floor = 0;
  double memory_margin = 0, compute_margin = 0;
  bool memory_violated = false, compute_violated = false;
  std::string bytes_counted, flops_counted;

  nlohmann::json to_json() const;
  static FloorRecord from_json(const nlohmann::json& json, const std::string& where);
};

// The PyTorch baselines at the benchmark shape on the candidate's GPU: medians (or why not),
// or, where the runner refused or failed, only the error.
struct BaselinesRecord {
  std::optional<std::string> error;  // set: nothing else is, but `kind` where the runner said
  std::optional<ReferenceFailureKind> kind;
  std::optional<double> eager_us, compile_us;
  std::string torch_version, gpu, shape, dtype;
  bool cached = false;  // from the store's baselines table
  // Per mode, as the baselines table holds them.
  std::optional<nlohmann::json> eager_statistics, compile_statistics;
  std::optional<nlohmann::json> eager_error, compile_error;

  nlohmann::json to_json() const;
  static BaselinesRecord from_json(const nlohmann::json& json, const std::string& where);
};

// What the evaluation leaves as evidence besides its verdict; every part is absent where the
// stage that writes it did not run.
struct EvidenceRecord {
  std::optional<nlohmann::json> bindings;  // per shape: launches and scratch bytes (bind)
  std::optional<VerificationRecord> verification;
  std::optional<nlohmann::json> timing_failure;           // the worker's failure while timing
  std::optional<nlohmann::json> timing_guard_violations;  // written out of bounds while timed
  std::optional<FloorRecord> floor;
  std::optional<BaselinesRecord> baselines;
  std::optional<int64_t> source_bytes, source_stored_bytes;  // a source refused as too large

  nlohmann::json to_json() const;
  static EvidenceRecord from_json(const nlohmann::json& json, const std::string& where);
};

// Where the numbers were taken: the GPU, its driver and clocks, CUDA, CUPTI and torch.
struct RunEnvironment {
  std::string gpu, gpu_arch, driver, cuda, cupti;
  int64_t clock_khz = 0, memory_clock_khz = 0;
  std::string torch, reference_device;
  // The ordinal of the GPU the candidate ran on (gpu.devices); absent in records stored before
  // kforge ran on several GPUs.
  std::optional<int64_t> device;

  nlohmann::json to_json() const;
  static RunEnvironment from_json(const nlohmann::json& json, const std::string& where);
};

struct EvaluationRecord {
  Verdict verdict = Verdict::kCompileError;
  std::string reason;  // short cause ("nvrtc_error", "argument_mismatch", "no_gpu", ...)
  std::string detail;  // one line for people
  EvidenceRecord evidence;
  std::vector<StageRecord> stages;
  std::optional<CompileResult> compile;  // the summary: status, log, per-kernel resources
  std::map<std::string, int64_t> defines;
  std::optional<nlohmann::json> plan;  // the candidate's launch plan; not part of the JSON form
  // Hardware counters per launch, where the profile stage ran (stored in `profiles`, not part
  // of the JSON form).
  std::optional<ProfileReply> profile;
  std::string arch;
  // Set where the candidate ran on a GPU.
  std::string gpu;
  std::optional<TimingRecord> timing;
  std::optional<double> device_time_us, speedup_eager, speedup_compile;
  RunEnvironment environment;
  int64_t candidate_id = 0;
  int64_t evaluation_id = 0;

  nlohmann::json to_json() const;
  // Throws Error naming the field (and `where`, a file or "evaluation record") on a malformed
  // record or another version.
  static EvaluationRecord from_json(const nlohmann::json& json,
                                    const std::string& where = "evaluation record");
};

// The parts as the store's evaluations columns hold them.
nlohmann::json stages_to_json(const std::vector<StageRecord>& stages);
nlohmann::json compile_summary_to_json(const CompileResult& compile);

}  // namespace kforge

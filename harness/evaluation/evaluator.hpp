// The evaluation pipeline: one candidate in, exactly one verdict out, with its evidence, stored.
// It is a sequence of named stages, each timed and recorded:
//   parse   — the .cu file and its launch plan               (fails: plan_error)
//   compile — NVRTC in a sandboxed worker                    (fails: compile_error)
//   bind    — the plan against the task's signature at the benchmark shape and every check
//             shape, the compiled PTX's parameters and the limits        (fails: plan_error)
//   verify, time, baseline — on a GPU, through a GpuWorkerClient (run_stage.hpp: the
//             verification and timing protocols, the physical floor, PyTorch baselines)
// A candidate that gets through bind with no GPU worker to run on gets `compiled`: nothing ran,
// and nothing is claimed about it; its last stage is recorded as `run`, skipped.
//
// The stages split in three calls so that a loop can overlap them: `prepare` (parse, compile,
// bind) touches neither the store nor the GPU and may run on several threads at once, the
// compiles going to the pool's workers; `run_on_gpu` (the GPU stages) may too, each call
// leasing one device of the GPU pool (gpu_pool.hpp) for the whole of its stages, so a device
// runs one candidate at a time while every device of the pool is busy; `record` stores the
// candidate and its evaluation through the caller's store connection, one thread per
// connection. `complete` is the last two, `evaluate` all three, in a row.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/candidate/plan_validation.hpp"
#include "harness/evaluation/evaluation_record.hpp"
#include "harness/evaluation/run_stage.hpp"
#include "harness/evaluation/stage_record.hpp"
#include "harness/options/evaluator_options.hpp"
#include "harness/task.hpp"
#include "harness/verdict.hpp"
#include "sandbox/compile_types.hpp"

namespace kforge {

class CompilePool;
class GpuPool;
class GpuWorkerClient;
class ReferenceRunner;
class Store;

struct EvaluationRequest {
  std::string source;
  std::string file_name = "candidate.cu";               // for messages only
  std::map<std::string, std::string> define_overrides;  // --define NAME=VALUE
  std::string origin = "human";                         // llm, tune, human, replay, seed, mcp
  std::optional<int64_t> run_id, parent_id, llm_exchange_id, iteration;
};

// What an evaluation found: the typed record (evaluation_record.hpp), with the ids the store
// gave the candidate and its evaluation.
using EvaluationOutcome = EvaluationRecord;

// What parse, compile and bind made of a candidate, waiting for `complete`.
struct PreparedCandidate {
  EvaluationRequest request;
  EvaluationOutcome outcome;  // the stages so far; verdict and reason set when one failed
  bool runnable = false;      // parse, compile and bind all passed
  std::optional<CandidateFile> candidate;
  std::string ptx;                          // what the compile produced, for binding again
  std::vector<BoundShape> shapes;           // the benchmark shape, then each check shape
  std::vector<KernelFootprint> footprints;  // the compile's registers and static shared memory
  bool ran = false;                         // run_on_gpu has filled in the GPU stages
};

class Evaluator {
 public:
  Evaluator(Store& store, CompilePool& pool, EvaluatorOptions options);
  ~Evaluator();

  // Evaluates `request` against `task` (which must be analysed) and stores the candidate and
  // its evaluation in one transaction. A bad candidate is a verdict; only a broken tool
  // (store, worker start) throws Error.
  EvaluationOutcome evaluate(const Task& task, const EvaluationRequest& request);

  // Parse, compile and bind. Thread-safe; stores nothing. A bad candidate is a prepared
  // candidate with its verdict set; only a broken tool throws Error.
  PreparedCandidate prepare(const Task& task, EvaluationRequest request) const;
  // The GPU stages, on the next free device of the GPU pool (waiting for one), or the
  // `compiled` verdict where no GPU runs; nothing for a candidate that failed before. Thread-safe;
  // stores nothing but the device caches (measurements, baselines) on the device's own store
  // connection. A device lost on the way (its worker died and cannot start again) is retired and
  // the candidate runs on another; Error when none is left.
  void run_on_gpu(const Task& task, PreparedCandidate& prepared);
  // Stores the candidate and its evaluation in one transaction in `store` (running the GPU
  // stages first where run_on_gpu has not). One thread per store connection.
  EvaluationOutcome record(Store& store, const Task& task, PreparedCandidate prepared);
  // Run (where a GPU is) and store in the Evaluator's store. One thread at a time.
  EvaluationOutcome complete(const Task& task, PreparedCandidate prepared);

  // How many candidates `prepare` can usefully work on at once (the compile workers).
  int parallelism() const;
  // How many candidates run on GPUs at once (the devices of the pool; 0 where none runs).
  int gpu_count() const;
  // The GPU pool; none where nothing runs.
  GpuPool* gpus() const { return gpus_; }

 private:
  Store& store_;
  CompilePool& pool_;
  EvaluatorOptions options_;
  std::unique_ptr<GpuPool> own_gpus_;  // a pool of one made of options.gpu and .reference
  GpuPool* gpus_ = nullptr;
};

}  // namespace kforge

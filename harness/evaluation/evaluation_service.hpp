// Everything a command needs to evaluate candidates, assembled once from a workspace and its
// configuration: the driver probe, the GPU session (worker and reference runner, or the reason
// nothing runs), the architecture to compile for, the evaluator options (plan limits, local
// memory per thread, run settings) and the sandboxed compile pool, handed out as one Evaluator.
// `kforge eval`, `kforge optimize` and `kforge library verify` each open one and use nothing
// else, so a configuration key read here reaches every command that evaluates (a second copy
// of this set-up is how `optimize` came to ignore `compile.max_local_bytes`, and `library verify`
// to run nothing on a GPU).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "datasets/run_records.hpp"
#include "harness/environment.hpp"
#include "harness/evaluation/evaluator.hpp"
#include "harness/evaluation/gpu_pool.hpp"
#include "sandbox/compile_pool.hpp"

namespace kforge {

class Config;
struct DeviceDescription;
class GpuSession;
class Workspace;

struct EvaluationServiceOptions {
  // What to compile for; "" takes the GPU worker's architecture, else the first GPU the driver
  // shows, else the configuration's `arch`.
  std::string arch;
  // Compile workers; 0 takes `compile.workers` (where 0 is one per core). A command that
  // evaluates one candidate at a time asks for 1.
  int compile_workers = 0;
  // The program and its arguments to start instead of `kforge worker gpu`, whether or not a GPU
  // is visible (tests: tests/support/emulated_gpu_worker.py); empty: the real worker where the
  // driver shows a GPU. The CLI takes it from KFORGE_GPU_WORKER (cli/context.hpp).
  std::vector<std::string> gpu_worker_command;
};

// One candidate evaluated in a run of its own: what `kforge eval` and the MCP server's
// `evaluate` store. `outcome` is empty when the caller cancelled before the GPU stages.
struct RunEvaluation {
  int64_t run_id = 0;
  std::optional<EvaluationOutcome> outcome;
};

// Hooks for a caller that reports progress or can be cancelled (the MCP server); both optional.
struct RunEvaluationHooks {
  // Hears "compile" before parse, compile and bind, and "run" before the GPU stages and the store.
  std::function<void(const std::string& stage)> on_stage;
  // Asked after compile and bind: true stops there, nothing stored, the run `interrupted`.
  std::function<bool()> cancelled;
};

class EvaluationService {
 public:
  // Probes the driver, opens the GPU session and starts the compile workers. A GPU worker that
  // cannot start leaves the service compile-only, with the reason; a compile pool that cannot
  // start (no NVRTC) throws Error, before the caller has recorded anything.
  EvaluationService(Workspace& workspace, EvaluationServiceOptions options = {});
  ~EvaluationService();
  EvaluationService(const EvaluationService&) = delete;
  EvaluationService& operator=(const EvaluationService&) = delete;

  Evaluator& evaluator() { return *evaluator_; }
  const EvaluatorOptions& options() const { return options_; }
  const std::string& arch() const { return options_.arch; }
  // Whether a GPU worker runs candidates (otherwise a candidate that binds is `compiled`).
  bool runs() const;
  // The device the worker runs candidates on; none when nothing runs.
  std::optional<std::string> gpu_name() const;
  // What the GPU worker said of its device (driver, CUDA); none when nothing runs.
  const DeviceDescription* device() const;
  // The devices of gpu.devices whose worker did not start, with the reasons (the others run).
  const std::vector<LostDevice>& devices_not_started() const;
  // The GPUs the driver shows (none without a driver or a GPU).
  const std::vector<GpuInfo>& gpus() const { return gpus_; }

  // Records `run` (its kind, agent and request as the caller gives them; configuration and GPU
  // filled in here), evaluates `request` against `task` and stores it, and finishes the run:
  // `completed` with the verdict and candidate, `failed` with the error when a tool broke (the
  // Error is rethrown), `interrupted` when `hooks.cancelled` said so.
  RunEvaluation evaluate_in_run(const Task& task, EvaluationRequest request, RunRow run,
                                const RunEvaluationHooks& hooks = {});

  // The evaluator options the configuration gives, compiling for `arch`; no GPU attached.
  static EvaluatorOptions evaluator_options(const Config& config, const std::string& arch);
  // The compile pool the workspace's configuration gives, with `workers` (0: compile.workers).
  static CompilePoolOptions compile_pool_options(const Workspace& workspace, int workers);

 private:
  Workspace& workspace_;
  std::vector<GpuInfo> gpus_;
  std::unique_ptr<GpuSession> session_;
  EvaluatorOptions options_;
  std::unique_ptr<CompilePool> pool_;
  std::unique_ptr<Evaluator> evaluator_;
};

}  // namespace kforge

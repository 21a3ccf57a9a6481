#include "harness/evaluation/evaluation_service.hpp"

#include "harness/evaluation/gpu_session.hpp"
#include "harness/util/error.hpp"
#include "harness/workspace.hpp"
#include "sandbox/gpu_worker_client.hpp"

namespace kforge {

EvaluationService::EvaluationService(Workspace& workspace, EvaluationServiceOptions options)
    : workspace_(workspace) {
  probe_cuda_driver(&gpus_);
  session_ = std::make_unique<GpuSession>(workspace, static_cast<int>(gpus_.size()),
                                          options.gpu_worker_command);
  const std::string arch = !options.arch.empty()       ? options.arch
                           : !session_->arch().empty() ? session_->arch()
                           : !gpus_.empty()            ? gpus_.front().arch
                                                       : workspace.config().string("arch");
  options_ = evaluator_options(workspace.config(), arch);
  session_->configure(options_);
  pool_ = std::make_unique<CompilePool>(compile_pool_options(workspace, options.compile_workers));
  evaluator_ = std::make_unique<Evaluator>(workspace.store(), *pool_, options_);
}

EvaluationService::~EvaluationService() = default;

bool EvaluationService::runs() const {
  return session_->runs();
}

const std::vector<LostDevice>& EvaluationService::devices_not_started() const {
  return session_->devices_not_started();
}

std::optional<std::string> EvaluationService::gpu_name() const {
  if (!session_->runs())
    return std::nullopt;
  return session_->gpu()->device().name;
}

RunEvaluation EvaluationService::evaluate_in_run(const Task& task, EvaluationRequest request,
                                                 RunRow run, const RunEvaluationHooks& hooks) {
  Store& store = workspace_.store();
  run.config = workspace_.config().to_json();
  run.gpu = gpu_name();
  RunEvaluation result{.run_id = insert_run(store, run)};
  request.run_id = result.run_id;
  try {
    if (hooks.on_stage)
      hooks.on_stage("compile");
    PreparedCandidate prepared = evaluator_->prepare(task, std::move(request));
    if (hooks.cancelled && hooks.cancelled()) {
      finish_run(store, result.run_id, RunStatus::kInterrupted, {{"cancelled", true}});
      return result;
    }
    if (hooks.on_stage)
      hooks.on_stage("run");
    result.outcome = evaluator_->complete(task, std::move(prepared));
  } catch (const Error& failure) {
    // A broken tool (a full disk, say) ends the run as failed rather than leaving it running;
    // when the store itself cannot be written either, the error rethrown still says why.
    try {
      finish_run(store, result.run_id, RunStatus::kFailed, {{"error", failure.what()}});
    } catch (const Error&) {
    }
    throw;
  }
  finish_run(store, result.run_id, RunStatus::kCompleted,
             {{"verdict", verdict_name(result.outcome->verdict)},
              {"candidate_id", result.outcome->candidate_id}});
  return result;
}

const DeviceDescription* EvaluationService::device() const {
  return session_->runs() ? &session_->gpu()->device() : nullptr;
}

EvaluatorOptions EvaluationService::evaluator_options(const Config& config,
                                                      const std::string& arch) {
  EvaluatorOptions options;
  options.arch = arch;
  options.limits = Limits::from_config(config);
  options.max_local_bytes_per_thread = config.integer("compile.max_local_bytes");
  options.run = RunSettings::from_config(config);
  return options;
}

CompilePoolOptions EvaluationService::compile_pool_options(const Workspace& workspace,
                                                           int workers) {
  const Config& config = workspace.config();
  CompilePoolOptions options;
  options.workers = workers > 0 ? workers : static_cast<int>(config.integer("compile.workers"));
  options.time_limit = std::chrono::seconds(config.integer("compile.timeout_s"));
  options.memory_mb = config.integer("compile.memory_mb");
  options.cache_dir = workspace.cache_dir("compile");
  return options;
}

}  // namespace kforge

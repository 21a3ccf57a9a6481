#include "harness/evaluation/evaluation_service.hpp"

#include "harness/evaluation/gpu_session.hpp"
#include "harness/workspace.hpp"
#include "sandbox/gpu_worker_client.hpp"

namespace kforge {

EvaluationService::EvaluationService(Workspace& workspace, EvaluationServiceOptions options) {
  probe_cuda_driver(&gpus_);
  session_ = std::make_unique<GpuSession>(workspace, !gpus_.empty(), options.gpu_worker_command);
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

std::optional<std::string> EvaluationService::gpu_name() const {
  if (!session_->runs())
    return std::nullopt;
  return session_->gpu()->device().name;
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

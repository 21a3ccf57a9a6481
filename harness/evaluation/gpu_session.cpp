#include "harness/evaluation/gpu_session.hpp"

#include "harness/reference_runner.hpp"
#include "harness/util/error.hpp"
#include "harness/workspace.hpp"
#include "sandbox/gpu_worker_client.hpp"

namespace kforge {

GpuSession::GpuSession(Workspace& workspace, bool gpu_visible,
                       const std::vector<std::string>& worker_command) {
  const Config& config = workspace.config();
  settings_ = RunSettings::from_config(config);
  GpuWorkerOptions options;
  options.device = static_cast<int>(config.integer("gpu.device"));
  options.job_dir = workspace.cache_dir("gpu");
  options.run_limit = std::chrono::seconds(config.integer("gpu.run_limit_s"));
  options.time_limit = std::chrono::seconds(config.integer("gpu.time_limit_s"));
  if (!worker_command.empty()) {
    options.worker_program = worker_command.front();
    options.worker_arguments.assign(worker_command.begin() + 1, worker_command.end());
  } else if (!gpu_visible) {
    no_run_reason_ = "no GPU visible: the candidate compiled and its plan fits; nothing ran";
    return;
  }
  try {
    gpu_ = std::make_unique<GpuWorkerClient>(options);
  } catch (const Error& failure) {
    no_run_reason_ = "a GPU is visible, but its GPU worker did not start (" + failure.message() +
                     "): the candidate compiled and its plan fits; nothing ran";
    return;
  }
  reference_ = std::make_unique<ReferenceRunner>(ReferenceRunner::for_workspace(workspace));
}

GpuSession::~GpuSession() = default;

std::string GpuSession::arch() const {
  return gpu_ ? gpu_->device().arch : std::string();
}

void GpuSession::configure(EvaluatorOptions& options) {
  options.run = settings_;
  if (gpu_) {
    options.gpu = gpu_.get();
    options.reference = reference_.get();
  } else {
    options.no_run_reason = no_run_reason_;
  }
}

}  // namespace kforge

// The GPU side of evaluation for a workspace: one GPU worker (GpuWorkerClient) and the
// reference runner the run stage needs, or the reason nothing will run. The evaluation service
// (evaluation_service.hpp) opens one per command and hands it to the Evaluator.
//
// The worker is `kforge worker gpu` on the GPU named by `gpu.device`, started when the CUDA
// driver shows a GPU. For tests, a worker command (the program and its arguments; the CLI takes
// it from KFORGE_GPU_WORKER) replaces it with another program that speaks the same protocol,
// started whether or not a GPU is visible: tests/support/emulated_gpu_worker.py runs the
// parent's whole run stage on a machine without a GPU. It is not a way to run candidates;
// nothing it reports is a measurement.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness/evaluation/evaluator.hpp"

namespace kforge {

class GpuWorkerClient;
class ReferenceRunner;
class Workspace;

class GpuSession {
 public:
  // Starts the worker when a GPU is visible (`gpu_visible`, from the driver probe) or
  // `worker_command` names a replacement (empty: the real worker). A worker that cannot start
  // leaves the session without a GPU, with the reason; it does not throw.
  GpuSession(Workspace& workspace, bool gpu_visible,
             const std::vector<std::string>& worker_command = {});
  ~GpuSession();
  GpuSession(const GpuSession&) = delete;
  GpuSession& operator=(const GpuSession&) = delete;

  bool runs() const { return gpu_ != nullptr; }
  GpuWorkerClient* gpu() const { return gpu_.get(); }
  // The architecture of the worker's GPU ("sm_90"), or "" without one.
  std::string arch() const;
  const std::string& no_run_reason() const { return no_run_reason_; }

  // Points `options` at this session: the worker, the reference runner and the run settings
  // from the configuration, or the reason nothing runs.
  void configure(EvaluatorOptions& options);

 private:
  std::unique_ptr<GpuWorkerClient> gpu_;
  std::unique_ptr<ReferenceRunner> reference_;
  RunSettings settings_;
  std::string no_run_reason_;
};

}  // namespace kforge

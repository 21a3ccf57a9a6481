// The GPU side of evaluation for a workspace: the GPU pool (gpu_pool.hpp: one GPU worker and
// reference runner per device) the run stage needs, or the reason nothing will run. The
// evaluation service (evaluation_service.hpp) opens one per command and hands it to the
// Evaluator.
//
// The devices are gpu.devices: "all" (every GPU the driver shows), a list of ordinals, or, where
// unset, gpu.device alone. Each gets `kforge worker gpu --device N`, started when the CUDA
// driver shows a GPU. For tests, a worker command (the program and its arguments; the CLI takes
// it from KFORGE_GPU_WORKER) replaces it with another program that speaks the same protocol,
// started with `--device N` added, whether or not a GPU is visible:
// tests/support/emulated_gpu_worker.py runs the parent's whole run stage on a machine without a
// GPU. It is not a way to run candidates; nothing it reports is a measurement.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness/evaluation/evaluator.hpp"
#include "harness/evaluation/gpu_pool.hpp"

namespace kforge {

class Config;
class GpuWorkerClient;
class Workspace;

class GpuSession {
 public:
  // Starts a worker per device when a GPU is visible (`visible_gpus`, from the driver probe) or
  // `worker_command` names a replacement (empty: the real worker). A device whose worker cannot
  // start is left out, with its reason (GpuPool::lost); when none starts, the session runs
  // nothing and says why. It does not throw for that; a bad gpu.devices throws Error.
  GpuSession(Workspace& workspace, int visible_gpus,
             const std::vector<std::string>& worker_command = {});
  ~GpuSession();
  GpuSession(const GpuSession&) = delete;
  GpuSession& operator=(const GpuSession&) = delete;

  bool runs() const { return pool_ != nullptr; }
  // The first device's worker (what the GPU looks like); none when nothing runs.
  GpuWorkerClient* gpu() const { return pool_ ? pool_->first() : nullptr; }
  GpuPool* pool() const { return pool_.get(); }
  // The architecture of the first device's GPU ("sm_90"), or "" without one.
  std::string arch() const;
  const std::string& no_run_reason() const { return no_run_reason_; }
  // The devices asked for that did not start, with their reasons.
  const std::vector<LostDevice>& devices_not_started() const { return not_started_; }

  // Points `options` at this session: the GPU pool and the run settings from the configuration,
  // or the reason nothing runs.
  void configure(EvaluatorOptions& options);

  // The ordinals gpu.devices names for a machine whose driver shows `visible_gpus` GPUs ("all"
  // with none visible: gpu.device alone, which a replacement worker may still emulate).
  static std::vector<int> chosen_devices(const Config& config, int visible_gpus);

 private:
  std::unique_ptr<GpuPool> pool_;
  RunSettings settings_;
  std::string no_run_reason_;
  std::vector<LostDevice> not_started_;
};

}  // namespace kforge

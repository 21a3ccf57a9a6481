// The parent side of GPU work: one `kforge worker gpu` process per GPU (timings must not share a
// device), supervised. Each request runs under a watchdog; a worker that crashes, hangs, writes
// something that is not a reply, writes too much, dies mid-reply or reports a lost CUDA context
// is killed and replaced, and the request ends in a WorkerFailure the evaluator turns into a
// verdict. The next request finds a fresh worker.
//
//   GpuWorkerOptions options;
//   options.job_dir = workspace.cache_dir("gpu");
//   GpuWorkerClient gpu(options);          // starts the worker, reads its hello
//   auto reply = gpu.run(request);         // GpuResult<RunReply>
//   if (auto* failure = std::get_if<WorkerFailure>(&reply)) ...
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "harness/options/gpu_worker_options.hpp"
#include "sandbox/gpu_protocol.hpp"

namespace kforge {

template <typename T>
using GpuResult = std::variant<T, WorkerFailure>;

class GpuWorkerClient {
 public:
  // Starts the worker and reads its hello. Throws Error when the worker cannot start or says
  // there is no usable GPU (no libcuda, no device): that is the machine's answer (the worker's
  // one line, e.g. "no CUDA driver: ..."), and callers that can go on without a GPU catch it and
  // skip the run stage. Replacement workers start lazily, with the request after a failure.
  explicit GpuWorkerClient(GpuWorkerOptions options);
  ~GpuWorkerClient();
  GpuWorkerClient(const GpuWorkerClient&) = delete;
  GpuWorkerClient& operator=(const GpuWorkerClient&) = delete;

  const DeviceDescription& device() const { return device_; }
  // Its options, the worker program and arguments filled in (for a one-shot worker started
  // under a profiler outside it, harness/evaluation/ncu_profile.hpp).
  const GpuWorkerOptions& options() const { return options_; }

  GpuResult<RunReply> run(const RunRequest& request);
  GpuResult<TimeReply> time(const TimeRequest& request);
  GpuResult<DeviceMeasurement> measure();
  // Hardware counters per launch, under the time limit; an `unavailable` reply is a reply.
  GpuResult<ProfileReply> profile(const ProfileRequest& request);

  // Workers killed and replaced so far.
  int workers_replaced() const;
  // Starts a replacement now where the last worker was killed (otherwise it starts with the next
  // request). Returns "" when a worker runs, else why none could start: the device is gone (a
  // GPU pool then gives its work to the other GPUs, harness/evaluation/gpu_pool.hpp).
  std::string ensure_worker();
  // A fresh folder under job_dir for one request's files (removed by the caller).
  std::filesystem::path new_job_directory();

 private:
  class Worker;
  GpuResult<nlohmann::json> exchange(nlohmann::json request, std::chrono::milliseconds limit);
  void start_worker();
  WorkerFailure replace_worker(WorkerFailureKind kind, std::string message);

  GpuWorkerOptions options_;
  std::unique_ptr<Worker> worker_;
  DeviceDescription device_;
  std::mutex mutex_;  // one request at a time: the GPU is not shared
  // Atomic so that workers_replaced() can be read while a request holds the mutex.
  std::atomic<int> replaced_{0};
  uint64_t next_id_ = 1;
  std::string stderr_name_;
};

}  // namespace kforge

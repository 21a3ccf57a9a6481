// The GPU worker's parts, shared by the files that implement it (one per responsibility):
//   gpu_worker.cpp          protocol dispatch: the request loop, hello, opening the device,
//                           mapping CUresults to failure kinds;
//   gpu_worker_tensors.cpp  modules and tensors: cubins loaded and cached by path, inputs,
//                           outputs and scratch with guard zones, poison, binding a plan;
//   gpu_worker_run.cpp      `run`;
//   gpu_worker_time.cpp     `time`;
//   gpu_worker_measure.cpp  `measure`, with its kernels in sandbox/ptx/;
//   gpu_worker_profile.cpp  `profile`: hardware counters per launch, through DeviceCounters;
//                           `replay`: the plan run for a profiler outside the worker (ncu).
// Nothing outside those files includes this header.
//
// Ordering: everything the worker does on the device (uploads, poison and guard memsets, L2
// flushes, launches, downloads, guard checks) goes on its one stream, in program order, and the
// host waits for that stream before it reads or reuses host memory. Nothing uses the legacy
// stream, which a non-blocking stream does not wait for.
#pragma once

#include <cuda.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/util/cuda_libraries.hpp"
#include "harness/util/safetensors.hpp"
#include "kforge/kernels/launch.hpp"
#include "sandbox/gpu_protocol.hpp"
#include "sandbox/gpu_worker.hpp"

namespace kforge::gpu_worker {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

inline constexpr size_t kPrintfFifoBytes = 64 << 10;  // a printf flood fills this and stops
inline constexpr int64_t kDefaultSharedLimit = 48 << 10;

// ---- failures ----------------------------------------------------------------------------------

// A CUDA call that failed, with where it happened; turned into a WorkerFailure at the top.
struct CudaCallFailed {
  CUresult result;
  std::string function;
  std::string kernel;
  bool at_launch = false;
};

// A request kforge got wrong (missing file, malformed plan): `bad_request`.
struct BadRequest {
  std::string message;
};

WorkerFailure failure_from(const CudaCallFailed& failed, const CudaDriverApi& api);

// ---- the plan as the worker needs it -----------------------------------------------------------

// The kernel library's resolved launch (kforge/kernels/launch.hpp) is the one model of a bound
// plan: values arrive as their exact parameter bytes, tensors by name, so nothing is converted.
using WorkerPlan = kernels::PreparedLaunch;
using PlanLaunch = kernels::PreparedKernel;
using PlanArgument = kernels::PreparedArgument;

// Reads ResolvedPlan::to_json() as a WorkerPlan; BadRequest when it is malformed.
WorkerPlan parse_plan(const json& plan);
size_t output_bytes(const OutputSpec& output);

// ---- the worker --------------------------------------------------------------------------------

class Worker;

// Ends device recording however a request ends.
struct StopTiming {
  DeviceTiming& timing;
  ~StopTiming() { timing.stop(); }
};

// One device allocation, freed with the object unless the context is gone. A guarded buffer (a
// candidate's tensor or scratch) has kGuardBytes of kGuardWord on each side of it.
class DeviceBuffer {
 public:
  DeviceBuffer(Worker& worker, size_t bytes, const std::string& what, bool guarded = false);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  CUdeviceptr pointer() const { return base_ + guard(); }
  size_t bytes() const { return bytes_; }
  size_t guard() const { return guarded_ ? kGuardBytes : 0; }
  CUdeviceptr before() const { return base_; }
  CUdeviceptr after() const { return base_ + guard() + bytes_; }

 private:
  Worker& worker_;
  CUdeviceptr base_ = 0;
  size_t bytes_ = 0;
  bool guarded_ = false;
};

// Named device tensors: one input set, the outputs, or the scratch buffers.
struct TensorSet {
  std::map<std::string, std::unique_ptr<DeviceBuffer>> buffers;
  std::map<std::string, Tensor> host;  // dtype and shape (bytes emptied once uploaded)
};

// Kernel parameters of every launch of a plan, bound to one input set.
struct BoundPlan {
  std::vector<std::vector<CUdeviceptr>> pointers;
  std::vector<std::vector<std::vector<unsigned char>>> values;
  std::vector<std::vector<void*>> parameters;
};

class Worker {
 public:
  Worker(int output_fd, const GpuWorkerSetup& setup) : output_fd_(output_fd), setup_(setup) {}

  const CudaDriverApi& api() const { return driver_->api(); }
  bool context_lost() const { return context_lost_; }

  void call(CUresult result, const char* function, const std::string& kernel = {},
            bool at_launch = false) const {
    if (result != CUDA_SUCCESS)
      throw CudaCallFailed{result, function, kernel, at_launch};
  }

  // hello: opens the driver and the device; an error line when there is no usable GPU.
  bool hello(const json& request);

  // Serves one request other than hello and exit; false when the worker must end.
  bool serve(const json& request);

  void send(const json& reply) const;

 private:
  bool send_failure(const json& id, WorkerFailure failure);

  void open_device();

  static std::string read_driver_version();

  // ---- modules and functions ----

  CUfunction function(const fs::path& cubin, const PlanLaunch& launch);

  std::vector<CUfunction> functions(const fs::path& cubin, const WorkerPlan& plan);

  // ---- tensors ----

  void upload(const fs::path& path, TensorSet& set);

  void allocate_outputs(const std::vector<OutputSpec>& outputs, TensorSet& set);

  void allocate_scratch(const WorkerPlan& plan, TensorSet& set);

  void poison(const TensorSet& set, unsigned char byte);

  // kGuardWord repeated over kGuardBytes: what every guard zone holds. A copy rather than a
  // 32-bit memset, because the zone after a buffer of odd size is not 4-byte aligned.
  static const unsigned char* guard_pattern();

  // Fills both guard zones of a buffer, on the stream.
  void fill_guards(const DeviceBuffer& buffer);

  // Reads back every guard zone of the sets; each changed one becomes a violation (up to the
  // protocol's maximum) and is filled again.
  void check_guards(const std::vector<const TensorSet*>& sets, const std::string& kernel,
                    int repeat, std::vector<GuardViolation>& violations);

  // Copies a set back to the host (on the stream) and writes it as safetensors.
  void download(const TensorSet& set, const fs::path& path);

  static BoundPlan bind(const WorkerPlan& plan, std::initializer_list<const TensorSet*> sets);

  void launch(CUfunction function, const PlanLaunch& launch, BoundPlan& bound, size_t k);

  // ---- run ----

  RunReply run(const RunRequest& request);

  // ---- time ----

  DeviceTiming& timing();

  const DeviceBuffer& flush_buffer();

  TimeReply time(const TimeRequest& request);

  // ---- profile ----

  ProfileReply profile(const ProfileRequest& request);

  // The plan of a profile or replay request on the device: inputs uploaded, outputs and scratch
  // allocated, every launch bound; `use` gets the plan, the function to call before each pass
  // (poison) and the one that launches k and waits.
  using ProfiledPlanUse = std::function<void(
      const WorkerPlan& plan, const std::vector<CUfunction>& handles,
      const std::function<void()>& before_pass, const std::function<void(size_t)>& run_launch)>;
  void with_profiled_plan(const ProfileRequest& request, const ProfiledPlanUse& use);

  // `replay`: two passes of the plan, for a profiler outside the worker (ncu).
  json replay(const ProfileRequest& request);

  // ---- measure ----

  static double median(std::vector<double> values);

  // Runs `issue` (one launch or copy on the stream) `warmup` times untimed, then `repeats`
  // times, each followed by a synchronisation, and returns the durations in seconds of the
  // CUPTI records of the timed ones (kernel or copy records by correlation id).
  std::vector<double> timed_durations(const std::function<void()>& issue, int warmup, int repeats,
                                      bool copies_not_kernels);

  static std::vector<double> rates(const std::vector<double>& durations, double amount);

  DeviceMeasurement measure();

  static constexpr int kFmaPerLoop = 128;  // 16 rounds of 8 chains in sandbox/ptx/fma_peak.ptx
  // The measurement kernel `name` of sandbox/ptx/<file>.ptx, embedded in the binary.
  CUfunction measurement_function(const std::string& file, const char* name);

  struct FunctionState {
    CUfunction handle = nullptr;
    unsigned shared_limit = 0;   // the dynamic shared memory the function is opted in to
    unsigned static_shared = 0;  // its static shared memory, from the loaded module
  };
  struct LoadedModule {
    CUmodule module = nullptr;
    fs::file_time_type stamp;
    std::map<std::string, FunctionState> functions;
  };

  int output_fd_;
  const GpuWorkerSetup& setup_;
  CudaDriver* driver_ = nullptr;
  CUdevice device_handle_ = 0;
  CUcontext context_ = nullptr;
  CUstream stream_ = nullptr;
  DeviceDescription device_;
  std::unique_ptr<DeviceTiming> timing_;
  std::string timing_error_;
  std::unique_ptr<DeviceCounters> counters_;
  std::string counters_error_;  // why counters_ could not be opened
  bool counters_opened_ = false;
  std::map<std::string, LoadedModule> modules_;
  std::map<std::string, CUmodule> measurement_modules_;
  std::unique_ptr<DeviceBuffer> flush_;
  bool context_lost_ = false;

  friend class DeviceBuffer;
};

}  // namespace kforge::gpu_worker

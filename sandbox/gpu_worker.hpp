// The GPU worker: the child side of GpuWorkerClient (sandbox/gpu_worker_client.hpp), run as the
// hidden subcommand `kforge worker gpu [--device N]`. It owns one device through the CUDA driver
// API (libcuda opened at run time), loads candidates' cubins, allocates the signature's tensors,
// outputs and scratch from a resolved plan, launches the plan on one stream and speaks the
// protocol of sandbox/gpu_protocol.hpp.
//
// This folder depends on util only: device timing (CUPTI) and the repetition rule come from
// profiler/ through the small DeviceTiming interface below, and hardware counters through
// DeviceCounters, which cli/command_worker.cpp wires in.
#pragma once

#include <cuda.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sandbox/gpu_protocol.hpp"

namespace kforge {

// One span of device activity: a kernel, or a memory copy with its bytes.
struct DeviceInterval {
  uint32_t correlation_id = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint64_t bytes = 0;
};

// What the worker needs from a device-activity profiler.
class DeviceTiming {
 public:
  virtual ~DeviceTiming() = default;
  virtual std::string version() const = 0;
  // Begins and ends recording kernel and copy activity; called with the context current.
  virtual void start() = 0;
  virtual void stop() = 0;
  // The correlation id of the launch or device-to-device copy this thread just made.
  virtual uint32_t last_correlation_id() const = 0;
  // Every record completed since the last call, and only completed ones (timestamps set).
  // `force` also hands over buffers CUPTI has not finished: for the end of a measurement, never
  // inside a timing loop; a record still incomplete then is held back, not handed over.
  virtual void collect(std::vector<DeviceInterval>& kernels, std::vector<DeviceInterval>& copies,
                       bool force) = 0;
  // The timing protocol's repetition rule (profiler/statistics.hpp enough_samples).
  virtual bool enough_samples(const std::vector<double>& samples, size_t min_samples,
                              size_t max_samples, double target_spread) const = 0;
};

// One launch of a plan as the counter profiler sees it: the loaded function and its geometry
// (for the launch metrics: registers, occupancy limits, waves).
struct CounterLaunch {
  std::string kernel;
  CUfunction function = nullptr;
  std::array<unsigned, 3> grid = {1, 1, 1};
  std::array<unsigned, 3> block = {1, 1, 1};
  unsigned shared_bytes = 0;
};

// What the worker needs from a hardware-counter profiler (CUPTI's range profiler,
// profiler/cupti_range_profiler.hpp, wired in by cli/command_worker.cpp).
class DeviceCounters {
 public:
  virtual ~DeviceCounters() = default;
  // Collects `metrics` (counter names) for each of `launches`, one range per launch, in as
  // many replay passes as they need: before each pass it calls `before_pass`, then
  // `run_launch(k)` for every launch in order (which launches and waits). Returns the values
  // per launch with the launch metrics added, or status `unavailable` with the reason where
  // the machine does not allow counters; a call with the context current.
  virtual ProfileReply profile(CUcontext context, const std::vector<std::string>& metrics,
                               const std::vector<CounterLaunch>& launches,
                               const std::function<void()>& before_pass,
                               const std::function<void(size_t)>& run_launch) = 0;
};

struct GpuWorkerSetup {
  int device = 0;
  // Opens device timing; throws Error (naming what is missing) where it cannot. Called once,
  // after the context exists; a worker without it still runs, and refuses time and measure.
  std::function<std::unique_ptr<DeviceTiming>()> open_timing;
  // Opens the counter profiler; throws Error where libcupti is missing (a `profile` request
  // then answers `unavailable` / `library_missing`). Called at the first `profile`.
  std::function<std::unique_ptr<DeviceCounters>()> open_counters;
};

// Serves requests read from `input_fd` and writes replies to `output_fd` until `exit`, the end
// of input, or a lost CUDA context; returns the process exit code. The caller has already moved
// the protocol off stdout (see move_protocol_off_stdout).
int run_gpu_worker(int input_fd, int output_fd, const GpuWorkerSetup& setup);

// Duplicates stdout to a private descriptor for the protocol and points descriptor 1 at stderr,
// so anything else that writes to stdout (a device printf flood, a library) cannot corrupt
// replies. Returns the protocol descriptor. Call before CUDA starts.
int move_protocol_off_stdout();

}  // namespace kforge

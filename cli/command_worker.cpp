// `kforge worker compile` and `kforge worker gpu`: the hidden entry points of worker processes,
// started by the compile pool (sandbox/compile_pool.hpp) and the GPU worker client
// (sandbox/gpu_worker_client.hpp), never by people. Their protocols are in
// sandbox/compile_worker.hpp and sandbox/gpu_protocol.hpp. The GPU worker's device timing and
// hardware counters come from profiler/ (CUPTI) and are wired in here, so that sandbox/ depends
// on util only.
#include <fcntl.h>
#include <unistd.h>

#include <iostream>

#include "cli/commands.hpp"
#include "harness/util/cuda_libraries.hpp"
#include "harness/util/error.hpp"
#include "profiler/cupti_activity.hpp"
#include "profiler/cupti_library.hpp"
#include "profiler/cupti_profiler_host.hpp"
#include "profiler/cupti_range_profiler.hpp"
#include "profiler/launch_metrics.hpp"
#include "profiler/statistics.hpp"
#include "sandbox/compile_worker.hpp"
#include "sandbox/gpu_worker.hpp"

namespace kforge::cli {
namespace {

class CuptiDeviceTiming : public DeviceTiming {
 public:
  CuptiDeviceTiming() : activity_(CuptiActivity::instance()) {}

  std::string version() const override { return activity_.version(); }
  void start() override {
    // Records of an earlier recording still waiting for timestamps are no one's now.
    activity_.drop_incomplete();
    activity_.start();
  }
  void stop() override { activity_.stop(); }
  uint32_t last_correlation_id() const override { return activity_.last_correlation_id(); }
  void collect(std::vector<DeviceInterval>& kernels, std::vector<DeviceInterval>& copies,
               bool force) override {
    std::vector<ActivityInterval> kernel_records, copy_records;
    activity_.collect(kernel_records, copy_records, force);
    auto convert = [](const ActivityInterval& record) {
      return DeviceInterval{record.correlation_id, record.start_ns, record.end_ns, record.bytes};
    };
    for (const ActivityInterval& record : kernel_records)
      kernels.push_back(convert(record));
    for (const ActivityInterval& record : copy_records)
      copies.push_back(convert(record));
  }
  bool enough_samples(const std::vector<double>& samples, size_t min_samples, size_t max_samples,
                      double target_spread) const override {
    return kforge::enough_samples(samples, min_samples, max_samples, target_spread);
  }

 private:
  CuptiActivity& activity_;
};

// Hardware counters through CUPTI's range profiler, with the launch metrics computed from the
// driver's attributes. Not yet run on a GPU (docs/profiling.md).
class CuptiDeviceCounters : public DeviceCounters {
 public:
  // Opens libcupti's host API, so that a missing library is known before the first profile.
  explicit CuptiDeviceCounters(int device) : device_(device) { CuptiProfilerHost::instance(); }

  ProfileReply profile(CUcontext context, const std::vector<std::string>& metrics,
                       const std::vector<CounterLaunch>& launches,
                       const std::function<void()>& before_pass,
                       const std::function<void(size_t)>& run_launch) override {
    ProfileReply reply;
    try {
      if (!profiler_)
        profiler_ = std::make_unique<CuptiRangeProfiler>();
      RangeProfile ranges =
          profiler_->profile(context, device_, metrics, launches.size(), before_pass, run_launch);
      reply.chip = ranges.chip;
      reply.passes = static_cast<int>(ranges.passes);
      if (ranges.ranges.size() != launches.size()) {
        reply.reason = ProfileUnavailableReason::kProfilerError;
        reply.detail = "the range profiler returned " + std::to_string(ranges.ranges.size()) +
                       " ranges for " + std::to_string(launches.size()) + " launches";
        return reply;
      }
      const CudaDriver& driver = CudaDriver::instance();
      CUdevice device = 0;
      driver.check(driver.api().cuDeviceGet(&device, device_), "cuDeviceGet");
      DeviceLimits limits = device_limits(device);
      for (size_t k = 0; k < launches.size(); ++k) {
        const CounterLaunch& launch = launches[k];
        KernelCounters counters{static_cast<int>(k), launch.kernel, ranges.ranges[k]};
        KernelResources resources =
            kernel_resources(launch.function, launch.grid, launch.block, launch.shared_bytes);
        for (const auto& [name, value] : launch_metrics(limits, resources))
          counters.metrics[name] = value;
        reply.kernels.push_back(std::move(counters));
      }
      reply.status = ProfileStatus::kCollected;
    } catch (const CuptiError& refused) {
      reply.reason = counters_unavailable_reason(refused.result())
                         .value_or(ProfileUnavailableReason::kProfilerError);
      reply.detail = refused.what();
    }
    return reply;
  }

 private:
  int device_;
  std::unique_ptr<CuptiRangeProfiler> profiler_;
};

}  // namespace

void add_worker_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand("worker", "internal: a sandboxed worker process");
  command->group("");  // hidden from --help: only kforge itself starts workers
  command->require_subcommand(1);
  auto* compile = command->add_subcommand(
      "compile", "serve NVRTC compile requests, one JSON line in and one out, until stdin ends");
  compile->callback([] {
    std::ios::sync_with_stdio(false);
    int code = run_compile_worker(std::cin, std::cout);
    if (code != 0)
      throw CLI::RuntimeError(code);
  });

  auto* gpu = command->add_subcommand(
      "gpu", "serve GPU run, time and measure requests on one device, one JSON line in and out");
  auto device = std::make_shared<int>(0);
  gpu->add_option("--device", *device, "the CUDA device ordinal")->check(CLI::NonNegativeNumber);
  // A one-shot worker under a profiler outside it (Nsight Compute's CLI): its requests (hello,
  // replay, exit) come from a file, its replies go to stdout, and it opens neither CUPTI
  // activity nor the range profiler, which would compete with the outside profiler.
  auto requests = std::make_shared<std::string>();
  gpu->add_option("--requests", *requests, "read the requests from this file instead of stdin")
      ->check(CLI::ExistingFile);
  gpu->callback([device, requests] {
    int input = STDIN_FILENO;
    if (!requests->empty()) {
      input = ::open(requests->c_str(), O_RDONLY | O_CLOEXEC);
      if (input < 0)
        throw Error("cannot open the requests file", *requests);
    }
    // Before CUDA starts: replies go to a private descriptor, stdout to stderr.
    int protocol = move_protocol_off_stdout();
    GpuWorkerSetup setup;
    setup.device = *device;
    if (requests->empty()) {
      setup.open_timing = [] { return std::make_unique<CuptiDeviceTiming>(); };
      setup.open_counters = [device] { return std::make_unique<CuptiDeviceCounters>(*device); };
    }
    int code = run_gpu_worker(input, protocol, setup);
    ::close(protocol);
    if (input != STDIN_FILENO)
      ::close(input);
    if (code != 0)
      throw CLI::RuntimeError(code);
  });
}

}  // namespace kforge::cli

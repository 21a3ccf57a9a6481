// The GPU worker's `measure`: the device's memory bandwidths (memcpy and read/write/copy
// kernels), its peak fp32 FMA rate and, from sm_80, its fp16/bf16 tensor-core peaks, each timed
// by CUPTI records; method and sizes are also written into the reply's details. The kernels are
// PTX files in sandbox/ptx/ (bandwidth.ptx, fma_peak.ptx, tensor_peak.ptx), embedded in the
// binary and JIT-compiled by the driver.
#include <algorithm>
#include <cctype>
#include <thread>

#include "harness/util/embedded.hpp"
#include "sandbox/gpu_worker_internal.hpp"

namespace kforge::gpu_worker {

double Worker::median(std::vector<double> values) {
  if (values.empty())
    return 0;
  std::sort(values.begin(), values.end());
  size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

std::vector<double> Worker::timed_durations(const std::function<void()>& issue, int warmup,
                                            int repeats, bool copies_not_kernels) {
  DeviceTiming& timer = timing();
  for (int w = 0; w < warmup; ++w)
    issue();
  call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize", "a measurement kernel");
  timer.start();
  StopTiming stop_timing{timer};
  std::vector<DeviceInterval> kernels, copies;
  timer.collect(kernels, copies, true);  // anything earlier is not ours
  kernels.clear();
  copies.clear();
  std::vector<uint32_t> ours;
  for (int repeat = 0; repeat < repeats; ++repeat) {
    issue();
    ours.push_back(timer.last_correlation_id());
    call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize", "a measurement kernel");
  }
  std::vector<double> durations;
  auto take = [&] {
    for (const DeviceInterval& record : copies_not_kernels ? copies : kernels) {
      if (std::count(ours.begin(), ours.end(), record.correlation_id) &&
          record.end_ns > record.start_ns)
        durations.push_back(static_cast<double>(record.end_ns - record.start_ns) * 1e-9);
    }
    kernels.clear();
    copies.clear();
  };
  auto wait_until = Clock::now() + std::chrono::seconds(2);
  while (durations.size() < ours.size() && Clock::now() < wait_until) {
    timer.collect(kernels, copies, false);
    take();
    if (durations.size() < ours.size())
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  timer.collect(kernels, copies, true);
  take();
  timer.stop();
  return durations;
}

std::vector<double> Worker::rates(const std::vector<double>& durations, double amount) {
  std::vector<double> out;
  for (double seconds : durations)
    out.push_back(amount / seconds);
  return out;
}

DeviceMeasurement Worker::measure() {
  timing();  // refuses early where there is no device timing
  DeviceMeasurement measurement;
  size_t free_bytes = 0, total_bytes = 0;
  call(api().cuMemGetInfo(&free_bytes, &total_bytes), "cuMemGetInfo");
  json details = json::object();

  // Bandwidth: buffers far larger than L2, in whole tiles of the bandwidth kernels.
  constexpr unsigned kThreads = 512;
  constexpr size_t kTileBytes = size_t{4} * kThreads * 16;
  size_t buffer_bytes = std::min<size_t>(size_t{1} << 30, free_bytes / 4) / kTileBytes * kTileBytes;
  if (buffer_bytes < kTileBytes)
    throw BadRequest{"too little free device memory to measure bandwidth"};
  uint64_t tiles = buffer_bytes / kTileBytes;
  unsigned blocks = static_cast<unsigned>(std::max(1, device_.sm_count)) * 4;
  {
    DeviceBuffer source(*this, buffer_bytes, "bandwidth source");
    DeviceBuffer target(*this, buffer_bytes, "bandwidth target");
    DeviceBuffer sink(*this, 16, "bandwidth sink");
    call(api().cuMemsetD32Async(source.pointer(), 0x3f800000u, buffer_bytes / 4, stream_),
         "cuMemsetD32Async");
    call(api().cuMemsetD32Async(target.pointer(), 0, buffer_bytes / 4, stream_),
         "cuMemsetD32Async");

    // Device-to-device memcpy: reads and writes every byte once.
    std::vector<double> copy_rates =
        rates(timed_durations(
                  [&] {
                    call(api().cuMemcpyDtoDAsync(target.pointer(), source.pointer(), buffer_bytes,
                                                 stream_),
                         "cuMemcpyDtoDAsync");
                  },
                  2, 10, true),
              2.0 * static_cast<double>(buffer_bytes));
    measurement.copy_bandwidth_bytes_per_s = median(copy_rates);

    CUdeviceptr source_pointer = source.pointer(), target_pointer = target.pointer(),
                sink_pointer = sink.pointer();
    // The read kernel stores only when its XOR equals this; over 0x3f800000 words the XOR of
    // a thread's words is 0 or 0x3f800000, then XORed with the thread index (< 1024).
    unsigned magic = 0xFFFFFFFFu;
    void* read_parameters[] = {&source_pointer, &tiles, &sink_pointer, &magic};
    void* write_parameters[] = {&target_pointer, &tiles};
    void* copy_parameters[] = {&source_pointer, &target_pointer, &tiles};
    auto kernel_rates = [&](const char* name, void** parameters, double bytes) {
      CUfunction function = measurement_function("bandwidth", name);
      return rates(timed_durations(
                       [&] {
                         call(api().cuLaunchKernel(function, blocks, 1, 1, kThreads, 1, 1, 0,
                                                   stream_, parameters, nullptr),
                              "cuLaunchKernel", name, true);
                       },
                       2, 10, false),
                   bytes);
    };
    double bytes = static_cast<double>(buffer_bytes);
    std::vector<double> read_rates = kernel_rates("kforge_read_bandwidth", read_parameters, bytes);
    std::vector<double> write_rates =
        kernel_rates("kforge_write_bandwidth", write_parameters, bytes);
    std::vector<double> kernel_copy_rates =
        kernel_rates("kforge_copy_bandwidth", copy_parameters, 2 * bytes);
    measurement.read_bandwidth_bytes_per_s = median(read_rates);
    measurement.write_bandwidth_bytes_per_s = median(write_rates);
    measurement.kernel_copy_bandwidth_bytes_per_s = median(kernel_copy_rates);
    details["bandwidth"] = {
        {"method",
         "CUPTI record durations, 2 warm-up then 10 timed runs each, median: cuMemcpyDtoDAsync "
         "(rate = 2 x bytes / duration) and the PTX kernels of sandbox/ptx/bandwidth.ptx "
         "(read-only, write-only, copy; 16-byte accesses, 4 in flight per thread, " +
             std::to_string(blocks) + " blocks of " + std::to_string(kThreads) + " threads)"},
        {"bytes", buffer_bytes},
        {"memcpy_samples_bytes_per_s", copy_rates},
        {"read_samples_bytes_per_s", read_rates},
        {"write_samples_bytes_per_s", write_rates},
        {"kernel_copy_samples_bytes_per_s", kernel_copy_rates}};
  }
  if (device_.memory_clock_khz > 0 && device_.memory_bus_width_bits > 0) {
    measurement.theoretical_bandwidth_bytes_per_s =
        2.0 * device_.memory_clock_khz * 1e3 * device_.memory_bus_width_bits / 8.0;
  }

  // Peak rates: arithmetic-only kernels over a full device, 1 warm-up then 7 timed launches.
  unsigned threads = 256;
  unsigned peak_blocks = static_cast<unsigned>(std::max(1, device_.sm_count)) * 8;
  DeviceBuffer out(*this, static_cast<size_t>(threads) * peak_blocks * 4, "peak output");
  CUdeviceptr out_pointer = out.pointer();
  auto peak_rates = [&](CUfunction function, const char* name, unsigned loops,
                        double flops_per_launch) {
    void* parameters[] = {&out_pointer, &loops};
    return rates(timed_durations(
                     [&] {
                       call(api().cuLaunchKernel(function, peak_blocks, 1, 1, threads, 1, 1, 0,
                                                 stream_, parameters, nullptr),
                            "cuLaunchKernel", name, true);
                     },
                     1, 7, false),
                 flops_per_launch);
  };
  unsigned fma_loops = 4096;
  double fma_flops = 2.0 * fma_loops * kFmaPerLoop * threads * peak_blocks;
  std::vector<double> fma_rates = peak_rates(measurement_function("fma_peak", "kforge_fma_peak"),
                                             "kforge_fma_peak", fma_loops, fma_flops);
  measurement.peak_fp32_flops_per_s = median(fma_rates);
  details["fp32"] = {
      {"method",
       "PTX kernel of sandbox/ptx/fma_peak.ptx (driver JIT): 8 independent fma.rn.f32 chains per "
       "thread; 1 warm-up launch then 7 timed; rate = 2 x FMAs / duration of the "
       "CUPTI kernel record; median"},
      {"blocks", peak_blocks},
      {"threads_per_block", threads},
      {"samples_flops_per_s", fma_rates}};

  // Tensor cores: mma.sync m16n8k16 exists from sm_80; it is the fastest path up to sm_89.
  int capability = 0;  // "sm_90" → 90, "sm_100" → 100
  for (size_t i = 3;
       i < device_.arch.size() && std::isdigit(static_cast<unsigned char>(device_.arch[i])); ++i)
    capability = capability * 10 + (device_.arch[i] - '0');
  int major = capability / 10;
  if (major >= 8) {
    unsigned mma_loops = 1024;
    // 32 mma per loop trip per warp, 4096 FLOPs each.
    double mma_flops = 4096.0 * 32 * mma_loops * (threads / 32) * peak_blocks;
    json tensor = json::object();
    auto tensor_peak = [&](const char* name) {
      std::vector<double> samples =
          peak_rates(measurement_function("tensor_peak", name), name, mma_loops, mma_flops);
      tensor[name] = samples;
      return median(samples);
    };
    measurement.peak_fp16_tensor_flops_per_s =
        std::max(tensor_peak("kforge_mma_f16_f32"), tensor_peak("kforge_mma_f16_f16"));
    measurement.peak_bf16_tensor_flops_per_s = tensor_peak("kforge_mma_bf16_f32");
    measurement.tensor_full_rate = major < 9;
    details["tensor"] = {
        {"method",
         "PTX kernels of sandbox/ptx/tensor_peak.ptx (driver JIT): 8 independent "
         "mma.sync.aligned.m16n8k16 chains per warp, 4096 FLOPs each; 1 warm-up then 7 timed; "
         "median; fp16 is the better of f32 and f16 accumulators"},
        {"full_rate", measurement.tensor_full_rate},
        {"full_rate_why", measurement.tensor_full_rate
                              ? "mma.sync is this architecture's fastest tensor-core path"
                              : "wgmma (sm_90) or tcgen05 (sm_100) are faster than mma.sync here, "
                                "so these rates are not the peak"},
        {"samples_flops_per_s", tensor}};
  }
  details["device"] = device_.name;
  details["driver_version"] = device_.driver_version;
  details["cupti_version"] = device_.cupti_version;
  measurement.details = details;
  return measurement;
}

CUfunction Worker::measurement_function(const std::string& file, const char* name) {
  CUmodule& module = measurement_modules_[file];
  if (!module) {
    std::string path = "sandbox/ptx/" + file + ".ptx";
    auto text = embedded::find(path);
    if (!text)
      throw BadRequest{"this kforge was built without " + path};
    std::string ptx(*text);  // NUL-terminated for the driver
    call(api().cuModuleLoadData(&module, ptx.c_str()), "cuModuleLoadData", path);
  }
  CUfunction function = nullptr;
  call(api().cuModuleGetFunction(&function, module, name), "cuModuleGetFunction", name);
  return function;
}

}  // namespace kforge::gpu_worker

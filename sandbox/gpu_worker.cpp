// How the worker runs and times a candidate.
//
// Ordering: everything the worker does on the device (uploads, poison and guard memsets, L2
// flushes, launches, downloads, guard checks) goes on its one stream, in program order, and the
// host waits for that stream before it reads or reuses host memory. Nothing uses the legacy
// stream, which a non-blocking stream does not wait for.
//
// Guard zones: every input, parameter, output and scratch buffer is allocated with
// kGuardBytes (sandbox/gpu_protocol.hpp) on each side, filled with kGuardWord when allocated;
// a changed guard byte is reported as a GuardViolation and the zone is filled again.
//
// run: every input and parameter is uploaded once; before repeat r the outputs and scratch are
// filled with poison_byte_for_repeat(r) (0xFF, then 0x7B: a NaN, then a large finite value);
// the plan's launches go in order on one stream, with a synchronisation and a guard check
// after each so that a fault or a write out of bounds names its kernel; the outputs of every
// repeat and the inputs after the last come back as safetensors files.
//
// time: each input set gets its own device copy, so rotating among them costs no copy. Warm-up
// launches (rotating) come first and are not recorded. Each timed iteration then: (on the fresh
// iteration only) poisons the outputs with kFreshPoisonByte; flushes L2 with cuMemsetD32Async over
// a buffer of twice the L2 size (at least 64 MiB), which produces no kernel record; launches the
// plan; waits for the stream. A launch's CUPTI correlation id ties its kernel record to its
// iteration, so only the candidate's own kernels are counted: an iteration's device time is the sum
// of its kernel durations, its span first start to last end. The iteration at (min_samples + 1) / 2
// runs on the fresh inputs and its outputs are written. Iterations go on until at least min_samples
// are in and past the fresh one, then stop at max_samples, at the wall-clock cap, or when
// enough_samples (profiler/statistics.hpp: (p90 - p10) / median within the target) says so.
// Every complete sample is returned; the parent summarises. Records are collected with CUPTI's
// ordinary flush inside the loop (it hands over only completed records) and with a forced flush
// once at the end; a kernel record whose timestamps are not set is never counted (its iteration
// stays incomplete and is left out). The guard zones are checked once, after the last
// iteration.
//
// measure: see Worker::measure (method and sizes are also written into the reply's details).
#include "sandbox/gpu_worker.hpp"

#include <cuda.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness/util/cuda_libraries.hpp"
#include "harness/util/embedded.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/safetensors.hpp"
#include "kforge/kernels/error.hpp"
#include "kforge/kernels/launch.hpp"
#include "sandbox/gpu_protocol.hpp"

namespace kforge {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kPrintfFifoBytes = 64 << 10;  // a printf flood fills this and stops
constexpr int64_t kDefaultSharedLimit = 48 << 10;

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

bool is_fault(CUresult result) {
  switch (result) {
    case CUDA_ERROR_ILLEGAL_ADDRESS:
    case CUDA_ERROR_MISALIGNED_ADDRESS:
    case CUDA_ERROR_HARDWARE_STACK_ERROR:
    case CUDA_ERROR_ILLEGAL_INSTRUCTION:
    case CUDA_ERROR_INVALID_ADDRESS_SPACE:
    case CUDA_ERROR_INVALID_PC:
    case CUDA_ERROR_LAUNCH_FAILED:
    case CUDA_ERROR_ASSERT:
    case CUDA_ERROR_LAUNCH_TIMEOUT:
    case CUDA_ERROR_ECC_UNCORRECTABLE:
      return true;
    default:
      return false;
  }
}

WorkerFailure failure_from(const CudaCallFailed& failed, const CudaDriverApi& api) {
  WorkerFailure failure;
  const char* name = nullptr;
  const char* text = nullptr;
  api.cuGetErrorName(failed.result, &name);
  api.cuGetErrorString(failed.result, &text);
  failure.cuda_error = name ? name : std::to_string(failed.result);
  failure.message = failed.function + " failed: " + (text ? text : failure.cuda_error);
  failure.kernel = failed.kernel;
  if (is_fault(failed.result)) {
    failure.kind = "runtime_error";
    failure.context_lost = true;
  } else if (failed.result == CUDA_ERROR_OUT_OF_MEMORY) {
    failure.kind = "out_of_memory";
  } else if (failed.at_launch) {
    failure.kind = "launch_error";
  } else {
    // Anything else outside a launch leaves the context in a state nobody should trust.
    failure.kind = "runtime_error";
    failure.context_lost = true;
  }
  return failure;
}

// ---- the plan as the worker needs it -----------------------------------------------------------

// The kernel library's resolved launch (kforge/kernels/launch.hpp) is the one model of a bound
// plan: values arrive as their exact parameter bytes, tensors by name, so nothing is converted.
using WorkerPlan = kernels::PreparedLaunch;
using PlanLaunch = kernels::PreparedKernel;
using PlanArgument = kernels::PreparedArgument;

WorkerPlan parse_plan(const json& plan) {
  try {
    return kernels::prepared_launch_from_json(plan.dump(), "the resolved plan");
  } catch (const kernels::KernelError& bad) {
    throw BadRequest{bad.what()};
  }
}

size_t output_bytes(const OutputSpec& output) {
  auto dtype = dtype_from_name(output.dtype);
  if (!dtype)
    throw BadRequest{"output '" + output.name + "' has unknown dtype '" + output.dtype + "'"};
  size_t count = 1;
  for (int64_t extent : output.shape) {
    if (extent < 0)
      throw BadRequest{"output '" + output.name + "' has a negative extent"};
    count *= static_cast<size_t>(extent);
  }
  return count * dtype_size(*dtype);
}

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
  bool hello(const json& request) {
    json reply = {{"id", request.value("id", json(0))}};
    try {
      driver_ = &CudaDriver::instance();
    } catch (const Error& missing) {
      reply["ok"] = false;
      reply["error"] = std::string("no CUDA driver: ") + missing.what();
      send(reply);
      return false;
    }
    try {
      open_device();
    } catch (const CudaCallFailed& failed) {
      WorkerFailure failure = failure_from(failed, api());
      reply["ok"] = false;
      reply["error"] = "no usable GPU: " + failure.message + " (" + failure.cuda_error + ")";
      send(reply);
      return false;
    } catch (const BadRequest& bad) {
      reply["ok"] = false;
      reply["error"] = "no usable GPU: " + bad.message;
      send(reply);
      return false;
    }
    reply["ok"] = true;
    reply["protocol"] = kGpuProtocolVersion;
    reply["device"] = device_.to_json();
    send(reply);
    return true;
  }

  // Serves one request other than hello and exit; false when the worker must end.
  bool serve(const json& request) {
    json id = request.value("id", json(0));
    std::string op = request.value("op", "");
    try {
      if (!driver_)
        throw BadRequest{"the first request must be hello"};
      json body;
      if (op == "run")
        body = run(RunRequest::from_json(request, "run request")).to_json();
      else if (op == "time")
        body = time(TimeRequest::from_json(request, "time request")).to_json();
      else if (op == "measure")
        body = measure().to_json();
      else
        throw BadRequest{"unknown op '" + op + "'"};
      body["id"] = id;
      body["ok"] = true;
      send(body);
      return true;
    } catch (const CudaCallFailed& failed) {
      WorkerFailure failure = failure_from(failed, api());
      context_lost_ = context_lost_ || failure.context_lost;
      return send_failure(id, failure);
    } catch (const BadRequest& bad) {
      return send_failure(id, WorkerFailure{"bad_request", "", bad.message, "", false, ""});
    } catch (const Error& error) {
      return send_failure(id, WorkerFailure{"bad_request", "", error.what(), "", false, ""});
    }
  }

  void send(const json& reply) const {
    std::string line = reply.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    size_t written = 0;
    while (written < line.size()) {
      ssize_t n = ::write(output_fd_, line.data() + written, line.size() - written);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        std::_Exit(2);  // the parent is gone
      written += static_cast<size_t>(n);
    }
  }

 private:
  bool send_failure(const json& id, WorkerFailure failure) {
    failure.context_lost = failure.context_lost || context_lost_;
    send({{"id", id}, {"ok", false}, {"failure", failure.to_json()}});
    return !failure.context_lost;
  }

  void open_device() {
    const CudaDriverApi& cuda = api();
    call(cuda.cuInit(0), "cuInit");
    int count = 0;
    call(cuda.cuDeviceGetCount(&count), "cuDeviceGetCount");
    if (setup_.device < 0 || setup_.device >= count) {
      throw BadRequest{"no GPU with ordinal " + std::to_string(setup_.device) + " (" +
                       std::to_string(count) + " found)"};
    }
    call(cuda.cuDeviceGet(&device_handle_, setup_.device), "cuDeviceGet");
    call(cuda.cuDevicePrimaryCtxRetain(&context_, device_handle_), "cuDevicePrimaryCtxRetain");
    call(cuda.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
    // Before any module loads: a kernel that prints without end fills this and stops there.
    call(cuda.cuCtxSetLimit(CU_LIMIT_PRINTF_FIFO_SIZE, kPrintfFifoBytes), "cuCtxSetLimit");
    call(cuda.cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING), "cuStreamCreate");

    auto attribute = [&](CUdevice_attribute which) {
      int value = 0;
      if (cuda.cuDeviceGetAttribute(&value, which, device_handle_) != CUDA_SUCCESS)
        return 0;
      return value;
    };
    char name[256] = {};
    call(cuda.cuDeviceGetName(name, sizeof name, device_handle_), "cuDeviceGetName");
    size_t memory = 0;
    call(cuda.cuDeviceTotalMem(&memory, device_handle_), "cuDeviceTotalMem");
    device_.ordinal = setup_.device;
    device_.name = name;
    device_.arch = "sm_" + std::to_string(attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)) +
                   std::to_string(attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR));
    device_.sm_count = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
    device_.memory_bytes = static_cast<int64_t>(memory);
    device_.l2_bytes = attribute(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
    device_.shared_memory_per_block_optin =
        attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
    device_.clock_khz = attribute(CU_DEVICE_ATTRIBUTE_CLOCK_RATE);
    device_.memory_clock_khz = attribute(CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE);
    device_.memory_bus_width_bits = attribute(CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH);
    cuda.cuDriverGetVersion(&device_.cuda_driver_version);
    device_.driver_version = read_driver_version();
    if (device_.driver_version.empty()) {
      device_.driver_version = std::to_string(device_.cuda_driver_version / 1000) + "." +
                               std::to_string(device_.cuda_driver_version % 1000 / 10);
    }
    if (setup_.open_timing) {
      try {
        timing_ = setup_.open_timing();
        device_.cupti = true;
        device_.cupti_version = timing_->version();
      } catch (const Error& missing) {
        timing_error_ = missing.what();
      }
    } else {
      timing_error_ = "this worker was built without device timing";
    }
  }

  static std::string read_driver_version() {
    // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 ..."
    std::ifstream file("/proc/driver/nvidia/version");
    std::string line;
    if (!std::getline(file, line))
      return {};
    size_t module = line.find("Kernel Module");
    if (module == std::string::npos)
      return {};
    size_t start = line.find_first_not_of(' ', module + 13);
    size_t end = line.find(' ', start);
    return start == std::string::npos ? std::string() : line.substr(start, end - start);
  }

  // ---- modules and functions ----

  CUfunction function(const fs::path& cubin, const PlanLaunch& launch) {
    std::error_code error;
    auto stamp = fs::last_write_time(cubin, error);
    if (error)
      throw BadRequest{"cannot read the cubin " + cubin.string() + ": " + error.message()};
    std::string key = cubin.string();
    auto found = modules_.find(key);
    if (found == modules_.end() || found->second.stamp != stamp) {
      std::string image = files::read(cubin);
      CUmodule module = nullptr;
      CUresult loaded = api().cuModuleLoadData(&module, image.data());
      if (loaded != CUDA_SUCCESS) {
        WorkerFailure failure = failure_from(CudaCallFailed{loaded, "cuModuleLoadData"}, api());
        throw BadRequest{"cannot load " + cubin.string() + ": " + failure.message};
      }
      if (found != modules_.end())
        api().cuModuleUnload(found->second.module);
      found = modules_.insert_or_assign(key, LoadedModule{module, stamp, {}}).first;
    }
    LoadedModule& loaded = found->second;
    auto cached = loaded.functions.find(launch.name);
    if (cached == loaded.functions.end()) {
      CUfunction handle = nullptr;
      if (api().cuModuleGetFunction(&handle, loaded.module, launch.name.c_str()) != CUDA_SUCCESS)
        throw BadRequest{"kernel '" + launch.name + "' is not in " + cubin.string()};
      int static_shared = 0;
      call(api().cuFuncGetAttribute(&static_shared, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, handle),
           "cuFuncGetAttribute", launch.name, true);
      cached =
          loaded.functions
              .emplace(launch.name, FunctionState{handle, 0, static_cast<unsigned>(static_shared)})
              .first;
    }
    FunctionState& state = cached->second;
    // Static plus dynamic shared memory over 48 KiB needs the function's opt-in first (bind has
    // checked the sum against the architecture's per-block limit).
    if (state.static_shared + launch.shared_bytes > kDefaultSharedLimit &&
        state.shared_limit < launch.shared_bytes) {
      call(api().cuFuncSetAttribute(state.handle, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                    static_cast<int>(launch.shared_bytes)),
           "cuFuncSetAttribute", launch.name, true);
      state.shared_limit = launch.shared_bytes;
    }
    return state.handle;
  }

  std::vector<CUfunction> functions(const fs::path& cubin, const WorkerPlan& plan) {
    std::vector<CUfunction> handles;
    for (const PlanLaunch& launch : plan.kernels)
      handles.push_back(function(cubin, launch));
    return handles;
  }

  // ---- tensors ----

  void upload(const fs::path& path, TensorSet& set) {
    SafetensorsFile file;
    try {
      file = read_safetensors(path);
    } catch (const Error& error) {
      throw BadRequest{error.what()};
    }
    for (auto& [name, tensor] : file.tensors) {
      auto buffer = std::make_unique<DeviceBuffer>(*this, tensor.bytes.size(), name, true);
      if (!tensor.bytes.empty()) {
        call(api().cuMemcpyHtoDAsync(buffer->pointer(), tensor.bytes.data(), tensor.bytes.size(),
                                     stream_),
             "cuMemcpyHtoDAsync");
      }
      set.buffers[name] = std::move(buffer);
    }
    // The host bytes must outlive the copies; the launches that follow are on the same stream.
    call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize");
    for (auto& [name, tensor] : file.tensors) {
      tensor.bytes.clear();
      set.host[name] = std::move(tensor);
    }
  }

  void allocate_outputs(const std::vector<OutputSpec>& outputs, TensorSet& set) {
    for (const OutputSpec& output : outputs) {
      size_t bytes = output_bytes(output);
      set.buffers[output.name] = std::make_unique<DeviceBuffer>(*this, bytes, output.name, true);
      Tensor tensor;
      tensor.dtype = *dtype_from_name(output.dtype);
      tensor.shape = output.shape;
      set.host[output.name] = std::move(tensor);
    }
  }

  void allocate_scratch(const WorkerPlan& plan, TensorSet& set) {
    for (const kernels::PreparedScratch& scratch : plan.scratch)
      set.buffers[scratch.name] =
          std::make_unique<DeviceBuffer>(*this, scratch.bytes, scratch.name, true);
  }

  void poison(const TensorSet& set, unsigned char byte) {
    for (const auto& [name, buffer] : set.buffers)
      call(api().cuMemsetD8Async(buffer->pointer(), byte, buffer->bytes(), stream_),
           "cuMemsetD8Async");
  }

  // kGuardWord repeated over kGuardBytes: what every guard zone holds. A copy rather than a
  // 32-bit memset, because the zone after a buffer of odd size is not 4-byte aligned.
  static const unsigned char* guard_pattern() {
    static const auto* pattern = [] {
      auto* bytes = new unsigned char[kGuardBytes];
      for (size_t b = 0; b < kGuardBytes; ++b)
        bytes[b] = static_cast<unsigned char>(kGuardWord >> (8 * (b % 4)));
      return bytes;
    }();
    return pattern;
  }

  // Fills both guard zones of a buffer, on the stream.
  void fill_guards(const DeviceBuffer& buffer) {
    if (buffer.guard() == 0)
      return;
    for (CUdeviceptr zone : {buffer.before(), buffer.after()})
      call(api().cuMemcpyHtoDAsync(zone, guard_pattern(), buffer.guard(), stream_),
           "cuMemcpyHtoDAsync");
  }

  // Reads back every guard zone of the sets; each changed one becomes a violation (up to the
  // protocol's maximum) and is filled again.
  void check_guards(const std::vector<const TensorSet*>& sets, const std::string& kernel,
                    int repeat, std::vector<GuardViolation>& violations) {
    struct Zone {
      std::string name;
      const DeviceBuffer* buffer;
      bool after;
    };
    std::vector<Zone> zones;
    for (const TensorSet* set : sets) {
      for (const auto& [name, buffer] : set->buffers) {
        if (buffer->guard() == 0)
          continue;
        zones.push_back({name, buffer.get(), false});
        zones.push_back({name, buffer.get(), true});
      }
    }
    std::vector<uint32_t> host(zones.size() * kGuardBytes / 4);
    for (size_t z = 0; z < zones.size(); ++z) {
      const DeviceBuffer& buffer = *zones[z].buffer;
      call(api().cuMemcpyDtoHAsync(host.data() + z * kGuardBytes / 4,
                                   zones[z].after ? buffer.after() : buffer.before(), kGuardBytes,
                                   stream_),
           "cuMemcpyDtoHAsync");
    }
    call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize", kernel);
    for (size_t z = 0; z < zones.size(); ++z) {
      const auto* bytes = reinterpret_cast<const unsigned char*>(host.data() + z * kGuardBytes / 4);
      int64_t changed = 0, nearest = -1;
      for (size_t b = 0; b < kGuardBytes; ++b) {
        if (bytes[b] == guard_pattern()[b])
          continue;
        ++changed;
        // Counted from the buffer's edge: after the end from 0 upwards, before the start
        // from the last guard byte downwards.
        int64_t offset =
            zones[z].after ? static_cast<int64_t>(b) : static_cast<int64_t>(kGuardBytes - 1 - b);
        if (nearest < 0 || offset < nearest)
          nearest = offset;
      }
      if (changed == 0)
        continue;
      if (violations.size() < RunReply::kMaxGuardViolations) {
        violations.push_back(
            {zones[z].name, zones[z].after ? "after" : "before", nearest, changed, kernel, repeat});
      }
      fill_guards(*zones[z].buffer);
    }
  }

  // Copies a set back to the host (on the stream) and writes it as safetensors.
  void download(const TensorSet& set, const fs::path& path) {
    SafetensorsFile file;
    for (const auto& [name, tensor] : set.host) {
      Tensor copy = tensor;
      const DeviceBuffer& buffer = *set.buffers.at(name);
      copy.bytes.resize(buffer.bytes());
      if (!copy.bytes.empty()) {
        call(api().cuMemcpyDtoHAsync(copy.bytes.data(), buffer.pointer(), buffer.bytes(), stream_),
             "cuMemcpyDtoHAsync");
      }
      file.tensors[name] = std::move(copy);
    }
    call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize");
    write_safetensors(path, file);
  }

  static BoundPlan bind(const WorkerPlan& plan, std::initializer_list<const TensorSet*> sets) {
    BoundPlan bound;
    bound.pointers.resize(plan.kernels.size());
    bound.values.resize(plan.kernels.size());
    bound.parameters.resize(plan.kernels.size());
    for (size_t k = 0; k < plan.kernels.size(); ++k) {
      const PlanLaunch& launch = plan.kernels[k];
      // Sized up front: parameters point into these vectors.
      bound.pointers[k].resize(launch.arguments.size());
      bound.values[k].resize(launch.arguments.size());
      for (size_t a = 0; a < launch.arguments.size(); ++a) {
        const PlanArgument& argument = launch.arguments[a];
        if (argument.buffer.empty()) {
          bound.values[k][a] = argument.bytes;
          bound.parameters[k].push_back(bound.values[k][a].data());
          continue;
        }
        const DeviceBuffer* buffer = nullptr;
        for (const TensorSet* set : sets) {
          auto found = set->buffers.find(argument.buffer);
          if (found != set->buffers.end())
            buffer = found->second.get();
        }
        if (!buffer) {
          throw BadRequest{"launch of '" + launch.name + "' names tensor '" + argument.buffer +
                           "', which the request does not provide"};
        }
        bound.pointers[k][a] = buffer->pointer();
        bound.parameters[k].push_back(&bound.pointers[k][a]);
      }
    }
    return bound;
  }

  void launch(CUfunction function, const PlanLaunch& launch, BoundPlan& bound, size_t k) {
    call(api().cuLaunchKernel(function, launch.grid[0], launch.grid[1], launch.grid[2],
                              launch.block[0], launch.block[1], launch.block[2],
                              launch.shared_bytes, stream_, bound.parameters[k].data(), nullptr),
         "cuLaunchKernel", launch.name, true);
  }

  // ---- run ----

  RunReply run(const RunRequest& request) {
    WorkerPlan plan = parse_plan(request.plan);
    std::vector<CUfunction> handles = functions(request.cubin, plan);
    files::ensure_directory(request.out_dir);
    TensorSet inputs, outputs, scratch;
    upload(request.tensors, inputs);
    allocate_outputs(request.outputs, outputs);
    allocate_scratch(plan, scratch);
    BoundPlan bound = bind(plan, {&inputs, &outputs, &scratch});
    RunReply reply;
    for (int repeat = 0; repeat < request.repeats; ++repeat) {
      unsigned char poison_byte = poison_byte_for_repeat(repeat);
      reply.poison_bytes.push_back(poison_byte);
      poison(outputs, poison_byte);
      poison(scratch, poison_byte);
      for (size_t k = 0; k < plan.kernels.size(); ++k) {
        launch(handles[k], plan.kernels[k], bound, k);
        // Waiting after each launch names the kernel that faulted or wrote out of bounds;
        // results do not change, as the launches are in order on one stream anyway.
        call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize", plan.kernels[k].name);
        check_guards({&inputs, &outputs, &scratch}, plan.kernels[k].name, repeat,
                     reply.guard_violations);
      }
      fs::path path = request.out_dir / ("outputs-" + std::to_string(repeat) + ".safetensors");
      download(outputs, path);
      reply.outputs.push_back(path);
    }
    reply.inputs_after = request.out_dir / "inputs_after.safetensors";
    download(inputs, reply.inputs_after);
    return reply;
  }

  // ---- time ----

  DeviceTiming& timing() {
    if (!timing_)
      throw BadRequest{"device timing is unavailable: " + timing_error_};
    return *timing_;
  }

  const DeviceBuffer& flush_buffer() {
    // Twice the L2, so that nothing the previous iteration touched survives in it.
    size_t bytes = std::max<size_t>(2 * static_cast<size_t>(device_.l2_bytes), 64 << 20);
    if (!flush_ || flush_->bytes() < bytes)
      flush_ = std::make_unique<DeviceBuffer>(*this, bytes, "L2 flush buffer");
    return *flush_;
  }

  TimeReply time(const TimeRequest& request) {
    DeviceTiming& timer = timing();
    WorkerPlan plan = parse_plan(request.plan);
    std::vector<CUfunction> handles = functions(request.cubin, plan);
    files::ensure_directory(request.out_dir);
    std::vector<std::unique_ptr<TensorSet>> sets;
    for (const fs::path& path : request.input_sets) {
      sets.push_back(std::make_unique<TensorSet>());
      upload(path, *sets.back());
    }
    TensorSet fresh, outputs, scratch;
    bool has_fresh = !request.fresh_inputs.empty();
    if (has_fresh)
      upload(request.fresh_inputs, fresh);
    allocate_outputs(request.outputs, outputs);
    allocate_scratch(plan, scratch);
    std::vector<BoundPlan> bound;
    for (const auto& set : sets)
      bound.push_back(bind(plan, {set.get(), &outputs, &scratch}));
    BoundPlan fresh_bound = has_fresh ? bind(plan, {&fresh, &outputs, &scratch}) : BoundPlan{};
    const DeviceBuffer* flush = request.flush_l2 ? &flush_buffer() : nullptr;

    auto launch_all = [&](BoundPlan& parameters) {
      for (size_t k = 0; k < plan.kernels.size(); ++k)
        launch(handles[k], plan.kernels[k], parameters, k);
    };
    for (int w = 0; w < request.warmup; ++w)
      launch_all(bound[static_cast<size_t>(w) % bound.size()]);
    call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize", "one of the plan's kernels");

    timer.start();
    StopTiming stop_timing{timer};
    std::vector<DeviceInterval> kernels, copies;
    timer.collect(kernels, copies, true);  // the warm-up's records are not ours to count
    kernels.clear();

    struct Iteration {
      int kernels = 0;
      uint64_t busy_ns = 0;
      uint64_t first_start = UINT64_MAX;
      uint64_t last_end = 0;
    };
    std::vector<Iteration> iterations;
    std::map<uint32_t, size_t> owner;  // correlation id → timed iteration
    int launches = static_cast<int>(plan.kernels.size());
    auto absorb = [&](bool force) {
      timer.collect(kernels, copies, force);
      for (const DeviceInterval& record : kernels) {
        auto found = owner.find(record.correlation_id);
        if (found == owner.end())
          continue;  // not one of the candidate's timed launches
        Iteration& iteration = iterations[found->second];
        ++iteration.kernels;
        iteration.busy_ns += record.end_ns - record.start_ns;
        iteration.first_start = std::min(iteration.first_start, record.start_ns);
        iteration.last_end = std::max(iteration.last_end, record.end_ns);
        owner.erase(found);
      }
      kernels.clear();
      copies.clear();
    };
    auto complete_samples = [&] {
      std::vector<double> samples;
      for (const Iteration& iteration : iterations) {
        if (iteration.kernels < launches)
          break;
        samples.push_back(static_cast<double>(iteration.busy_ns) / 1000.0);
      }
      return samples;
    };

    TimeReply reply;
    int fresh_iteration = has_fresh ? std::max(0, (request.min_samples + 1) / 2) : -1;
    auto started = Clock::now();
    auto cap = std::chrono::duration<double, std::milli>(request.time_cap_ms);
    for (int i = 0;; ++i) {
      bool is_fresh = i == fresh_iteration;
      iterations.push_back({});
      if (is_fresh)
        poison(outputs, kFreshPoisonByte);  // its outputs must be written by this very iteration
      if (flush) {
        call(api().cuMemsetD32Async(flush->pointer(), static_cast<unsigned>(i), flush->bytes() / 4,
                                    stream_),
             "cuMemsetD32Async");
      }
      BoundPlan& parameters = is_fresh ? fresh_bound : bound[static_cast<size_t>(i) % bound.size()];
      for (size_t k = 0; k < plan.kernels.size(); ++k) {
        launch(handles[k], plan.kernels[k], parameters, k);
        owner[timer.last_correlation_id()] = static_cast<size_t>(i);
      }
      call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize", "one of the plan's kernels");
      if (is_fresh) {
        reply.fresh_iteration = i;
        reply.fresh_outputs = request.out_dir / "fresh_outputs.safetensors";
        download(outputs, reply.fresh_outputs);
      }
      absorb(false);
      int done = i + 1;
      if (done < request.min_samples || i < fresh_iteration)
        continue;
      if (done >= request.max_samples)
        break;
      if (Clock::now() - started >= cap) {
        reply.hit_time_cap = true;
        break;
      }
      if (timer.enough_samples(complete_samples(), static_cast<size_t>(request.min_samples),
                               static_cast<size_t>(request.max_samples), request.target_spread))
        break;
    }
    // Records can trail the synchronisation a little; wait for them, briefly, then force out
    // what is left (a record that is still incomplete then is left out, not counted as 0 µs).
    auto wait_until = Clock::now() + std::chrono::seconds(2);
    while (!owner.empty() && Clock::now() < wait_until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      absorb(false);
    }
    absorb(true);
    timer.stop();
    std::vector<const TensorSet*> guarded = {&fresh, &outputs, &scratch};
    for (const auto& set : sets)
      guarded.push_back(set.get());
    check_guards(guarded, "", -1, reply.guard_violations);
    reply.kernels_per_iteration = launches;
    for (const Iteration& iteration : iterations) {
      reply.kernels_per_iteration = std::min(reply.kernels_per_iteration, iteration.kernels);
      if (iteration.kernels < launches)
        continue;
      reply.device_us.push_back(static_cast<double>(iteration.busy_ns) / 1000.0);
      reply.span_us.push_back(static_cast<double>(iteration.last_end - iteration.first_start) /
                              1000.0);
    }
    return reply;
  }

  // ---- measure ----

  static double median(std::vector<double> values) {
    if (values.empty())
      return 0;
    std::sort(values.begin(), values.end());
    size_t middle = values.size() / 2;
    return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
  }

  // Runs `issue` (one launch or copy on the stream) `warmup` times untimed, then `repeats`
  // times, each followed by a synchronisation, and returns the durations in seconds of the
  // CUPTI records of the timed ones (kernel or copy records by correlation id).
  std::vector<double> timed_durations(const std::function<void()>& issue, int warmup, int repeats,
                                      bool copies_not_kernels) {
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

  static std::vector<double> rates(const std::vector<double>& durations, double amount) {
    std::vector<double> out;
    for (double seconds : durations)
      out.push_back(amount / seconds);
    return out;
  }

  DeviceMeasurement measure() {
    timing();  // refuses early where there is no device timing
    DeviceMeasurement measurement;
    size_t free_bytes = 0, total_bytes = 0;
    call(api().cuMemGetInfo(&free_bytes, &total_bytes), "cuMemGetInfo");
    json details = json::object();

    // Bandwidth: buffers far larger than L2, in whole tiles of the bandwidth kernels.
    constexpr unsigned kThreads = 512;
    constexpr size_t kTileBytes = size_t{4} * kThreads * 16;
    size_t buffer_bytes =
        std::min<size_t>(size_t{1} << 30, free_bytes / 4) / kTileBytes * kTileBytes;
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
      std::vector<double> read_rates =
          kernel_rates("kforge_read_bandwidth", read_parameters, bytes);
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
    std::vector<double> fma_rates =
        peak_rates(fma_function(), "kforge_fma_peak", fma_loops, fma_flops);
    measurement.peak_fp32_flops_per_s = median(fma_rates);
    details["fp32"] = {{"method",
                        "hand-written PTX kernel (driver JIT): 8 independent fma.rn.f32 chains per "
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
          {"full_rate_why",
           measurement.tensor_full_rate
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

  static constexpr int kFmaPerLoop = 128;  // 16 rounds of 8 chains in the PTX below
  CUfunction fma_function();
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
  std::map<std::string, LoadedModule> modules_;
  CUmodule fma_module_ = nullptr;
  std::map<std::string, CUmodule> measurement_modules_;
  std::unique_ptr<DeviceBuffer> flush_;
  bool context_lost_ = false;

  friend class DeviceBuffer;
};

// Peak fp32 FMA rate: 8 independent chains per thread (enough to hide the FMA latency at full
// occupancy), 16 rounds per loop trip; the sum is stored so nothing is dead code.
std::string fma_ptx() {
  std::string body;
  for (int round = 0; round < 16; ++round) {
    for (int chain = 0; chain < 8; ++chain) {
      std::string a = "%f" + std::to_string(chain);
      body += "  fma.rn.f32 " + a + ", " + a + ", %fb, %fc;\n";
    }
  }
  return R"(.version 8.0
.target sm_75
.address_size 64

.visible .entry kforge_fma_peak(.param .u64 out, .param .u32 loops)
{
  .reg .pred %p;
  .reg .b32 %r<4>;
  .reg .f32 %f<8>;
  .reg .f32 %fb;
  .reg .f32 %fc;
  .reg .f32 %fs;
  .reg .b64 %rd<4>;
  ld.param.u64 %rd0, [out];
  ld.param.u32 %r0, [loops];
  mov.u32 %r1, %tid.x;
  cvt.rn.f32.u32 %f0, %r1;
  add.f32 %f1, %f0, 0f3F800000;
  add.f32 %f2, %f0, 0f40000000;
  add.f32 %f3, %f0, 0f40400000;
  add.f32 %f4, %f0, 0f40800000;
  add.f32 %f5, %f0, 0f40A00000;
  add.f32 %f6, %f0, 0f40C00000;
  add.f32 %f7, %f0, 0f40E00000;
  mov.f32 %fb, 0f3F7FFFEF;
  mov.f32 %fc, 0f33D6BF95;
  mov.u32 %r2, 0;
LOOP:
)" + body +
         R"(  add.u32 %r2, %r2, 1;
  setp.lt.u32 %p, %r2, %r0;
  @%p bra LOOP;
  add.f32 %fs, %f0, %f1;
  add.f32 %fs, %fs, %f2;
  add.f32 %fs, %fs, %f3;
  add.f32 %fs, %fs, %f4;
  add.f32 %fs, %fs, %f5;
  add.f32 %fs, %fs, %f6;
  add.f32 %fs, %fs, %f7;
  mov.u32 %r3, %ctaid.x;
  mov.u32 %r1, %ntid.x;
  mov.u32 %r2, %tid.x;
  mad.lo.u32 %r3, %r3, %r1, %r2;
  mul.wide.u32 %rd1, %r3, 4;
  add.u64 %rd2, %rd0, %rd1;
  st.global.f32 [%rd2], %fs;
  ret;
}
)";
}

CUfunction Worker::fma_function() {
  if (!fma_module_) {
    std::string ptx = fma_ptx();
    call(api().cuModuleLoadData(&fma_module_, ptx.c_str()), "cuModuleLoadData(fma PTX)");
  }
  CUfunction function = nullptr;
  call(api().cuModuleGetFunction(&function, fma_module_, "kforge_fma_peak"), "cuModuleGetFunction");
  return function;
}

// The measurement kernels in sandbox/ptx/<file>.ptx, embedded in the binary.
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

DeviceBuffer::DeviceBuffer(Worker& worker, size_t bytes, const std::string& what, bool guarded)
    : worker_(worker), bytes_(bytes), guarded_(guarded) {
  // A zero-byte tensor still gets an address of its own.
  worker_.call(worker_.api().cuMemAlloc(&base_, std::max<size_t>(bytes + 2 * guard(), 1)),
               "cuMemAlloc", what);
  worker_.fill_guards(*this);
}

DeviceBuffer::~DeviceBuffer() {
  if (base_ != 0 && !worker_.context_lost())
    worker_.api().cuMemFree(base_);
}

// Reads one line (without its newline) from `fd`; false at the end of input.
bool read_line(int fd, std::string& buffer, std::string& line) {
  for (;;) {
    size_t newline = buffer.find('\n');
    if (newline != std::string::npos) {
      line = buffer.substr(0, newline);
      buffer.erase(0, newline + 1);
      return true;
    }
    char chunk[65536];
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace

int move_protocol_off_stdout() {
  std::fflush(stdout);
  int protocol = ::dup(STDOUT_FILENO);
  if (protocol < 0)
    throw Error(std::string("cannot duplicate stdout: ") + std::strerror(errno), "GPU worker");
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  return protocol;
}

int run_gpu_worker(int input_fd, int output_fd, const GpuWorkerSetup& setup) {
  // Ctrl-C in kforge's terminal reaches the worker too; the parent decides what it means (the
  // candidate on the GPU finishes), and the worker ends when its stdin closes.
  std::signal(SIGINT, SIG_IGN);
  Worker worker(output_fd, setup);
  std::string buffer, line;
  bool greeted = false;
  while (read_line(input_fd, buffer, line)) {
    json request = json::parse(line, nullptr, false);
    if (!request.is_object()) {
      worker.send({{"id", 0},
                   {"ok", false},
                   {"failure", WorkerFailure{"bad_request", "",
                                             "a request line is not a JSON "
                                             "object",
                                             "", false, ""}
                                   .to_json()}});
      continue;
    }
    std::string op = request.value("op", "");
    if (op == "exit")
      return 0;
    if (op == "hello") {
      if (!worker.hello(request))
        return 1;
      greeted = true;
      continue;
    }
    if (!greeted) {
      worker.send({{"id", request.value("id", json(0))},
                   {"ok", false},
                   {"failure", WorkerFailure{"bad_request", "", "the first request must be hello",
                                             "", false, ""}
                                   .to_json()}});
      continue;
    }
    if (!worker.serve(request))
      return 3;  // the context is lost: the parent starts a new worker
  }
  return 0;
}

}  // namespace kforge

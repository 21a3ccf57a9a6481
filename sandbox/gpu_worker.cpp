// How the worker runs and times a candidate.
//
// run: every input and parameter is uploaded once; before each repeat the outputs and scratch
// are filled with 0xFF (a NaN pattern in every float type); the plan's launches go in order on
// one stream, with a synchronisation after each so that a fault names its kernel; the outputs of
// every repeat and the inputs after the last come back as safetensors files.
//
// time: each input set gets its own device copy, so rotating among them costs no copy. Warm-up
// launches (rotating) come first and are not recorded. Each timed iteration then: (on the fresh
// iteration only) poisons the outputs; flushes L2 with cuMemsetD32Async over a buffer of twice
// the L2 size (at least 64 MiB), which produces no kernel record; launches the plan; waits for
// the stream. A launch's CUPTI correlation id ties its kernel record to its iteration, so only
// the candidate's own kernels are counted: an iteration's device time is the sum of its kernel
// durations, its span first start to last end. The iteration at (min_samples + 1) / 2 runs on
// the fresh inputs and its outputs are written. Iterations go on until at least min_samples are
// in and past the fresh one, then stop at max_samples, at the wall-clock cap, or when
// enough_samples (profiler/statistics.hpp: (p90 - p10) / median within the target) says so.
// Every complete sample is returned; the parent summarises.
//
// measure: see Worker::measure (method and sizes are also written into the reply's details).
#include "sandbox/gpu_worker.hpp"

#include <cuda.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness/util/cuda_libraries.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/safetensors.hpp"
#include "sandbox/gpu_protocol.hpp"

namespace kforge {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kPrintfFifoBytes = 64 << 10;  // a printf flood fills this and stops
constexpr int64_t kDefaultSharedLimit = 48 << 10;
constexpr unsigned char kPoison = 0xFF;  // a NaN pattern in every float type

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

struct PlanArgument {
  bool tensor = false;
  std::string name;   // tensor
  std::string bytes;  // value: the parameter's bytes
};

struct PlanLaunch {
  std::string kernel;
  std::array<unsigned, 3> grid{1, 1, 1};
  std::array<unsigned, 3> block{1, 1, 1};
  unsigned shared_bytes = 0;
  std::vector<PlanArgument> args;
};

struct PlanScratch {
  std::string name;
  size_t bytes = 0;
};

struct WorkerPlan {
  std::vector<PlanLaunch> launches;
  std::vector<PlanScratch> scratch;
};

std::string bytes_from_hex(const std::string& hex) {
  auto digit = [&](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    throw BadRequest{"argument bytes '" + hex + "' are not hexadecimal"};
  };
  if (hex.size() % 2 != 0)
    throw BadRequest{"argument bytes '" + hex + "' have an odd length"};
  std::string bytes;
  for (size_t i = 0; i < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(digit(hex[i]) * 16 + digit(hex[i + 1])));
  return bytes;
}

// Reads ResolvedPlan::to_json() (harness/candidate/plan_validation.hpp) without depending on it:
// values arrive as their exact parameter bytes ("bytes"), so nothing is converted here.
WorkerPlan parse_plan(const json& plan) {
  try {
    WorkerPlan parsed;
    for (const json& entry : plan.at("launches")) {
      PlanLaunch launch;
      launch.kernel = entry.at("kernel").get<std::string>();
      auto grid = entry.at("grid").get<std::array<int64_t, 3>>();
      auto block = entry.at("block").get<std::array<int64_t, 3>>();
      for (size_t i = 0; i < 3; ++i) {
        if (grid[i] < 1 || block[i] < 1 || grid[i] > UINT32_MAX || block[i] > UINT32_MAX)
          throw BadRequest{"launch of '" + launch.kernel + "' has a dimension out of range"};
        launch.grid[i] = static_cast<unsigned>(grid[i]);
        launch.block[i] = static_cast<unsigned>(block[i]);
      }
      int64_t shared = entry.at("shared_bytes").get<int64_t>();
      if (shared < 0 || shared > UINT32_MAX)
        throw BadRequest{"launch of '" + launch.kernel + "' has shared_bytes out of range"};
      launch.shared_bytes = static_cast<unsigned>(shared);
      for (const json& item : entry.at("args")) {
        PlanArgument argument;
        if (item.at("kind").get<std::string>() == "tensor") {
          argument.tensor = true;
          argument.name = item.at("tensor").get<std::string>();
        } else {
          argument.bytes = bytes_from_hex(item.at("bytes").get<std::string>());
          if (argument.bytes.size() != item.value("width", argument.bytes.size()))
            throw BadRequest{"an argument of '" + launch.kernel + "' has bytes of another width"};
        }
        launch.args.push_back(std::move(argument));
      }
      parsed.launches.push_back(std::move(launch));
    }
    if (plan.contains("scratch")) {
      for (const json& entry : plan.at("scratch")) {
        int64_t bytes = entry.at("bytes").get<int64_t>();
        if (bytes < 0)
          throw BadRequest{"scratch buffer has negative size"};
        parsed.scratch.push_back({entry.at("name").get<std::string>(), static_cast<size_t>(bytes)});
      }
    }
    return parsed;
  } catch (const json::exception& bad) {
    throw BadRequest{std::string("the plan is malformed: ") + bad.what()};
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

// One device allocation, freed with the object unless the context is gone.
class DeviceBuffer {
 public:
  DeviceBuffer(Worker& worker, size_t bytes, const std::string& what);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  CUdeviceptr pointer() const { return pointer_; }
  size_t bytes() const { return bytes_; }

 private:
  Worker& worker_;
  CUdeviceptr pointer_ = 0;
  size_t bytes_ = 0;
};

// Named device tensors: one input set, the outputs, or the scratch buffers.
struct TensorSet {
  std::map<std::string, std::unique_ptr<DeviceBuffer>> buffers;
  std::map<std::string, Tensor> host;  // dtype and shape (bytes emptied once uploaded)
};

// Kernel parameters of every launch of a plan, bound to one input set.
struct BoundPlan {
  std::vector<std::vector<CUdeviceptr>> pointers;
  std::vector<std::vector<std::string>> values;
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
    auto cached = loaded.functions.find(launch.kernel);
    if (cached == loaded.functions.end()) {
      CUfunction handle = nullptr;
      if (api().cuModuleGetFunction(&handle, loaded.module, launch.kernel.c_str()) != CUDA_SUCCESS)
        throw BadRequest{"kernel '" + launch.kernel + "' is not in " + cubin.string()};
      cached = loaded.functions.emplace(launch.kernel, FunctionState{handle, 0}).first;
    }
    FunctionState& state = cached->second;
    // Over 48 KiB of dynamic shared memory needs the function's opt-in first.
    if (launch.shared_bytes > kDefaultSharedLimit && state.shared_limit < launch.shared_bytes) {
      call(api().cuFuncSetAttribute(state.handle, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                    static_cast<int>(launch.shared_bytes)),
           "cuFuncSetAttribute", launch.kernel, true);
      state.shared_limit = launch.shared_bytes;
    }
    return state.handle;
  }

  std::vector<CUfunction> functions(const fs::path& cubin, const WorkerPlan& plan) {
    std::vector<CUfunction> handles;
    for (const PlanLaunch& launch : plan.launches)
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
      auto buffer = std::make_unique<DeviceBuffer>(*this, tensor.bytes.size(), name);
      if (!tensor.bytes.empty())
        call(api().cuMemcpyHtoD(buffer->pointer(), tensor.bytes.data(), tensor.bytes.size()),
             "cuMemcpyHtoD");
      set.buffers[name] = std::move(buffer);
      tensor.bytes.clear();
      set.host[name] = std::move(tensor);
    }
  }

  void allocate_outputs(const std::vector<OutputSpec>& outputs, TensorSet& set) {
    for (const OutputSpec& output : outputs) {
      size_t bytes = output_bytes(output);
      set.buffers[output.name] = std::make_unique<DeviceBuffer>(*this, bytes, output.name);
      Tensor tensor;
      tensor.dtype = *dtype_from_name(output.dtype);
      tensor.shape = output.shape;
      set.host[output.name] = std::move(tensor);
    }
  }

  void allocate_scratch(const WorkerPlan& plan, TensorSet& set) {
    for (const PlanScratch& scratch : plan.scratch)
      set.buffers[scratch.name] =
          std::make_unique<DeviceBuffer>(*this, scratch.bytes, scratch.name);
  }

  void poison(const TensorSet& set) {
    for (const auto& [name, buffer] : set.buffers)
      call(api().cuMemsetD8Async(buffer->pointer(), kPoison, buffer->bytes(), stream_),
           "cuMemsetD8Async");
  }

  // Copies a set back to the host and writes it as safetensors.
  void download(const TensorSet& set, const fs::path& path) {
    call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize");
    SafetensorsFile file;
    for (const auto& [name, tensor] : set.host) {
      Tensor copy = tensor;
      const DeviceBuffer& buffer = *set.buffers.at(name);
      copy.bytes.resize(buffer.bytes());
      if (!copy.bytes.empty())
        call(api().cuMemcpyDtoH(copy.bytes.data(), buffer.pointer(), buffer.bytes()),
             "cuMemcpyDtoH");
      file.tensors[name] = std::move(copy);
    }
    write_safetensors(path, file);
  }

  static BoundPlan bind(const WorkerPlan& plan, std::initializer_list<const TensorSet*> sets) {
    BoundPlan bound;
    bound.pointers.resize(plan.launches.size());
    bound.values.resize(plan.launches.size());
    bound.parameters.resize(plan.launches.size());
    for (size_t k = 0; k < plan.launches.size(); ++k) {
      const PlanLaunch& launch = plan.launches[k];
      // Sized up front: parameters point into these vectors.
      bound.pointers[k].resize(launch.args.size());
      bound.values[k].resize(launch.args.size());
      for (size_t a = 0; a < launch.args.size(); ++a) {
        const PlanArgument& argument = launch.args[a];
        if (!argument.tensor) {
          bound.values[k][a] = argument.bytes;
          bound.parameters[k].push_back(bound.values[k][a].data());
          continue;
        }
        const DeviceBuffer* buffer = nullptr;
        for (const TensorSet* set : sets) {
          auto found = set->buffers.find(argument.name);
          if (found != set->buffers.end())
            buffer = found->second.get();
        }
        if (!buffer) {
          throw BadRequest{"launch of '" + launch.kernel + "' names tensor '" + argument.name +
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
         "cuLaunchKernel", launch.kernel, true);
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
      poison(outputs);
      poison(scratch);
      for (size_t k = 0; k < plan.launches.size(); ++k) {
        launch(handles[k], plan.launches[k], bound, k);
        // Waiting after each launch names the kernel that faulted; results do not change, as
        // the launches are in order on one stream anyway.
        call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize", plan.launches[k].kernel);
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
      for (size_t k = 0; k < plan.launches.size(); ++k)
        launch(handles[k], plan.launches[k], parameters, k);
    };
    for (int w = 0; w < request.warmup; ++w)
      launch_all(bound[static_cast<size_t>(w) % bound.size()]);
    call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize", "one of the plan's kernels");

    timer.start();
    StopTiming stop_timing{timer};
    std::vector<DeviceInterval> kernels, copies;
    timer.collect(kernels, copies);  // the warm-up's records are not ours to count
    kernels.clear();

    struct Iteration {
      int kernels = 0;
      uint64_t busy_ns = 0;
      uint64_t first_start = UINT64_MAX;
      uint64_t last_end = 0;
    };
    std::vector<Iteration> iterations;
    std::map<uint32_t, size_t> owner;  // correlation id → timed iteration
    int launches = static_cast<int>(plan.launches.size());
    auto absorb = [&] {
      timer.collect(kernels, copies);
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
        poison(outputs);  // its outputs must be written by this very iteration
      if (flush) {
        call(api().cuMemsetD32Async(flush->pointer(), static_cast<unsigned>(i), flush->bytes() / 4,
                                    stream_),
             "cuMemsetD32Async");
      }
      BoundPlan& parameters = is_fresh ? fresh_bound : bound[static_cast<size_t>(i) % bound.size()];
      for (size_t k = 0; k < plan.launches.size(); ++k) {
        launch(handles[k], plan.launches[k], parameters, k);
        owner[timer.last_correlation_id()] = static_cast<size_t>(i);
      }
      call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize", "one of the plan's kernels");
      if (is_fresh) {
        reply.fresh_iteration = i;
        reply.fresh_outputs = request.out_dir / "fresh_outputs.safetensors";
        download(outputs, reply.fresh_outputs);
      }
      absorb();
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
    // Records can trail the synchronisation a little; wait for them, briefly.
    auto wait_until = Clock::now() + std::chrono::seconds(2);
    while (!owner.empty() && Clock::now() < wait_until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      absorb();
    }
    timer.stop();
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

  DeviceMeasurement measure() {
    DeviceTiming& timer = timing();
    DeviceMeasurement measurement;
    size_t free_bytes = 0, total_bytes = 0;
    call(api().cuMemGetInfo(&free_bytes, &total_bytes), "cuMemGetInfo");

    // Copy bandwidth: a large device-to-device copy reads and writes every byte once.
    size_t copy_bytes = std::min<size_t>(size_t{1} << 30, free_bytes / 4) & ~size_t{4095};
    std::vector<double> copy_rates;
    {
      DeviceBuffer source(*this, copy_bytes, "copy source");
      DeviceBuffer target(*this, copy_bytes, "copy target");
      call(api().cuMemsetD32(source.pointer(), 0x3f800000u, copy_bytes / 4), "cuMemsetD32");
      for (int warm = 0; warm < 2; ++warm) {
        call(api().cuMemcpyDtoDAsync(target.pointer(), source.pointer(), copy_bytes, stream_),
             "cuMemcpyDtoDAsync");
      }
      call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize");
      timer.start();
      StopTiming stop_timing{timer};
      std::vector<DeviceInterval> kernels, copies;
      timer.collect(kernels, copies);
      copies.clear();
      std::vector<uint32_t> ours;
      for (int repeat = 0; repeat < 10; ++repeat) {
        call(api().cuMemcpyDtoDAsync(target.pointer(), source.pointer(), copy_bytes, stream_),
             "cuMemcpyDtoDAsync");
        ours.push_back(timer.last_correlation_id());
      }
      call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize");
      auto wait_until = Clock::now() + std::chrono::seconds(2);
      while (Clock::now() < wait_until) {
        timer.collect(kernels, copies);
        size_t found = 0;
        for (const DeviceInterval& copy : copies)
          found += std::count(ours.begin(), ours.end(), copy.correlation_id);
        if (found >= ours.size())
          break;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      timer.stop();
      for (const DeviceInterval& copy : copies) {
        if (std::count(ours.begin(), ours.end(), copy.correlation_id) &&
            copy.end_ns > copy.start_ns)
          copy_rates.push_back(2.0 * static_cast<double>(copy.bytes) /
                               (static_cast<double>(copy.end_ns - copy.start_ns) * 1e-9));
      }
    }
    measurement.copy_bandwidth_bytes_per_s = median(copy_rates);

    // Peak fp32: independent FMA chains in every thread of a full device.
    std::vector<double> fma_rates;
    unsigned threads = 256;
    unsigned blocks = static_cast<unsigned>(std::max(1, device_.sm_count)) * 8;
    unsigned loops = 4096;
    double fma_per_thread = static_cast<double>(loops) * kFmaPerLoop;
    {
      CUfunction peak = fma_function();
      DeviceBuffer out(*this, static_cast<size_t>(threads) * blocks * 4, "fma output");
      CUdeviceptr out_pointer = out.pointer();
      void* parameters[] = {&out_pointer, &loops};
      auto launch_peak = [&] {
        call(api().cuLaunchKernel(peak, blocks, 1, 1, threads, 1, 1, 0, stream_, parameters,
                                  nullptr),
             "cuLaunchKernel", "kforge_fma_peak", true);
      };
      launch_peak();
      call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize", "kforge_fma_peak");
      timer.start();
      StopTiming stop_timing{timer};
      std::vector<DeviceInterval> kernels, copies;
      timer.collect(kernels, copies);
      kernels.clear();
      std::vector<uint32_t> ours;
      for (int repeat = 0; repeat < 7; ++repeat) {
        launch_peak();
        ours.push_back(timer.last_correlation_id());
        call(api().cuStreamSynchronize(stream_), "cuStreamSynchronize", "kforge_fma_peak");
      }
      auto wait_until = Clock::now() + std::chrono::seconds(2);
      size_t found = 0;
      while (found < ours.size() && Clock::now() < wait_until) {
        timer.collect(kernels, copies);
        found = 0;
        for (const DeviceInterval& kernel : kernels)
          found += std::count(ours.begin(), ours.end(), kernel.correlation_id);
        if (found < ours.size())
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      timer.stop();
      double flops = 2.0 * fma_per_thread * threads * blocks;
      for (const DeviceInterval& kernel : kernels) {
        if (std::count(ours.begin(), ours.end(), kernel.correlation_id) &&
            kernel.end_ns > kernel.start_ns)
          fma_rates.push_back(flops /
                              (static_cast<double>(kernel.end_ns - kernel.start_ns) * 1e-9));
      }
    }
    measurement.peak_fp32_flops_per_s = median(fma_rates);
    measurement.details = {
        {"copy",
         {{"method",
           "cuMemcpyDtoDAsync device to device, 2 warm-up copies then 10 timed; rate = 2 x bytes "
           "(read + written) / duration of the CUPTI memcpy record; median"},
          {"bytes", copy_bytes},
          {"samples_bytes_per_s", copy_rates}}},
        {"fp32",
         {{"method",
           "hand-written PTX kernel (driver JIT): 8 independent fma.rn.f32 chains per thread; "
           "1 warm-up launch then 7 timed; rate = 2 x FMAs / duration of the CUPTI kernel "
           "record; median"},
          {"blocks", blocks},
          {"threads_per_block", threads},
          {"fma_per_thread", fma_per_thread},
          {"samples_flops_per_s", fma_rates}}},
        {"device", device_.name},
        {"driver_version", device_.driver_version},
        {"cupti_version", device_.cupti_version}};
    return measurement;
  }

  static constexpr int kFmaPerLoop = 128;  // 16 rounds of 8 chains in the PTX below
  CUfunction fma_function();

  struct FunctionState {
    CUfunction handle = nullptr;
    unsigned shared_limit = 0;
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

DeviceBuffer::DeviceBuffer(Worker& worker, size_t bytes, const std::string& what)
    : worker_(worker), bytes_(bytes) {
  // A zero-byte tensor still gets an address of its own.
  worker_.call(worker_.api().cuMemAlloc(&pointer_, std::max<size_t>(bytes, 1)), "cuMemAlloc", what);
}

DeviceBuffer::~DeviceBuffer() {
  if (pointer_ != 0 && !worker_.context_lost())
    worker_.api().cuMemFree(pointer_);
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

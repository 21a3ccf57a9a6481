// The GPU worker's modules and tensors: cubins loaded and cached by path (reloaded when the file
// changes), the plan read from the request, inputs uploaded, outputs and scratch allocated,
// poisoned and downloaded, and the plan's kernel parameters bound to one input set.
//
// Guard zones: every input, parameter, output and scratch buffer is allocated with
// kGuardBytes (sandbox/gpu_protocol.hpp) on each side, filled with kGuardWord when allocated;
// a changed guard byte is reported as a GuardViolation and the zone is filled again.
#include <algorithm>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "kforge/kernels/error.hpp"
#include "sandbox/gpu_worker_internal.hpp"

namespace kforge::gpu_worker {

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

CUfunction Worker::function(const fs::path& cubin, const PlanLaunch& launch) {
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

std::vector<CUfunction> Worker::functions(const fs::path& cubin, const WorkerPlan& plan) {
  std::vector<CUfunction> handles;
  for (const PlanLaunch& launch : plan.kernels)
    handles.push_back(function(cubin, launch));
  return handles;
}

void Worker::upload(const fs::path& path, TensorSet& set) {
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

void Worker::allocate_outputs(const std::vector<OutputSpec>& outputs, TensorSet& set) {
  for (const OutputSpec& output : outputs) {
    size_t bytes = output_bytes(output);
    set.buffers[output.name] = std::make_unique<DeviceBuffer>(*this, bytes, output.name, true);
    Tensor tensor;
    tensor.dtype = *dtype_from_name(output.dtype);
    tensor.shape = output.shape;
    set.host[output.name] = std::move(tensor);
  }
}

void Worker::allocate_scratch(const WorkerPlan& plan, TensorSet& set) {
  for (const kernels::PreparedScratch& scratch : plan.scratch)
    set.buffers[scratch.name] =
        std::make_unique<DeviceBuffer>(*this, scratch.bytes, scratch.name, true);
}

void Worker::poison(const TensorSet& set, unsigned char byte) {
  for (const auto& [name, buffer] : set.buffers)
    call(api().cuMemsetD8Async(buffer->pointer(), byte, buffer->bytes(), stream_),
         "cuMemsetD8Async");
}

const unsigned char* Worker::guard_pattern() {
  static const auto* pattern = [] {
    auto* bytes = new unsigned char[kGuardBytes];
    for (size_t b = 0; b < kGuardBytes; ++b)
      bytes[b] = static_cast<unsigned char>(kGuardWord >> (8 * (b % 4)));
    return bytes;
  }();
  return pattern;
}

void Worker::fill_guards(const DeviceBuffer& buffer) {
  if (buffer.guard() == 0)
    return;
  for (CUdeviceptr zone : {buffer.before(), buffer.after()})
    call(api().cuMemcpyHtoDAsync(zone, guard_pattern(), buffer.guard(), stream_),
         "cuMemcpyHtoDAsync");
}

void Worker::check_guards(const std::vector<const TensorSet*>& sets, const std::string& kernel,
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

void Worker::download(const TensorSet& set, const fs::path& path) {
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

BoundPlan Worker::bind(const WorkerPlan& plan, std::initializer_list<const TensorSet*> sets) {
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

void Worker::launch(CUfunction function, const PlanLaunch& launch, BoundPlan& bound, size_t k) {
  call(api().cuLaunchKernel(function, launch.grid[0], launch.grid[1], launch.grid[2],
                            launch.block[0], launch.block[1], launch.block[2], launch.shared_bytes,
                            stream_, bound.parameters[k].data(), nullptr),
       "cuLaunchKernel", launch.name, true);
}

}  // namespace kforge::gpu_worker

#include "kforge/kernels/runtime.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>

#include "kforge/kernels/error.hpp"
#include "kforge/kernels/nvrtc.hpp"

namespace kforge::kernels {
namespace {

namespace fs = std::filesystem;

// FNV-1a, 64 bits: a cache key that is the same on every platform (std::hash is not).
std::string cache_key(const std::vector<std::string>& parts) {
  uint64_t hash = 1469598103934665603ull;
  for (const std::string& part : parts) {
    for (unsigned char c : part + '\0') {
      hash ^= c;
      hash *= 1099511628211ull;
    }
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

std::vector<char> read_binary(const fs::path& path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream)
    throw KernelError("cannot read", path.string());
  return {std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>()};
}

fs::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return fs::path(xdg) / "kforge" / "kernels";
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".cache" / "kforge" / "kernels";
  return fs::temp_directory_path() / "kforge-kernels-cache";
}

}  // namespace

Runtime::Runtime(RuntimeOptions options)
    : options_(std::move(options)), library_(Library::scan(options_.library_root)) {
  if (options_.cache_dir.empty())
    options_.cache_dir = default_cache_dir();
}

Runtime::~Runtime() {
  // Modules go before the driver that unloads them, with its context current on this thread.
  if (driver_ && !modules_.empty()) {
    try {
      ScopedContext current(*driver_);
      modules_.clear();
    } catch (const KernelError&) {
      modules_.clear();  // never throws from a destructor
    }
  }
  modules_.clear();
}

Driver& Runtime::driver() {
  if (!driver_) {
    driver_ = std::make_unique<Driver>(Driver::open());
    if (driver_->device_count() <= options_.device)
      throw KernelError("no CUDA device " + std::to_string(options_.device) + " (" +
                            std::to_string(driver_->device_count()) + " visible)",
                        "cuDeviceGetCount");
    driver_->use_device(options_.device);
    architecture_ = driver_->architecture(options_.device);
  }
  return *driver_;
}

int Runtime::architecture() {
  std::lock_guard lock(mutex_);
  driver();
  return architecture_;
}

const ShippedKernel& Runtime::choose(const std::string& task) {
  std::lock_guard lock(mutex_);
  driver();
  return library_.choose(task, architecture_);
}

fs::path Runtime::fatbin_path(const ShippedKernel& kernel) const {
  return options_.fatbin_dir / (kernel.seed ? "seeds" : "") / kernel.task /
         (kernel.variant + ".fatbin");
}

const Module& Runtime::module(const ShippedKernel& kernel, const KernelFile& file) {
  const std::string id = kernel.source.string();
  if (const auto loaded = modules_.find(id); loaded != modules_.end())
    return loaded->second;

  std::vector<char> image;
  // A fatbin is built with the manifest's defines for every listed architecture; the driver
  // picks the SASS for this GPU (or JIT-compiles the PTX it carries for a newer one).
  // A kernel tuned for this architecture is compiled with its tuned values instead.
  if (!options_.fatbin_dir.empty() && fs::exists(fatbin_path(kernel)) &&
      !kernel.tuned_defines.count(architecture_)) {
    image = read_binary(fatbin_path(kernel));
  } else {
    std::map<std::string, long long> overrides(kernel.defines.begin(), kernel.defines.end());
    const std::vector<std::string> defines = file.define_options(overrides);
    const std::string target = compile_target(file.arch_targets, architecture_);
    if (target.empty())
      throw KernelError("the kernel's plan asks for an architecture-specific target that sm_" +
                            std::to_string(architecture_) + " cannot run",
                        kernel.source.string());
    const Nvrtc nvrtc = Nvrtc::open();
    std::vector<std::string> key_parts = {file.source, target, std::to_string(nvrtc.version())};
    key_parts.insert(key_parts.end(), defines.begin(), defines.end());
    const fs::path cached =
        options_.cache_dir / kernel.task / kernel.variant / (cache_key(key_parts) + ".cubin");
    if (fs::exists(cached)) {
      image = read_binary(cached);
    } else {
      const NvrtcOutput output =
          nvrtc.compile(file.source, kernel.source.string(), target, defines);
      if (!output.succeeded)
        throw KernelError("NVRTC could not compile the kernel for " + target + ":\n" + output.log,
                          kernel.source.string());
      image = output.cubin;
      // Written to a temporary name first, so that a concurrent reader never sees half a file.
      std::error_code error;
      fs::create_directories(cached.parent_path(), error);
      const fs::path partial = cached.string() + ".partial." + std::to_string(::getpid());
      std::ofstream(partial, std::ios::binary).write(image.data(), image.size());
      fs::rename(partial, cached, error);
    }
  }
  image.push_back('\0');  // cuModuleLoadData reads a fatbin or cubin; harmless padding
  return modules_.emplace(id, driver().load(image)).first->second;
}

void Runtime::launch(const std::string& task, const Arguments& arguments, CUstream stream) {
  std::lock_guard lock(mutex_);
  Driver& cuda = driver();
  // The primary context is current only where it was made so: on any other thread of the
  // caller, loading a module or launching would fail with CUDA_ERROR_INVALID_CONTEXT.
  ScopedContext current(cuda);
  const ShippedKernel& chosen = library_.choose(task, architecture_);
  // Compiled and launched with the values tuned on this architecture, where there are some.
  std::optional<ShippedKernel> tuned;
  if (chosen.tuned_defines.count(architecture_))
    tuned = chosen.on_architecture(architecture_);
  const ShippedKernel& kernel = tuned ? *tuned : chosen;
  auto file = files_.find(kernel.source.string());
  if (file == files_.end())
    file = files_.emplace(kernel.source.string(), read_kernel_file(kernel.source)).first;
  const PreparedLaunch prepared = prepare_launch(kernel, file->second, arguments);
  const Module& loaded = module(kernel, file->second);

  std::vector<CUdeviceptr> scratch;
  std::map<std::string, size_t> scratch_index;
  for (const PreparedScratch& buffer : prepared.scratch) {
    scratch_index[buffer.name] = scratch.size();
    scratch.push_back(cuda.allocate(buffer.bytes == 0 ? 1 : buffer.bytes, stream));
  }
  try {
    for (const PreparedKernel& planned : prepared.kernels) {
      CUfunction function = loaded.function(planned.name);
      if (planned.shared_bytes > 48 * 1024)
        cuda.allow_shared_bytes(function, planned.shared_bytes);
      std::vector<std::vector<unsigned char>> values;
      for (const PreparedArgument& argument : planned.arguments) {
        values.push_back(argument.bytes);
        if (!argument.buffer.empty()) {
          const CUdeviceptr& pointer = scratch.at(scratch_index.at(argument.buffer));
          std::memcpy(values.back().data(), &pointer, sizeof(CUdeviceptr));
        }
      }
      std::vector<void*> pointers;
      for (std::vector<unsigned char>& value : values)
        pointers.push_back(value.data());
      cuda.launch(function, planned.grid, planned.block, planned.shared_bytes, stream, pointers);
    }
  } catch (...) {
    for (CUdeviceptr buffer : scratch)
      cuda.release(buffer, stream);
    throw;
  }
  // Freed in stream order: the memory returns to the pool once the kernels are done with it.
  for (CUdeviceptr buffer : scratch)
    cuda.release(buffer, stream);
}

}  // namespace kforge::kernels

#include "sandbox/nvrtc_api.hpp"

#include <cstdlib>
#include <mutex>
#include <optional>

#include "harness/util/error.hpp"

namespace kforge {
namespace fs = std::filesystem;
namespace {

struct FunctionEntry {
  const char* symbol;
  void** slot;
};

// The table of every NVRTC symbol kforge uses and where its address goes.
std::vector<FunctionEntry> function_table(NvrtcFunctions& api) {
  return {
      {"nvrtcVersion", reinterpret_cast<void**>(&api.version)},
      {"nvrtcGetErrorString", reinterpret_cast<void**>(&api.get_error_string)},
      {"nvrtcCreateProgram", reinterpret_cast<void**>(&api.create_program)},
      {"nvrtcDestroyProgram", reinterpret_cast<void**>(&api.destroy_program)},
      {"nvrtcCompileProgram", reinterpret_cast<void**>(&api.compile_program)},
      {"nvrtcGetProgramLogSize", reinterpret_cast<void**>(&api.get_program_log_size)},
      {"nvrtcGetProgramLog", reinterpret_cast<void**>(&api.get_program_log)},
      {"nvrtcGetPTXSize", reinterpret_cast<void**>(&api.get_ptx_size)},
      {"nvrtcGetPTX", reinterpret_cast<void**>(&api.get_ptx)},
      {"nvrtcGetCUBINSize", reinterpret_cast<void**>(&api.get_cubin_size)},
      {"nvrtcGetCUBIN", reinterpret_cast<void**>(&api.get_cubin)},
  };
}

std::vector<fs::path> toolkit_roots() {
  std::vector<fs::path> roots;
  for (const char* variable : {"CUDA_HOME", "CUDA_PATH"}) {
    const char* value = std::getenv(variable);
    if (value != nullptr && value[0] != '\0')
      roots.emplace_back(value);
  }
  roots.emplace_back("/usr/local/cuda");
  return roots;
}

}  // namespace

std::vector<std::string> nvrtc_library_candidates() {
  std::vector<std::string> names = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"};
  for (const fs::path& root : toolkit_roots()) {
    for (const char* file : {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"})
      names.push_back((root / "lib64" / file).string());
  }
  return names;
}

Nvrtc::Nvrtc(DynamicLibrary library) : library_(std::move(library)) {
  for (const FunctionEntry& entry : function_table(api_))
    *entry.slot = library_.symbol(entry.symbol);
  int major = 0;
  int minor = 0;
  check(api_.version(&major, &minor), "nvrtcVersion");
  version_ = std::to_string(major) + "." + std::to_string(minor);
}

const Nvrtc& Nvrtc::instance() {
  // Opened once and kept for the life of the process: NVRTC cannot be safely unloaded.
  static std::once_flag once;
  static std::optional<Nvrtc> nvrtc;
  std::call_once(once, [] {
    nvrtc.emplace(Nvrtc(DynamicLibrary::open(nvrtc_library_candidates(), "NVRTC")));
  });
  return *nvrtc;
}

std::string Nvrtc::program_log(nvrtcProgram program) const {
  size_t size = 0;
  if (api_.get_program_log_size(program, &size) != NVRTC_SUCCESS || size == 0)
    return {};
  std::string log(size, '\0');
  if (api_.get_program_log(program, log.data()) != NVRTC_SUCCESS)
    return {};
  while (!log.empty() && log.back() == '\0')
    log.pop_back();
  return log;
}

void Nvrtc::check(nvrtcResult result, const char* function, nvrtcProgram program) const {
  if (result == NVRTC_SUCCESS)
    return;
  std::string what = std::string(function) + " failed: " + api_.get_error_string(result);
  if (program != nullptr) {
    std::string log = program_log(program);
    if (!log.empty())
      what += "; log:\n" + log;
  }
  throw Error(what, library_.path());
}

std::vector<fs::path> cuda_include_roots() {
  std::vector<fs::path> candidates;
  for (const fs::path& root : toolkit_roots())
    candidates.push_back(root / "include");
  std::vector<fs::path> roots;
  auto add = [&](const fs::path& folder) {
    std::error_code failure;
    fs::path canonical = fs::canonical(folder, failure);
    if (failure || !fs::is_directory(canonical))
      return;
    for (const fs::path& known : roots) {
      if (known == canonical)
        return;
    }
    roots.push_back(canonical);
  };
  for (const fs::path& include : candidates) {
    std::error_code failure;
    if (!fs::exists(include / "cuda_runtime.h", failure) && !fs::exists(include / "nvrtc.h"))
      continue;
    add(include / "cccl");  // first, as nvcc searches them
    add(include);
    break;  // one toolkit only: mixing headers of two toolkits helps nobody
  }
  return roots;
}

}  // namespace kforge

#include "sandbox/nvrtc_api.hpp"

#include "harness/util/cuda_libraries.hpp"

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

// NVRTC opens its builtins (libnvrtc-builtins.so.<major>.<minor>) with dlopen by bare soname
// when it first compiles, so from a folder the dynamic linker does not search (pip's
// nvidia/cu13/lib named by KFORGE_CUDA_LIB_DIRS) every compile would fail with
// NVRTC_ERROR_BUILTIN_OPERATION_FAILURE. Loading them first, by path from NVRTC's own folder,
// makes that dlopen find them already loaded (the dynamic linker matches loaded libraries by
// soname). Where they are not beside NVRTC, the linker's own search must find them; where it
// cannot either, NVRTC is unusable, and that is said now rather than at the first compile.
DynamicLibrary load_builtins(const fs::path& nvrtc_library, int major, int minor) {
  const std::string name =
      "libnvrtc-builtins.so." + std::to_string(major) + "." + std::to_string(minor);
  const fs::path beside = nvrtc_library.parent_path() / name;
  std::error_code failure;
  if (fs::exists(beside, failure)) {
    if (auto library = DynamicLibrary::try_open_global(beside.string()))
      return std::move(*library);
  }
  if (auto library = DynamicLibrary::try_open({name}))
    return std::move(*library);
  throw Error("NVRTC's builtins library " + name + " is neither beside NVRTC (" + beside.string() +
                  ") nor found by the dynamic linker; every compile would fail",
              nvrtc_library.string());
}

}  // namespace

std::vector<std::string> nvrtc_library_candidates() {
  return cuda_library_candidates("libnvrtc", {13, 12});
}

Nvrtc::Nvrtc(DynamicLibrary library) : library_(std::move(library)) {
  for (const FunctionEntry& entry : function_table(api_))
    *entry.slot = library_.symbol(entry.symbol);
  int major = 0;
  int minor = 0;
  check(api_.version(&major, &minor), "nvrtcVersion");
  version_ = std::to_string(major) + "." + std::to_string(minor);
  builtins_ = load_builtins(library_.path(), major, minor);
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
  std::optional<fs::path> library;
  try {
    library = Nvrtc::instance().library_path();
  } catch (const Error&) {
    // No usable NVRTC: nothing compiles, and the toolkit folders are all there is to offer.
  }
  return cuda_include_roots_for(library);
}

}  // namespace kforge

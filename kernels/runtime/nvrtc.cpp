#include "kforge/kernels/nvrtc.hpp"

#include <nvrtc.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "kforge/kernels/cuda_paths.hpp"
#include "kforge/kernels/error.hpp"

namespace kforge::kernels {
namespace {

namespace fs = std::filesystem;

template <typename Function>
void resolve(const SharedLibrary& library, Function& slot, const char* symbol) {
  slot = reinterpret_cast<Function>(library.symbol(symbol));
}

}  // namespace

std::vector<std::string> NvrtcLibrary::candidates() {
  return cuda_library_candidates("libnvrtc", {13, 12});
}

NvrtcLibrary NvrtcLibrary::open() {
  NvrtcLibrary nvrtc(SharedLibrary::open(candidates(), "NVRTC"));
  const SharedLibrary& library = nvrtc.library_;
  NvrtcFunctions& api = nvrtc.api_;
  resolve(library, api.version, "nvrtcVersion");
  resolve(library, api.get_error_string, "nvrtcGetErrorString");
  resolve(library, api.create_program, "nvrtcCreateProgram");
  resolve(library, api.destroy_program, "nvrtcDestroyProgram");
  resolve(library, api.compile_program, "nvrtcCompileProgram");
  resolve(library, api.get_program_log_size, "nvrtcGetProgramLogSize");
  resolve(library, api.get_program_log, "nvrtcGetProgramLog");
  resolve(library, api.get_ptx_size, "nvrtcGetPTXSize");
  resolve(library, api.get_ptx, "nvrtcGetPTX");
  resolve(library, api.get_cubin_size, "nvrtcGetCUBINSize");
  resolve(library, api.get_cubin, "nvrtcGetCUBIN");
  const nvrtcResult versioned = api.version(&nvrtc.major_, &nvrtc.minor_);
  if (versioned != NVRTC_SUCCESS)
    throw KernelError(std::string("nvrtcVersion failed: ") + api.get_error_string(versioned),
                      library.path());
  // Where they are not beside NVRTC, the linker's own search must find them; where it cannot
  // either, NVRTC is unusable, and that is said now rather than at the first compile.
  const std::string builtins =
      "libnvrtc-builtins.so." + std::to_string(nvrtc.major_) + "." + std::to_string(nvrtc.minor_);
  const fs::path beside = fs::path(library.path()).parent_path() / builtins;
  std::error_code failure;
  if (fs::exists(beside, failure))
    nvrtc.builtins_ = SharedLibrary::try_open_global(beside.string());
  if (!nvrtc.builtins_)
    nvrtc.builtins_ = SharedLibrary::try_open({builtins});
  if (!nvrtc.builtins_)
    throw KernelError("NVRTC's builtins library " + builtins + " is neither beside NVRTC (" +
                          beside.string() +
                          ") nor found by the dynamic linker; every compile would fail",
                      library.path());
  return nvrtc;
}

namespace {

// One checked call per NVRTC result: a failure names the function and NVRTC's own message.
void check(const NvrtcFunctions& api, nvrtcResult result, const char* function) {
  if (result == NVRTC_SUCCESS)
    return;
  throw KernelError(std::string(function) + " failed: " + api.get_error_string(result),
                    "NVRTC result " + std::to_string(static_cast<int>(result)));
}

}  // namespace

Nvrtc Nvrtc::open() {
  Nvrtc nvrtc(NvrtcLibrary::open());
  for (const fs::path& folder : cuda_include_roots_for(fs::path(nvrtc.library_path())))
    nvrtc.include_paths_.push_back(folder.string());
  return nvrtc;
}

int Nvrtc::version() const {
  return nvrtc_.major() * 1000 + nvrtc_.minor() * 10;
}

NvrtcOutput Nvrtc::compile(const std::string& source, const std::string& file_name,
                           int architecture, const std::vector<std::string>& options) const {
  return compile(source, file_name, "sm_" + std::to_string(architecture), options);
}

NvrtcOutput Nvrtc::compile(const std::string& source, const std::string& file_name,
                           const std::string& target,
                           const std::vector<std::string>& options) const {
  const NvrtcFunctions& api = nvrtc_.api();
  nvrtcProgram program = nullptr;
  check(api, api.create_program(&program, source.c_str(), file_name.c_str(), 0, nullptr, nullptr),
        "nvrtcCreateProgram");
  // The program is destroyed on every path, exceptions included.
  auto release = [&](nvrtcProgram* p) { api.destroy_program(p); };
  std::unique_ptr<nvrtcProgram, decltype(release)> guard(&program, release);

  // A real architecture (sm_XX, not compute_XX) makes NVRTC produce a cubin, not only PTX.
  std::vector<std::string> all = {"--gpu-architecture=" + target, "--std=c++17"};
  for (const std::string& folder : include_paths_)
    all.push_back("--include-path=" + folder);
  all.insert(all.end(), options.begin(), options.end());
  std::vector<const char*> pointers;
  for (const std::string& option : all)
    pointers.push_back(option.c_str());

  const nvrtcResult compiled =
      api.compile_program(program, static_cast<int>(pointers.size()), pointers.data());
  NvrtcOutput output;
  size_t size = 0;
  check(api, api.get_program_log_size(program, &size), "nvrtcGetProgramLogSize");
  output.log.resize(size);
  if (size > 0)
    check(api, api.get_program_log(program, output.log.data()), "nvrtcGetProgramLog");
  while (!output.log.empty() && (output.log.back() == '\0' || output.log.back() == '\n'))
    output.log.pop_back();
  if (compiled == NVRTC_ERROR_COMPILATION)
    return output;
  check(api, compiled, "nvrtcCompileProgram");

  check(api, api.get_cubin_size(program, &size), "nvrtcGetCUBINSize");
  output.cubin.resize(size);
  check(api, api.get_cubin(program, output.cubin.data()), "nvrtcGetCUBIN");
  output.succeeded = true;
  return output;
}

}  // namespace kforge::kernels

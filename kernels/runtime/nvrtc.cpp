#include "kforge/kernels/nvrtc.hpp"

#include <nvrtc.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "kforge/kernels/error.hpp"

namespace kforge::kernels {
namespace {

namespace fs = std::filesystem;

// Where NVRTC is looked for, in order. The same places kforge itself looks
// (harness/util/cuda_libraries.cpp), repeated here because this library stands alone.
std::vector<std::string> nvrtc_candidates() {
  const std::vector<std::string> sonames = {"libnvrtc.so.13", "libnvrtc.so.12"};
  std::vector<std::string> names;
  auto in_folder = [&](const std::string& folder) {
    for (const std::string& soname : sonames)
      names.push_back(folder + "/" + soname);
  };
  if (const char* extra = std::getenv("KFORGE_CUDA_LIB_DIRS")) {
    const std::string folders = extra;
    size_t start = 0;
    while (start <= folders.size()) {
      size_t colon = folders.find(':', start);
      if (colon == std::string::npos)
        colon = folders.size();
      if (colon > start)
        in_folder(folders.substr(start, colon - start));
      start = colon + 1;
    }
  }
  names.insert(names.end(), sonames.begin(), sonames.end());
  names.push_back("libnvrtc.so");
  for (const char* variable : {"CUDA_HOME", "CUDA_PATH"}) {
    const char* home = std::getenv(variable);
    if (home != nullptr && home[0] != '\0')
      in_folder(std::string(home) + "/lib64");
  }
  in_folder("/usr/local/cuda/lib64");
  return names;
}

bool has_cuda_headers(const fs::path& include) {
  std::error_code failure;
  return fs::is_regular_file(include / "cuda_fp16.h", failure);
}

// The CUDA header folders of the installation NVRTC came from (a toolkit, pip's CUDA 13
// nvidia/cu13 or CUDA 12's nvidia/cuda_* packages), else of $CUDA_HOME, $CUDA_PATH or
// /usr/local/cuda: the first that has cuda_fp16.h, CCCL's folder first.
std::vector<std::string> header_folders(const fs::path& nvrtc_library) {
  std::vector<std::vector<fs::path>> installations;
  for (const fs::path& library : {fs::weakly_canonical(nvrtc_library), nvrtc_library}) {
    const fs::path root = library.parent_path().parent_path();
    installations.push_back({root / "include" / "cccl", root / "include"});
    installations.push_back({root.parent_path() / "cuda_cccl" / "include",
                             root.parent_path() / "cuda_runtime" / "include"});
  }
  for (const char* variable : {"CUDA_HOME", "CUDA_PATH"}) {
    const char* home = std::getenv(variable);
    if (home != nullptr && home[0] != '\0')
      installations.push_back({fs::path(home) / "include" / "cccl", fs::path(home) / "include"});
  }
  installations.push_back({"/usr/local/cuda/include/cccl", "/usr/local/cuda/include"});
  for (const std::vector<fs::path>& folders : installations) {
    if (!std::any_of(folders.begin(), folders.end(), has_cuda_headers))
      continue;
    std::vector<std::string> paths;
    for (const fs::path& folder : folders) {
      std::error_code failure;
      if (fs::is_directory(folder, failure))
        paths.push_back(fs::weakly_canonical(folder).string());
    }
    return paths;
  }
  return {};
}

using GetErrorString = const char* (*)(nvrtcResult);

// One checked call per NVRTC result: a failure names the function and NVRTC's own message.
void check(const SharedLibrary& library, nvrtcResult result, const char* function) {
  if (result == NVRTC_SUCCESS)
    return;
  auto describe = library.function<GetErrorString>("nvrtcGetErrorString");
  throw KernelError(std::string(function) + " failed: " + describe(result),
                    "NVRTC result " + std::to_string(static_cast<int>(result)));
}

}  // namespace

Nvrtc Nvrtc::open() {
  Nvrtc nvrtc(SharedLibrary::open(nvrtc_candidates(), "NVRTC"));
  const std::string library = nvrtc.library_path();
  // NVRTC dlopens libnvrtc-builtins.so.<major>.<minor> by bare soname at its first compile;
  // loaded here first, by path from NVRTC's own folder, it is found already loaded.
  const int version = nvrtc.version();
  const std::string builtins = "libnvrtc-builtins.so." + std::to_string(version / 1000) + "." +
                               std::to_string((version % 1000) / 10);
  const fs::path beside = fs::path(library).parent_path() / builtins;
  std::error_code failure;
  if (fs::exists(beside, failure))
    nvrtc.builtins_ = SharedLibrary::try_open_global(beside.string());
  if (!nvrtc.builtins_) {
    try {
      nvrtc.builtins_ = SharedLibrary::open({builtins}, "NVRTC's builtins");
    } catch (const KernelError&) {
      throw KernelError("NVRTC's builtins library " + builtins + " is neither beside NVRTC (" +
                            beside.string() + ") nor found by the dynamic linker",
                        library);
    }
  }
  nvrtc.include_paths_ = header_folders(library);
  return nvrtc;
}

int Nvrtc::version() const {
  int major = 0;
  int minor = 0;
  auto get_version = library_.function<nvrtcResult (*)(int*, int*)>("nvrtcVersion");
  check(library_, get_version(&major, &minor), "nvrtcVersion");
  return major * 1000 + minor * 10;
}

NvrtcOutput Nvrtc::compile(const std::string& source, const std::string& file_name,
                           int architecture, const std::vector<std::string>& options) const {
  return compile(source, file_name, "sm_" + std::to_string(architecture), options);
}

NvrtcOutput Nvrtc::compile(const std::string& source, const std::string& file_name,
                           const std::string& target,
                           const std::vector<std::string>& options) const {
  auto create = library_.function<nvrtcResult (*)(nvrtcProgram*, const char*, const char*, int,
                                                  const char* const*, const char* const*)>(
      "nvrtcCreateProgram");
  auto destroy = library_.function<nvrtcResult (*)(nvrtcProgram*)>("nvrtcDestroyProgram");
  auto compile_program = library_.function<nvrtcResult (*)(nvrtcProgram, int, const char* const*)>(
      "nvrtcCompileProgram");
  auto log_size =
      library_.function<nvrtcResult (*)(nvrtcProgram, size_t*)>("nvrtcGetProgramLogSize");
  auto get_log = library_.function<nvrtcResult (*)(nvrtcProgram, char*)>("nvrtcGetProgramLog");
  auto cubin_size = library_.function<nvrtcResult (*)(nvrtcProgram, size_t*)>("nvrtcGetCUBINSize");
  auto get_cubin = library_.function<nvrtcResult (*)(nvrtcProgram, char*)>("nvrtcGetCUBIN");

  nvrtcProgram program = nullptr;
  check(library_, create(&program, source.c_str(), file_name.c_str(), 0, nullptr, nullptr),
        "nvrtcCreateProgram");
  // The program is destroyed on every path, exceptions included.
  auto release = [&](nvrtcProgram* p) { destroy(p); };
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
      compile_program(program, static_cast<int>(pointers.size()), pointers.data());
  NvrtcOutput output;
  size_t size = 0;
  check(library_, log_size(program, &size), "nvrtcGetProgramLogSize");
  output.log.resize(size);
  if (size > 0)
    check(library_, get_log(program, output.log.data()), "nvrtcGetProgramLog");
  while (!output.log.empty() && (output.log.back() == '\0' || output.log.back() == '\n'))
    output.log.pop_back();
  if (compiled == NVRTC_ERROR_COMPILATION)
    return output;
  check(library_, compiled, "nvrtcCompileProgram");

  check(library_, cubin_size(program, &size), "nvrtcGetCUBINSize");
  output.cubin.resize(size);
  check(library_, get_cubin(program, output.cubin.data()), "nvrtcGetCUBIN");
  output.succeeded = true;
  return output;
}

}  // namespace kforge::kernels

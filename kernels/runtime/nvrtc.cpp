#include "kforge/kernels/nvrtc.hpp"

#include <nvrtc.h>

#include <memory>

#include "kforge/kernels/error.hpp"

namespace kforge::kernels {
namespace {

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
  return Nvrtc(SharedLibrary::open(
      {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so", "/usr/local/cuda/lib64/libnvrtc.so"},
      "NVRTC"));
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
  std::vector<std::string> all = {"--gpu-architecture=sm_" + std::to_string(architecture),
                                  "--std=c++17"};
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

#include "sandbox/nvrtc_api.hpp"

#include <mutex>
#include <optional>

#include "harness/util/cuda_libraries.hpp"
#include "harness/util/error.hpp"
#include "kforge/kernels/error.hpp"

namespace kforge {
namespace fs = std::filesystem;
std::vector<std::string> nvrtc_library_candidates() {
  return kernels::NvrtcLibrary::candidates();
}

Nvrtc::Nvrtc(kernels::NvrtcLibrary nvrtc)
    : nvrtc_(std::move(nvrtc)),
      library_path_(nvrtc_.library().path()),
      version_(std::to_string(nvrtc_.major()) + "." + std::to_string(nvrtc_.minor())) {}

const Nvrtc& Nvrtc::instance() {
  // Opened once and kept for the life of the process: NVRTC cannot be safely unloaded.
  static std::once_flag once;
  static std::optional<Nvrtc> nvrtc;
  std::call_once(once, [] {
    try {
      nvrtc.emplace(Nvrtc(kernels::NvrtcLibrary::open()));
    } catch (const kernels::KernelError& missing) {
      throw Error(missing.problem(), missing.where());
    }
  });
  return *nvrtc;
}

std::string Nvrtc::program_log(nvrtcProgram program) const {
  size_t size = 0;
  if (api().get_program_log_size(program, &size) != NVRTC_SUCCESS || size == 0)
    return {};
  std::string log(size, '\0');
  if (api().get_program_log(program, log.data()) != NVRTC_SUCCESS)
    return {};
  while (!log.empty() && log.back() == '\0')
    log.pop_back();
  return log;
}

void Nvrtc::check(nvrtcResult result, const char* function, nvrtcProgram program) const {
  if (result == NVRTC_SUCCESS)
    return;
  std::string what = std::string(function) + " failed: " + api().get_error_string(result);
  if (program != nullptr) {
    std::string log = program_log(program);
    if (!log.empty())
      what += "; log:\n" + log;
  }
  throw Error(what, library_path_);
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

#include "profiler/cupti_library.hpp"

#include "harness/util/cuda_libraries.hpp"

namespace kforge {

std::vector<std::string> cupti_library_candidates() {
  std::vector<std::string> names = cuda_library_candidates("libcupti", {13, 12});
  names.push_back("/usr/local/cuda/extras/CUPTI/lib64/libcupti.so.13");
  names.push_back("/usr/local/cuda/extras/CUPTI/lib64/libcupti.so.12");
  return names;
}

DynamicLibrary open_cupti_library(const std::vector<std::string>& names) {
  return DynamicLibrary::open(names, "CUPTI (libcupti)");
}

std::string cupti_result_text(CUptiResult result, CuptiResultString describe) {
  const char* text = nullptr;
  if (describe != nullptr && describe(result, &text) == CUPTI_SUCCESS && text != nullptr)
    return text;
  return "CUPTI result " + std::to_string(static_cast<int>(result));
}

void check_cupti(CUptiResult result, const char* function, CuptiResultString describe,
                 const std::string& library) {
  if (result == CUPTI_SUCCESS)
    return;
  throw CuptiError(
      result, std::string(function) + " failed: " + cupti_result_text(result, describe), library);
}

std::optional<ProfileUnavailableReason> counters_unavailable_reason(CUptiResult result) {
  switch (result) {
    case CUPTI_ERROR_INSUFFICIENT_PRIVILEGES:
    case CUPTI_ERROR_VIRTUALIZED_DEVICE_INSUFFICIENT_PRIVILEGES:
      return ProfileUnavailableReason::kInsufficientPrivileges;
    case CUPTI_ERROR_VIRTUALIZED_DEVICE_NOT_SUPPORTED:
      return ProfileUnavailableReason::kVirtualizedGpu;
    case CUPTI_ERROR_MIG_DEVICE_NOT_SUPPORTED:
      return ProfileUnavailableReason::kMig;
    case CUPTI_ERROR_NOT_SUPPORTED:
    case CUPTI_ERROR_CMP_DEVICE_NOT_SUPPORTED:
    case CUPTI_ERROR_SLI_DEVICE_NOT_SUPPORTED:
    case CUPTI_ERROR_WSL_DEVICE_NOT_SUPPORTED:
    case CUPTI_ERROR_CONFIDENTIAL_COMPUTING_NOT_SUPPORTED:
    case CUPTI_ERROR_LEGACY_PROFILER_NOT_SUPPORTED:
      return ProfileUnavailableReason::kNotSupported;
    default:
      return std::nullopt;
  }
}

}  // namespace kforge

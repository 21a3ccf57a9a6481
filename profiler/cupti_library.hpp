// What every CUPTI user in kforge shares: opening libcupti at run time (never linked at build
// time, so kforge starts and works without it) and the one checked call for CUptiResult.
#pragma once

#include <cupti_result.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/util/dynamic_library.hpp"
#include "harness/util/error.hpp"
#include "harness/util/profile_status.hpp"

namespace kforge {

// Where libcupti is looked for: KFORGE_CUDA_LIB_DIRS, the dynamic linker's search, the toolkit
// (cuda_paths), then the toolkit's extras/CUPTI folder.
std::vector<std::string> cupti_library_candidates();

// Opens the first of `names` that loads; throws Error naming every name tried.
DynamicLibrary open_cupti_library(
    const std::vector<std::string>& names = cupti_library_candidates());

// A failed CUPTI call: an Error that keeps the result code, so that callers decide by the code
// (CUPTI_ERROR_INSUFFICIENT_PRIVILEGES, ...) and never by the message.
class CuptiError : public Error {
 public:
  CuptiError(CUptiResult result, std::string what, std::string where)
      : Error(std::move(what), std::move(where)), result_(result) {}
  CUptiResult result() const { return result_; }

 private:
  CUptiResult result_;
};

using CuptiResultString = CUptiResult (*)(CUptiResult, const char**);

// Throws CuptiError("<function> failed: CUPTI_ERROR_X", library) unless `result` is success.
void check_cupti(CUptiResult result, const char* function, CuptiResultString describe,
                 const std::string& library);

// The result's name ("CUPTI_ERROR_INSUFFICIENT_PRIVILEGES"), or its number.
std::string cupti_result_text(CUptiResult result, CuptiResultString describe);

// Why counters cannot be collected, as a profile records it, for the CUPTI results that say the
// machine forbids or cannot do it: kInsufficientPrivileges (profiling restricted to
// administrators, NVreg_RestrictProfilingToAdminUsers), kVirtualizedGpu, kMig, kNotSupported
// (CMP, SLI, WSL, confidential computing, an unsupported device); nullopt for every other
// result, which is a failure rather than an answer.
std::optional<ProfileUnavailableReason> counters_unavailable_reason(CUptiResult result);

}  // namespace kforge

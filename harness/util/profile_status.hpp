// Whether a candidate's profile holds hardware counters, and why not: the text the GPU worker's
// profile reply, the store's profiles.status and profiles.reason, exports and reports hold. At
// the bottom, with util, because three layers speak it: the profiler tells CUPTI's refusals
// apart, the sandbox's protocol carries them, the store keeps them.
#pragma once

#include <optional>
#include <string_view>

namespace kforge {

enum class ProfileStatus { kCollected, kUnavailable };
std::string_view profile_status_name(ProfileStatus status);  // "collected", "unavailable"
// The status `name` names; nullopt for any other text.
std::optional<ProfileStatus> profile_status_named(std::string_view name);

// Why a profile is unavailable.
enum class ProfileUnavailableReason {
  kInsufficientPrivileges,  // insufficient_privileges: profiling is restricted to administrators
                            // (NVreg_RestrictProfilingToAdminUsers), or ncu's ERR_NVGPUCTRPERM
  kVirtualizedGpu,          // virtualized_gpu: a vGPU without counters
  kMig,                     // mig: a MIG instance
  kNotSupported,            // not_supported: CUPTI does not profile this device or platform
  kLibraryMissing,          // library_missing: no libcupti
  kUnsupportedChip,         // unsupported_chip: CUPTI does not know the chip's metrics
  kProfilerError,           // profiler_error: a CUPTI call or ncu failed otherwise (the detail)
  kWorkerFailure,           // worker_failure: the GPU worker failed during the profile
  kNcuMissing,              // ncu_missing: profile.profiler asks for ncu and there is none
};
std::string_view profile_unavailable_reason_name(ProfileUnavailableReason reason);
// The reason `name` names; nullopt for any other text.
std::optional<ProfileUnavailableReason> profile_unavailable_reason_named(std::string_view name);

}  // namespace kforge

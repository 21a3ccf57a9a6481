#include "harness/util/profile_status.hpp"

#include <array>
#include <utility>

#include "harness/util/name_table.hpp"

namespace kforge {
namespace {

constexpr std::array kProfileStatuses = std::to_array<std::pair<ProfileStatus, std::string_view>>({
    {ProfileStatus::kCollected, "collected"},
    {ProfileStatus::kUnavailable, "unavailable"},
});

constexpr std::array kUnavailableReasons =
    std::to_array<std::pair<ProfileUnavailableReason, std::string_view>>({
        {ProfileUnavailableReason::kInsufficientPrivileges, "insufficient_privileges"},
        {ProfileUnavailableReason::kVirtualizedGpu, "virtualized_gpu"},
        {ProfileUnavailableReason::kMig, "mig"},
        {ProfileUnavailableReason::kNotSupported, "not_supported"},
        {ProfileUnavailableReason::kLibraryMissing, "library_missing"},
        {ProfileUnavailableReason::kUnsupportedChip, "unsupported_chip"},
        {ProfileUnavailableReason::kProfilerError, "profiler_error"},
        {ProfileUnavailableReason::kWorkerFailure, "worker_failure"},
        {ProfileUnavailableReason::kNcuMissing, "ncu_missing"},
    });

}  // namespace

std::string_view profile_status_name(ProfileStatus status) {
  return name_in(kProfileStatuses, status);
}

std::optional<ProfileStatus> profile_status_named(std::string_view name) {
  return value_named(kProfileStatuses, name);
}

std::string_view profile_unavailable_reason_name(ProfileUnavailableReason reason) {
  return name_in(kUnavailableReasons, reason);
}

std::optional<ProfileUnavailableReason> profile_unavailable_reason_named(std::string_view name) {
  return value_named(kUnavailableReasons, name);
}

}  // namespace kforge

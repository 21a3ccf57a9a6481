// The profiles of evaluations: hardware counters per launch of a candidate's plan, keyed by
// Nsight Compute metric name, with the passes the counters needed and what profiling cost; or
// `unavailable` with the reason (insufficient_privileges, mig, virtualized_gpu, not_supported,
// library_missing, unsupported_chip, profiler_error, worker_failure). Written in the
// evaluation's transaction (harness/evaluation/evaluator.cpp).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/store.hpp"
#include "harness/util/profile_status.hpp"

namespace kforge {

struct ProfileRow {
  int64_t id = 0;
  int64_t evaluation_id = 0;
  ProfileStatus status = ProfileStatus::kUnavailable;
  std::optional<ProfileUnavailableReason> reason;  // why unavailable; stored "" when none
  std::string detail;
  std::string profiler = "cupti";
  std::string chip;
  int64_t passes = 0;
  double overhead_ms = 0;
  // [{"launch": 0, "kernel": "...", "metrics": {NCU_METRIC_NAME: value, ...}}, ...]
  nlohmann::json kernels = nlohmann::json::array();
  std::string created_at;

  // The profile as exports carry it (the GPU worker's reply shape, sandbox/gpu_protocol.hpp):
  // {"status", "reason", "detail", "profiler", "chip", "passes", "overhead_ms", "kernels"}.
  nlohmann::json to_json() const;
};

int64_t insert_profile(Store& store, const ProfileRow& profile);
// The status and reason columns of a profiles row read back (also by the exports' row reader);
// text no kforge writes is an Error naming it and `where`.
ProfileStatus profile_status_from_column(std::string_view text, const std::string& where);
std::optional<ProfileUnavailableReason> profile_reason_from_column(std::string_view text,
                                                                   const std::string& where);
std::vector<ProfileRow> profiles_of(const Store& store, int64_t evaluation_id);

}  // namespace kforge

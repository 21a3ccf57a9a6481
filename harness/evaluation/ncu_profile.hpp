// Hardware counters through Nsight Compute's CLI (`profile.profiler = "ncu"`, or `"auto"` where
// CUPTI's are unavailable): for a user whose CUPTI route is blocked but who has ncu.
//
// ncu profiles a process it starts, so the profile stage starts a one-shot GPU worker under it:
//
//   ncu --csv --page raw --print-units base --metrics <the metric set> --target-processes all
//       --launch-skip N --launch-count N --log-file JOB/ncu.csv
//       <the GPU worker's command> --requests JOB/requests.jsonl
//
// The worker reads hello, replay (the ProfileRequest, op "replay": the plan run twice, outputs
// and scratch poisoned before each pass) and exit from the file, and writes its replies to its
// stdout. ncu skips the N launches of the first (warm-up) pass and counts the N of the second,
// one raw-page row per launch, in launch order, which becomes one KernelCounters per launch of
// the plan: the same metric names (profiler/metric_set.hpp, counters and launch metrics, all of
// which ncu computes itself), the same values in Nsight Compute's base units, read by the same
// parser as `kforge profile explain` (profiler/ncu_csv.hpp). The reply's `profiler` is "ncu",
// its `passes` the most ncu reported for a launch (`==PROF== Profiling ... - P passes`), its
// overhead the wall time of the whole ncu run.
//
// Where ncu cannot give counters the profile is `unavailable`, the evaluation unchanged:
//   ncu_missing              the program is not on PATH (or the configured path is not there)
//   insufficient_privileges  ncu printed ERR_NVGPUCTRPERM (NVreg_RestrictProfilingToAdminUsers)
//   worker_failure           the worker under ncu failed (its reply, or its end without one)
//   profiler_error           ncu ended otherwise than with status 0, or wrote a CSV that cannot
//                            be read or whose rows are not the plan's launches
// Each with a one-line detail.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "sandbox/gpu_protocol.hpp"

namespace kforge {

// What the ncu route needs besides the request.
struct NcuProfileRun {
  std::string ncu = "ncu";  // profile.ncu: a name looked up on PATH, or a path
  std::filesystem::path worker_program;
  std::vector<std::string> worker_arguments;  // the GPU worker's; `--requests FILE` is added
  std::filesystem::path job;                  // a folder for the requests file and ncu's log
  std::string chip;                           // the device's chip, for the reply ("GH100")
  std::chrono::milliseconds time_limit{std::chrono::minutes(2)};
};

// ncu's arguments before the worker's command line: every metric of `metrics`, the second of
// two passes of `launches` launches, the output to `log_file`.
std::vector<std::string> ncu_arguments(const std::vector<std::string>& metrics, size_t launches,
                                       const std::filesystem::path& log_file);

// How one ncu run ended: what it wrote to its log file, what the worker under it replied on
// stdout, its stderr, and its end.
struct NcuOutcome {
  std::string log;
  std::string worker_replies;
  std::string standard_error;
  bool succeeded = false;  // exit status 0
  std::string end;         // "exit code 1", "timed out after 120 s", ...
  double duration_ms = 0;
};

// The profile an ncu run gives for a plan whose launches run `kernels` (names, in order):
// collected, or unavailable with the reason of the table above. Never throws for what ncu wrote.
ProfileReply read_ncu_profile(const NcuOutcome& outcome, const std::vector<std::string>& kernels);

// Runs ncu around a one-shot worker for `request` (its plan, cubin, tensors and metrics) and
// reads what it wrote. Never throws for a missing or failing ncu: that is an unavailable profile.
ProfileReply profile_with_ncu(const NcuProfileRun& run, const ProfileRequest& request);

}  // namespace kforge

// The profile of one evaluation as people, agents and scripts see it: the counters the profile
// stage collected for each launch of the plan (or why there are none), the ceilings of the GPU
// they are set against, and per launch the roofline position and findings of
// profiler/diagnosis.hpp. `kforge eval`, `kforge show`, `kforge profile FILE.cu` and the MCP
// server print it or carry its JSON form; the optimize loop renders it into the feedback its
// agents show the LLM (`for_prompt`).
//
// What the diagnosis is given (docs/profiling.md, "Profiles of evaluations"):
//   ceilings  the DRAM bandwidth the run stage measured on this GPU (the physical floor's) where
//             it was measured, else the architecture's public datasheet figure; the compute roof
//             for the task's dtype from the datasheet row of the GPU's architecture (none for an
//             architecture without a row: the bound is then unknown);
//   task      the bytes the task must move and its FLOPs (where counted) from the physical floor,
//             given to the diagnosis only for a plan of one launch: for several launches the
//             task's totals are no single kernel's, so each is judged on its measured traffic.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/evaluation/evaluation_record.hpp"
#include "harness/signature.hpp"
#include "harness/task.hpp"
#include "harness/util/safetensors.hpp"
#include "profiler/diagnosis.hpp"
#include "sandbox/gpu_protocol.hpp"

namespace kforge {

inline constexpr int kProfileReportVersion = 1;

struct ProfileReport {
  ProfileReply counters;             // as the profile stage stored them
  std::optional<Ceilings> ceilings;  // where counters were collected
  std::string arch;                  // the GPU's architecture the ceilings are for
  std::vector<Diagnosis> diagnoses;  // one per launch, in the plan's order (collected only)

  bool collected() const { return counters.status == ProfileStatus::kCollected; }

  // {"version", "status", "reason", "detail", "profiler", "chip", "passes", "overhead_ms",
  //  "kernels": [{"launch", "kernel", "metrics"}], "arch", "ceilings", "diagnoses": [...]}
  nlohmann::json to_json() const;
  // Throws Error naming the field and `where` for a malformed report or another version.
  static ProfileReport from_json(const nlohmann::json& json, const std::string& where);
};

// The report of `record`'s profile (which must be set) for a task of `dtype` (its outputs').
ProfileReport profile_report(const EvaluationRecord& record, DType dtype);

// The report of `record`'s profile for `task` (analysed or not: float32 where its signature is not
// known), or none where the profile stage did not run.
std::optional<ProfileReport> profile_report_of(const EvaluationRecord& record, const Task& task);

// The dtype whose compute roof a task aims at: its first floating output's (float32 without one).
DType roofline_dtype(const Signature& signature);

// Where the time of the profiled pass goes, per launch of the plan: the launch's duration
// (gpu__time_duration.sum; none where not collected) and its share of the launches' sum.
struct LaunchTime {
  int launch = 0;
  std::string kernel;
  std::optional<double> time_ns;
  std::optional<double> share;
  Bound bound = Bound::kUnknown;
  std::string top_finding;  // the kind of the launch's first finding; "" for none

  nlohmann::json to_json() const;
};
std::vector<LaunchTime> time_by_launch(const ProfileReport& report);

// For people: `unavailable: <reason> (<detail>)`, or the passes and overhead, a table of the main
// counters per launch, then each launch's roofline line and findings.
std::string render_profile_text(const ProfileReport& report);

// For the agent's prompt (agents::Feedback::profile): each launch's roofline line and the top
// findings, numbers kept; empty for a profile without counters, so that an unprofiled candidate's
// feedback reads as it did before profiles existed.
std::string profile_for_prompt(const ProfileReport& report, size_t max_findings = 3);

}  // namespace kforge

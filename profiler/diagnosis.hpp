// Roofline and diagnosis: from one kernel's hardware counters (Nsight Compute metric names), the
// task's FLOPs and the bytes it must move, and the GPU's ceilings, where the kernel stands against
// the roofline and what its counters say to try next. The rules are one table
// (profiler/diagnosis_rules.cpp, explained in docs/profiling.md); each finding carries the numbers
// behind it, one sentence of what to try, and an estimate of the share of the kernel's time it
// stands for, by which findings are ordered. A rule whose metrics are missing is skipped, and
// says so; it never fails the diagnosis.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kforge {

// One kernel launch's counters. Values are in Nsight Compute's base units: bytes, nanoseconds
// (gpu__time_duration.sum), percent for `.pct` metrics, counts otherwise.
struct CounterSet {
  std::string kernel;  // the kernel's name
  std::string id;      // the launch's ID in an ncu export ("" when not from one)
  std::map<std::string, double, std::less<>> metrics;
  std::optional<double> flops;  // the task's floating-point operations, where known
  std::optional<double> bytes;  // the bytes the task must move to and from DRAM, where known

  std::optional<double> metric(std::string_view name) const;
};

// The GPU's ceilings the roofline is drawn against.
struct Ceilings {
  double bandwidth_bytes_per_s = 0;  // DRAM
  double peak_flops_per_s = 0;       // for the task's dtype
  int sm_count = 0;                  // used where the counters lack the device's own; 0 = unknown
  std::string source;                // where the figures come from, for the reader

  nlohmann::json to_json() const;
  static Ceilings from_json(const nlohmann::json& json, const std::string& where);
};

enum class Bound {
  kMemory,   // the task's arithmetic intensity is below the ridge point: bandwidth binds
  kCompute,  // at or above it: the compute roof binds
  kUnknown,  // FLOPs or bytes not known (or no ceilings)
};
std::string_view bound_name(Bound bound);
std::optional<Bound> bound_named(std::string_view name);

// Where the kernel stands. A figure that cannot be computed (no duration, no bytes) is absent.
struct Roofline {
  double flops = 0;
  double bytes = 0;
  std::string flops_basis;  // "task", "counted FP32/FP64 instructions", or "unknown"
  std::string bytes_basis;  // "task", "measured DRAM traffic", or "unknown"
  std::optional<double> time_ns;
  std::optional<double> arithmetic_intensity;  // FLOPs per byte
  std::optional<double> ridge_point;           // peak FLOP/s over peak bytes/s
  std::optional<double> bandwidth_fraction;    // bytes / time over the bandwidth roof
  std::optional<double> compute_fraction;      // FLOPs / time over the compute roof
  std::optional<double> floor_ns;              // max(bytes / bandwidth, FLOPs / peak)
  Bound bound = Bound::kUnknown;

  // The share of the time above the roofline's floor: the most any change can gain (1 - floor /
  // time), or nothing when there is no floor or no time.
  std::optional<double> gap() const;
  nlohmann::json to_json() const;
  // Reads what to_json wrote (`gap` is computed, not read); an Error names the field and `where`.
  static Roofline from_json(const nlohmann::json& json, const std::string& where);
};

enum class FindingKind {
  kMemoryBound,
  kComputeBound,
  kUncoalescedGlobalAccess,
  kExcessL2DramTraffic,
  kOccupancyLimitedByRegisters,
  kOccupancyLimitedBySharedMemory,
  kSharedBankConflicts,
  kLatencyBoundSmallGrid,
  kTailEffect,
  kLowPipeUtilisation,
  kWarpDivergence,
  kDominantStall,
};
std::string_view finding_kind_name(FindingKind kind);
std::optional<FindingKind> finding_kind_named(std::string_view name);

struct Finding {
  FindingKind kind = FindingKind::kMemoryBound;
  // The numbers behind it, named, in the order the evidence sentence uses them.
  std::vector<std::pair<std::string, double>> numbers;
  std::string evidence;  // what the counters show, with the numbers
  std::string advice;    // one sentence of what to try
  // The estimated share of the kernel's time this finding stands for (0..1), capped by the
  // roofline's gap: the order of the findings, most first. A rough figure, not a prediction.
  double gain = 0;

  nlohmann::json to_json() const;
  // The numbers come back in their names' order (a JSON object keeps no other).
  static Finding from_json(const nlohmann::json& json, const std::string& where);
};

// A rule that did not run, and the metrics it lacked.
struct SkippedRule {
  FindingKind kind = FindingKind::kMemoryBound;
  std::vector<std::string> missing;
};

struct Diagnosis {
  std::string kernel;
  std::string id;
  Roofline roofline;
  std::vector<Finding> findings;  // most time to gain first
  std::vector<SkippedRule> skipped;

  nlohmann::json to_json() const;
  static Diagnosis from_json(const nlohmann::json& json, const std::string& where);
};

// The roofline position alone.
Roofline roofline_of(const CounterSet& counters, const Ceilings& ceilings);

// The roofline and every rule of the table, findings ordered by gain.
Diagnosis diagnose(const CounterSet& counters, const Ceilings& ceilings);

// For people: the roofline line and each finding with its numbers and advice.
std::string render_text(const Diagnosis& diagnosis);

// For an LLM prompt: short, numbers kept. One line of roofline per kernel, then the
// `max_findings` findings with the most time to gain over all kernels. Empty for no diagnoses.
std::string render_for_prompt(std::span<const Diagnosis> diagnoses, size_t max_findings = 3);

// ---- the rules table (profiler/diagnosis_rules.cpp) -------------------------------------------

// What a rule sees: the counters, the roofline already computed, the ceilings.
struct RuleInput {
  const CounterSet& counters;
  const Roofline& roofline;
  const Ceilings& ceilings;
};

struct DiagnosisRule {
  FindingKind kind;
  std::string_view fires_when;  // the condition in words, with its thresholds' names
  // What the rule needs: each entry one or more alternatives separated by " | ", each a metric
  // name, a metric prefix ending in "*", `task:bytes` (the task's bytes) or `task:flops` (the
  // task's or counted FLOPs). A rule with an entry none of whose alternatives is present is
  // skipped, and the diagnosis lists it with the entries it lacked.
  std::span<const std::string_view> needs;
  // The finding, or nothing when the rule does not fire. Returns nothing, never throws, when an
  // optional figure it would use is absent.
  std::optional<Finding> (*apply)(const RuleInput& input);
};

std::span<const DiagnosisRule> diagnosis_rules();

}  // namespace kforge

// What one night of `kforge nightly` found, as one typed value: the night's engine
// (nightly.cpp) fills it from the store, the renderers (HTML, Markdown) and `--json` read it.
// Nothing reads another part's JSON: the report's JSON document is `to_json` of this type and
// is read back only through `night_report_from_json`.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "datasets/night_records.hpp"

namespace kforge::nightly {

// Bumped on any change of the JSON document's shape.
inline constexpr int kNightReportVersion = 1;

// How a night ended. The exit code a scheduler acts on follows from it and from the regressions:
// 0 no regression, 1 a regression found, 2 the night could not run.
enum class NightOutcome {
  completed,       // every step ran
  budget_reached,  // the wall-time (or evaluation, or cost) budget stopped it cleanly
  interrupted,     // stopped by a signal; the next night (or a restart) continues it
  failed,          // could not run: no GPU, no store, a bad configuration
};
// An outcome is a finished night's status in the store (NightStatus but kRunning), and is
// spelled as that status is: night_status_name's table is the one spelling of both.
NightStatus night_status_of(NightOutcome outcome);
std::optional<NightOutcome> night_outcome_of(NightStatus status);  // nullopt for kRunning
const char* night_outcome_name(NightOutcome outcome);
// The outcome `name` names, or an Error at `where` naming the text (and the allowed names).
NightOutcome night_outcome_from_name(const std::string& name, const std::string& where);

// How a step ended: a finished step's status in the store (NightStepStatus but kRunning), spelled
// by night_step_status_name's table.
enum class StepStatus { done, skipped, failed, stopped };
NightStepStatus night_step_status_of(StepStatus status);
std::optional<StepStatus> step_status_of(NightStepStatus status);  // nullopt for kRunning
const char* step_status_name(StepStatus status);
StepStatus step_status_from_name(const std::string& name, const std::string& where);

// One named step of the night, in order: environment, baselines, reverify, tune, optimize,
// promote, report (baselines before reverify, so that tonight's speedups stand on fresh
// baselines: harness/nightly/nightly.hpp).
struct NightStep {
  std::string name;
  StepStatus status = StepStatus::done;
  double seconds = 0;
  std::string detail;  // one line: what it did, or why it was skipped or failed
};

// One entry of the environment and its value last night (empty when new or unchanged).
struct EnvironmentChange {
  std::string key;  // "gpu", "driver", "cuda", "nvrtc", "torch", "kforge"
  std::string before;
  std::string after;
};

enum class RegressionKind { verdict_changed, slower };
const char* regression_kind_name(RegressionKind kind);
RegressionKind regression_kind_from_name(const std::string& name, const std::string& where);

// A shipped kernel that is no longer correct on this GPU, or whose median is slower than the
// manifest's recorded median by more than the recorded spread.
struct Regression {
  std::string kernel;  // the library entry
  std::string task;
  RegressionKind kind = RegressionKind::slower;
  std::string verdict_before;
  std::string verdict_after;
  std::optional<double> median_us_before;
  std::optional<double> median_us_after;
  std::optional<double> spread_us;  // the recorded spread the slowdown exceeded
};

// A task whose best verified kernel got faster tonight; `promoted` when it went into the library.
struct Improvement {
  std::string task;
  std::string kernel;  // library entry or candidate id
  bool promoted = false;
  std::optional<double> median_us_before;
  double median_us_after = 0;
  std::optional<double> speedup_eager;
  std::optional<double> speedup_compile;
};

// One point of a task's history across nights, for the plots.
struct SpeedupPoint {
  std::string night;  // the night's id
  std::optional<double> speedup_eager;
  std::optional<double> speedup_compile;
};
struct TaskHistory {
  std::string task;
  std::vector<SpeedupPoint> points;  // oldest first, tonight last
};

struct TuningProgress {
  std::string kernel;
  std::string arch;
  int64_t evaluations = 0;
  std::optional<double> default_us;
  std::optional<double> best_us;
};

// A part of the night that failed and what it cost: a task, a hung kernel, the LLM, the GPU.
struct NightFailure {
  std::string step;
  std::string subject;  // task, kernel or service
  std::string reason;   // one line
};

struct LlmUsage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double cost_usd = 0;
};

struct NightReport {
  std::string night;  // the night's id, as `kforge nightly report NIGHT` takes it
  std::string started_at;
  std::string finished_at;  // empty while the night runs
  NightOutcome outcome = NightOutcome::completed;
  std::vector<NightStep> steps;
  std::vector<EnvironmentChange> environment;  // every key; before == after where unchanged
  std::vector<Regression> regressions;
  std::vector<Improvement> improvements;
  std::vector<TaskHistory> history;
  std::vector<TuningProgress> tuning;
  std::vector<NightFailure> failures;
  LlmUsage llm;
};

// 0 no regression, 1 a regression found, 2 the night could not run.
int night_exit_code(const NightReport& report);

nlohmann::json to_json(const NightReport& report);
// Reads what to_json wrote; a missing or mistyped field, an unknown name or another version is
// one Error naming the field and `where`.
NightReport night_report_from_json(const nlohmann::json& document, const std::string& where);

}  // namespace kforge::nightly

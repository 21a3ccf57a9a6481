#include "harness/nightly/nightly.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "agents/prompt.hpp"
#include "datasets/lease_records.hpp"
#include "datasets/measurement_records.hpp"
#include "datasets/night_records.hpp"
#include "datasets/promotion_records.hpp"
#include "datasets/records.hpp"
#include "datasets/run_records.hpp"
#include "datasets/task_records.hpp"
#include "harness/autotune/library_tuning.hpp"
#include "harness/evaluation/evaluation_service.hpp"
#include "harness/evaluation/harness_version.hpp"
#include "harness/evaluation/store_connections.hpp"
#include "harness/evaluation/stored_evaluation.hpp"
#include "harness/library/manifest.hpp"
#include "harness/library/promotion.hpp"
#include "harness/nightly/kernel_check.hpp"
#include "harness/nightly/night_environment.hpp"
#include "harness/nightly/night_lock.hpp"
#include "harness/nightly/report_files.hpp"
#include "harness/optimize/lease_holder.hpp"
#include "harness/optimize/optimize_loop.hpp"
#include "harness/task_import.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/name_table.hpp"
#include "harness/util/strings.hpp"
#include "harness/util/subprocess.hpp"
#include "harness/workspace.hpp"
#include "sandbox/gpu_protocol.hpp"

namespace kforge::nightly {
namespace {

namespace fs = std::filesystem;

constexpr std::array kJoinStatuses = std::to_array<std::pair<JoinStatus, std::string_view>>({
    {JoinStatus::kDone, "done"},
    {JoinStatus::kStopped, "stopped"},
    {JoinStatus::kEnded, "ended"},
});
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

json optional_json(const std::optional<double>& value) {
  return value ? json(*value) : json();
}

std::optional<double> optional_number(const json& object, const char* key) {
  if (object.is_object() && object.contains(key) && object[key].is_number())
    return object[key].get<double>();
  return std::nullopt;
}

// "2026-12-03T02:00:00Z" -> "2026-12-03T02-00-00Z": a night's id, usable as a file name.
std::string night_name_from(const std::string& utc) {
  std::string name = utc;
  std::replace(name.begin(), name.end(), ':', '-');
  return name;
}

std::string task_stem(const std::string& name) {
  const size_t slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

// A step's outcome: its status, one line, and its final checkpoint.
struct StepOutcome {
  StepStatus status = StepStatus::done;
  std::string detail;
};

// Why the night must stop taking new work, if it must.
enum class StopCause { none, budget, signal };

}  // namespace

struct Night::Implementation {
  Workspace& workspace;
  NightSettings settings;
  Store& store;
  NightTiming& timing;
  Clock::time_point started = Clock::now();
  NightRow night;
  std::vector<NightRow> earlier;  // finished nights before this one, oldest first
  std::unique_ptr<EvaluationService> service_;
  std::optional<std::string> service_error;
  int64_t evaluations = 0;
  int64_t tokens = 0;
  double cost_usd = 0;
  std::string budget_reason;
  // What this process had spent when the optimize step began (the budgets add the step's
  // spending by every node to it).
  struct Spent {
    int64_t evaluations = 0, tokens = 0;
    double cost_usd = 0;
  } spent_before_optimize;
  std::string previous_owner;              // "<host>:<pid>" of the process that ran it before
  std::vector<std::string> finished_here;  // the tasks a joining node finished
  std::atomic<bool> stop_work{false};      // what the optimize loop watches
  std::atomic<bool> watching{true};
  std::mutex watch_mutex;
  std::condition_variable watch_wake;
  std::thread watcher;

  Implementation(Workspace& workspace, NightSettings settings, NightTiming& timing)
      : workspace(workspace),
        settings(std::move(settings)),
        store(workspace.store()),
        timing(timing) {}

  ~Implementation() {
    {
      std::lock_guard<std::mutex> lock(watch_mutex);
      watching = false;
    }
    watch_wake.notify_all();
    if (watcher.joinable())
      watcher.join();
  }

  void progress(const std::string& line) const {
    if (settings.progress)
      settings.progress(line);
  }

  const NightlyOptions& options() const { return settings.config.options; }

  // ---- budgets --------------------------------------------------------------------------

  StopCause stop_cause() {
    if (settings.stop != nullptr && settings.stop->load())
      return StopCause::signal;
    const NightlyOptions& limits = options();
    if (limits.wall_time_s > 0 && seconds_since(started) >= limits.wall_time_s)
      budget_reason =
          "the wall-time budget of " + std::to_string(limits.wall_time_s) + " s is spent";
    else if (limits.max_evaluations > 0 && evaluations >= limits.max_evaluations)
      budget_reason =
          "the budget of " + std::to_string(limits.max_evaluations) + " evaluations is spent";
    else if (limits.max_tokens > 0 && tokens >= limits.max_tokens)
      budget_reason = "the budget of " + std::to_string(limits.max_tokens) + " tokens is spent";
    else if (limits.max_cost_usd > 0 && cost_usd >= limits.max_cost_usd)
      budget_reason = "the LLM cost budget is spent";
    else
      return StopCause::none;
    return StopCause::budget;
  }

  std::string stop_text(StopCause cause) const {
    return cause == StopCause::signal ? "stopped by a signal" : budget_reason;
  }

  // Sets stop_work when a signal arrives or the wall time is spent, so that an LLM wait or a
  // long task is cut short; the other budgets are checked after each attempt.
  void start_watcher() {
    watcher = std::thread([this] {
      std::unique_lock<std::mutex> lock(watch_mutex);
      while (watching) {
        watch_wake.wait_for(lock, std::chrono::milliseconds(100));
        const bool signalled = settings.stop != nullptr && settings.stop->load();
        const bool late =
            options().wall_time_s > 0 && seconds_since(started) >= options().wall_time_s;
        if (signalled || late)
          stop_work = true;
      }
    });
  }

  // ---- the evaluation service, started once, on first need -------------------------------

  EvaluationService& service() {
    if (service_)
      return *service_;
    if (service_error)
      throw Error(*service_error, "the evaluation service");
    const Clock::time_point start = Clock::now();
    try {
      service_ = std::make_unique<EvaluationService>(
          workspace, EvaluationServiceOptions{.gpu_worker_command = settings.gpu_worker_command});
    } catch (const Error& failure) {
      service_error = failure.what();
      throw;
    }
    timing.startup_s += seconds_since(start);
    return *service_;
  }

  // ---- the night's row and steps ---------------------------------------------------------

  void open_night() {
    if (std::optional<NightRow> unfinished = find_unfinished_night(store)) {
      night = *unfinished;
      if (night.pid)
        previous_owner = (night.host && !night.host->empty() ? *night.host : "unknown") + ":" +
                         std::to_string(*night.pid);
      progress("continuing night " + night.name + " (its last process stopped before the end)");
    } else {
      night.name = night_name_from(utc_now());
      for (int suffix = 2; find_night(store, night.name); ++suffix)
        night.name = night_name_from(utc_now()) + "-" + std::to_string(suffix);
      night.config = workspace.config().to_json();
      night.id = insert_night(store, night);
      night = *find_night(store, night.name);
      progress("night " + night.name);
    }
    update_night_process(store, night.id, static_cast<int64_t>(::getpid()), host_name());
    earlier = list_finished_nights(store, night.id);
  }

  // The previous finished night's row of step `name`, newest first.
  std::vector<std::pair<std::string, NightStepRow>> earlier_steps(const std::string& name) const {
    std::vector<std::pair<std::string, NightStepRow>> steps;
    for (auto night_row = earlier.rbegin(); night_row != earlier.rend(); ++night_row) {
      if (auto step = find_night_step(store, night_row->id, name))
        steps.emplace_back(night_row->name, *step);
    }
    return steps;
  }

  using StepBody = StepOutcome (Implementation::*)(NightStepRow& row);

  // Runs the step unless an earlier process of this night finished it; returns the row.
  NightStepRow run_step(int64_t position, const std::string& name, StepBody body) {
    std::optional<NightStepRow> stored = find_night_step(store, night.id, name);
    if (stored && stored->status != NightStepStatus::kRunning &&
        stored->status != NightStepStatus::kStopped)
      return *stored;  // done, skipped or failed by an earlier process: not repeated
    NightStepRow row = stored.value_or(
        NightStepRow{.night_id = night.id, .position = position, .name = name, .runs = 0});
    row.runs += 1;
    row.status = NightStepStatus::kRunning;
    const double earlier_seconds = row.seconds;
    const Clock::time_point start = Clock::now();
    if (const StopCause cause = stop_cause(); cause != StopCause::none) {
      row.status = NightStepStatus::kStopped;
      row.detail = "not started: " + stop_text(cause);
      store_night_step(store, row);
      return row;
    }
    store_night_step(store, row);
    progress("step " + name);
    StepOutcome outcome;
    try {
      outcome = (this->*body)(row);
    } catch (const Error& failure) {
      outcome = {StepStatus::failed, failure.what()};
    }
    row.status = night_step_status_of(outcome.status);
    row.detail = outcome.detail;
    row.seconds = earlier_seconds + seconds_since(start);
    store_night_step(store, row);
    progress("step " + name + ": " + step_status_name(outcome.status) + ": " + row.detail);
    return row;
  }

  // Stores the step's checkpoint (its state so far) while it runs.
  void checkpoint(NightStepRow& row) { store_night_step(store, row); }

  static void add_failure(NightStepRow& row, const std::string& subject,
                          const std::string& reason) {
    row.state["failures"].push_back({{"subject", subject}, {"reason", reason}});
  }

  // ---- environment -----------------------------------------------------------------------

  StepOutcome environment_step(NightStepRow& row) {
    std::optional<std::string> gpu, driver, cuda;
    try {
      EvaluationService& evaluation = service();
      gpu = evaluation.gpu_name();
      if (const DeviceDescription* device = evaluation.device()) {
        driver = device->driver_version;
        cuda = std::to_string(device->cuda_driver_version);
      }
    } catch (const Error& failure) {
      add_failure(row, "evaluation service", failure.what());
    }
    const json snapshot = environment_snapshot(workspace, gpu, driver, cuda);
    json before = json::object();
    std::string compared_with = "no earlier night";
    if (!earlier.empty()) {
      before = earlier.back().environment;
      compared_with = "night " + earlier.back().name;
    }
    row.state["snapshot"] = snapshot;
    row.state["before"] = before;
    update_night_environment(store, night.id, snapshot);
    std::vector<std::string> changed;
    for (const EnvironmentChange& change : environment_changes(before, snapshot))
      if (change.before != change.after && !before.empty())
        changed.push_back(change.key + " " + change.before + " -> " + change.after);
    return {StepStatus::done, changed.empty() ? "unchanged since " + compared_with
                                              : "changed since " + compared_with + ": " +
                                                    strings::join(changed, ", ")};
  }

  json snapshot() const {
    if (auto step = find_night_step(store, night.id, "environment"))
      return step->state.value("snapshot", json::object());
    return json::object();
  }

  // ---- baselines -------------------------------------------------------------------------

  StepOutcome baselines_step(NightStepRow& row) {
    if (earlier.empty())
      return {StepStatus::skipped, "no earlier night to compare torch and the driver with"};
    const json now = snapshot();
    const json& before = earlier.back().environment;
    const bool torch_changed = before.value("torch", "") != now.value("torch", "");
    const bool driver_changed = before.value("driver", "") != now.value("driver", "");
    if (!torch_changed && !driver_changed)
      return {StepStatus::skipped, "torch and the driver are unchanged since the last night"};
    const std::string gpu = now.value("gpu", "");
    std::string detail = std::string(torch_changed ? "torch" : "") +
                         (torch_changed && driver_changed ? " and " : "") +
                         (driver_changed ? "the driver" : "") + " changed: ";
    if (driver_changed && !gpu.empty()) {
      const int64_t dropped = delete_baselines(store, gpu);
      row.state["dropped"] = dropped;
      detail += std::to_string(dropped) + " cached baselines of " + gpu + " dropped; ";
    }
    return {StepStatus::done, detail +
                                  "baselines are timed again by tonight's evaluations "
                                  "(cached per torch version), and speedups recomputed"};
  }

  // ---- reverify --------------------------------------------------------------------------

  // What was recorded for `kernel` on `gpu` before tonight: the manifest's entry, else the last
  // night that measured it on this GPU.
  std::optional<KernelMeasurement> recorded(const ShippedKernel& kernel, const std::string& gpu) {
    if (auto measured = manifest_measurement(kernel.manifest, gpu))
      return measured;
    for (const auto& [name, step] : earlier_steps("reverify")) {
      const json kernels = step.state.value("kernels", json::object());
      if (!kernels.contains(kernel.name) || kernels[kernel.name].value("gpu", "") != gpu)
        continue;
      KernelMeasurement measured = KernelMeasurement::from_json(kernels[kernel.name]["after"]);
      measured.source = "night " + name;
      return measured;
    }
    return std::nullopt;
  }

  // The shipped kernels a library step works on (`done`: what the step does to them, "tuned"),
  // in `kernels`; the step's outcome instead when the library is off or empty, or when no GPU
  // runs candidates (a failure of the night's own).
  std::optional<StepOutcome> library_step_blocked(NightStepRow& row, const std::string& done,
                                                  std::vector<ShippedKernel>& kernels) {
    if (!options().library)
      return StepOutcome{StepStatus::skipped, "nightly.library is false"};
    kernels = shipped_kernels(settings.config.library_root);
    if (kernels.empty())
      return StepOutcome{
          StepStatus::skipped,
          "the library " + settings.config.library_root.string() + " ships no kernel"};
    if (!service().runs()) {
      add_failure(row, "gpu", "no GPU runs candidates here: nothing " + done);
      return StepOutcome{StepStatus::failed, "no GPU: " + std::to_string(kernels.size()) +
                                                 " shipped kernels not " + done};
    }
    return std::nullopt;
  }

  StepOutcome reverify_step(NightStepRow& row) {
    std::vector<ShippedKernel> kernels;
    if (std::optional<StepOutcome> blocked = library_step_blocked(row, "re-verified", kernels))
      return *blocked;
    EvaluationService& evaluation = service();
    const std::string gpu = evaluation.gpu_name().value_or("");
    if (!row.state.contains("run_id")) {
      row.state["run_id"] =
          insert_run(store, RunRow{.kind = "nightly-reverify",
                                   .request = {{"night", night.name}, {"kernels", kernels.size()}},
                                   .config = workspace.config().to_json(),
                                   .agent = "library",
                                   .gpu = gpu});
      checkpoint(row);
    }
    const int64_t run_id = row.state["run_id"];
    if (!row.state.contains("kernels"))
      row.state["kernels"] = json::object();
    int64_t measured = 0, regressions = 0;
    for (const ShippedKernel& kernel : kernels) {
      if (row.state["kernels"].contains(kernel.name))
        continue;  // measured by an earlier process of this night
      if (const StopCause cause = stop_cause(); cause != StopCause::none)
        return {StepStatus::stopped, stop_text(cause) + " after " + std::to_string(measured) +
                                         " of " + std::to_string(kernels.size()) + " kernels"};
      const std::string task_name = kernel.manifest.value("task", json::object()).value("name", "");
      try {
        progress("re-verifying " + kernel.name);
        Task task = load_task(workspace, task_name);
        std::map<std::string, std::string> defines;
        const json manifest_defines = kernel.manifest.value("defines", json::object());
        for (const auto& [name, value] : manifest_defines.items())
          defines[name] = value.dump();
        const Clock::time_point start = Clock::now();
        const EvaluationOutcome outcome = evaluation.evaluator().evaluate(
            task,
            EvaluationRequest{
                .source = files::read(kernel.folder / "kernel.cu"),
                .file_name = kernel.name + "/kernel.cu",
                .define_overrides = defines,
                .origin =
                    kernel.manifest.value("provenance", json::object()).value("origin", "seed"),
                .run_id = run_id});
        timing.evaluation_s += seconds_since(start);
        ++evaluations;
        KernelMeasurement after{.verdict = std::string(verdict_name(outcome.verdict)),
                                .source = night.name};
        if (outcome.timing) {
          after.median_us = outcome.timing->statistics.median_us;
          after.p10_us = outcome.timing->statistics.p10_us;
          after.p90_us = outcome.timing->statistics.p90_us;
        }
        json entry = {{"task", task.name},
                      {"gpu", gpu},
                      {"candidate_id", outcome.candidate_id},
                      {"detail", outcome.detail},
                      {"after", after.to_json()},
                      {"before", json()}};
        if (std::optional<KernelMeasurement> before = recorded(kernel, gpu)) {
          entry["before"] = before->to_json();
          if (judge_kernel(kernel.name, task.name, *before, after))
            ++regressions;
        }
        row.state["kernels"][kernel.name] = entry;
        ++measured;
      } catch (const Error& failure) {
        // A kernel whose task does not load, or whose evaluation broke the tool, costs itself.
        add_failure(row, kernel.name, failure.what());
        row.state["kernels"][kernel.name] = {{"task", task_name}, {"error", failure.what()}};
      }
      checkpoint(row);
    }
    finish_run(store, run_id, RunStatus::kCompleted, {{"kernels", row.state["kernels"].size()}});
    return {StepStatus::done, std::to_string(kernels.size()) + " shipped kernels re-verified on " +
                                  gpu + ", " + std::to_string(regressions) + " regressions"};
  }

  // ---- tune ------------------------------------------------------------------------------

  // Every shipped kernel with a define space and no tuned point for this architecture is tuned
  // through the evaluator-driven tuner (harness/autotune/library_tuning.hpp), which records the
  // best correct point in its manifest; the night's evaluation budget bounds each kernel's
  // points. A kernel tuned by an earlier process of this night, or on an earlier night, is left.
  StepOutcome tune_step(NightStepRow& row) {
    if (!settings.config.tune())
      return {StepStatus::skipped, "nightly.agents does not name tune"};
    std::vector<ShippedKernel> kernels;
    if (std::optional<StepOutcome> blocked = library_step_blocked(row, "tuned", kernels))
      return *blocked;
    EvaluationService& evaluation = service();
    const std::string arch = evaluation.arch();
    if (!row.state.contains("kernels"))
      row.state["kernels"] = json::object();
    int64_t tuned = 0, already = 0, without_space = 0;
    for (const ShippedKernel& kernel : kernels) {
      if (row.state["kernels"].contains(kernel.name))
        continue;  // tuned by an earlier process of this night
      if (autotune::library_kernel_tuned(kernel.manifest, arch)) {
        ++already;
        continue;
      }
      const json defaults = kernel.manifest.value("defines", json::object());
      if (!defaults.is_object() || defaults.empty()) {
        ++without_space;
        continue;
      }
      if (const StopCause cause = stop_cause(); cause != StopCause::none)
        return {StepStatus::stopped,
                stop_text(cause) + " after " + std::to_string(tuned) + " kernels tuned"};
      const std::string task_name = kernel.manifest.value("task", json::object()).value("name", "");
      try {
        progress("tuning " + kernel.name + " for " + arch);
        Task task = load_task(workspace, task_name);
        autotune::TuneRequest request{.task = task.name};
        if (options().max_evaluations > 0)
          request.max_evals =
              static_cast<size_t>(std::max<int64_t>(1, options().max_evaluations - evaluations));
        if (options().wall_time_s > 0)
          request.max_seconds =
              std::max(1.0, static_cast<double>(options().wall_time_s) - seconds_since(started));
        const Clock::time_point start = Clock::now();
        const autotune::TuneReport report = autotune::tune_library_kernel(
            store, evaluation, task, kernel.folder, std::move(request));
        timing.evaluation_s += seconds_since(start);
        evaluations += static_cast<int64_t>(report.evaluated());
        json entry = {{"task", task.name},
                      {"arch", arch},
                      {"evaluations", report.points.size()},
                      {"default_us", json()},
                      {"best_us", json()}};
        // The manifest's own defines, where the search timed them, are the "before".
        for (const autotune::TunedPoint& point : report.points)
          if (point.time_us && json(point.defines) == defaults)
            entry["default_us"] = *point.time_us;
        if (const std::vector<const autotune::TunedPoint*> ranked = report.ranked();
            !ranked.empty())
          entry["best_us"] = *ranked.front()->time_us;
        row.state["kernels"][kernel.name] = entry;
        ++tuned;
      } catch (const Error& failure) {
        // A kernel whose task does not load or whose space has no valid point costs itself.
        add_failure(row, kernel.name, failure.what());
        row.state["kernels"][kernel.name] = {{"task", task_name}, {"error", failure.what()}};
      }
      checkpoint(row);
    }
    const std::string counts = std::to_string(already) + " tuned before, " +
                               std::to_string(without_space) + " without a define space";
    if (row.state["kernels"].empty())
      return {StepStatus::skipped, "no shipped kernel to tune for " + arch + " (" + counts + ")"};
    return {StepStatus::done, std::to_string(tuned) + " kernels tuned for " + arch + ", " + counts};
  }

  // ---- optimize --------------------------------------------------------------------------

  std::vector<std::string> covered_tasks() {
    if (settings.config.task_patterns.empty())
      return {};
    record_builtin_tasks(store);
    return matching_names(settings.config.task_patterns, list_task_names(store));
  }

  // The latest evaluation of the run's best candidate: verdict, median and speedups.
  json best_of(const std::optional<int64_t>& candidate_id) const {
    if (!candidate_id)
      return json();
    const std::optional<CandidateRow> candidate = find_candidate(store, *candidate_id);
    if (!candidate)
      return json();
    const std::vector<StoredEvaluation> stored = stored_evaluations_of(store, *candidate);
    if (stored.empty())
      return json();
    const EvaluationRecord& record = stored.back().record;
    return {{"candidate_id", *candidate_id},
            {"verdict", std::string(verdict_name(record.verdict))},
            {"median_us", record.timing ? json(record.timing->statistics.median_us) : json()},
            {"speedup_eager", optional_json(record.speedup_eager)},
            {"speedup_compile", optional_json(record.speedup_compile)}};
  }

  // The run of one part of the optimize step (kind nightly-search or nightly-llm), made once and
  // kept in the step's checkpoint; a continuation reopens it. Search and LLM have runs of their
  // own because the optimize loop keeps one checkpoint per run and task.
  int64_t part_run(NightStepRow& row, const std::string& part,
                   const std::vector<std::string>& tasks, EvaluationService& evaluation) {
    const std::string key = part + "_run_id";
    if (row.state.contains(key)) {
      reopen_run(store, row.state[key].get<int64_t>());
      return row.state[key];
    }
    RunRow run{.kind = "nightly-" + part,
               .request = {{"night", night.name}, {"tasks", tasks}},
               .config = workspace.config().to_json(),
               .agent = part == "search" ? "replay" : "llm",
               .gpu = evaluation.gpu_name()};
    if (part == "llm")
      run.model = workspace.config().string("llm.model");
    const int64_t run_id = insert_run(store, run);
    merge_state(row, [&](json& state) { state[key] = run_id; });
    return run_id;
  }

  void finish_part_runs(NightStepRow& row, RunStatus status, const json& summary) {
    for (const char* key : {"search_run_id", "llm_run_id"})
      if (row.state.contains(key))
        finish_run(store, row.state[key].get<int64_t>(), status, summary);
  }

  // Changes the step's checkpoint in the store, where other nodes of the night may have added
  // their tasks since this process read it, and takes the result as this process's copy.
  void merge_state(NightStepRow& row, const std::function<void(json&)>& change) {
    row.state = update_night_step_state(store, night.id, row.name, change);
  }

  // The budgets count what every node of the night spent in the optimize step (as its
  // checkpoint records it) on top of what this process spent before the step.
  void count_optimize_spending(const json& state) {
    evaluations = spent_before_optimize.evaluations;
    tokens = spent_before_optimize.tokens;
    cost_usd = spent_before_optimize.cost_usd;
    for (const json& spent : spending(state)) {
      evaluations += spent.value("attempts", int64_t{0});
      tokens += spent.value("input_tokens", int64_t{0}) + spent.value("output_tokens", int64_t{0});
      cost_usd += spent.value("cost_usd", 0.0);
    }
  }

  StepOutcome optimize_step(NightStepRow& row) {
    const std::vector<std::string> tasks = covered_tasks();
    if (tasks.empty())
      return {StepStatus::skipped, settings.config.task_patterns.empty()
                                       ? "nightly.tasks names no task"
                                       : "no task matches nightly.tasks"};
    EvaluationService& evaluation = service();
    if (!row.state.contains("tasks"))
      merge_state(row, [](json& state) { state["tasks"] = json::object(); });
    const int64_t search_run = part_run(row, "search", tasks, evaluation);
    spent_before_optimize = {evaluations, tokens, cost_usd};
    // Budgets spent by an earlier process and by other nodes (their finished tasks, and the tasks
    // they were stopped in) count against this one.
    count_optimize_spending(row.state);
    std::unique_ptr<agents::Provider> provider;
    std::optional<int64_t> llm_run;
    if (settings.config.llm()) {
      try {
        if (!settings.make_provider)
          throw Error("no LLM provider is configured", "llm.base_url");
        provider = settings.make_provider();
        llm_run = part_run(row, "llm", tasks, evaluation);
      } catch (const Error& failure) {
        // The search runs without it.
        merge_state(row, [&](json& state) {
          state["failures"].push_back({{"subject", "llm"}, {"reason", failure.what()}});
        });
        provider.reset();
      }
    }
    // One lease per task on the search run: this process and every node that joins the night
    // claim the tasks through them. The leases a killed earlier process of this night held are
    // freed at once (this process holds the night's lock, so that one is gone).
    std::vector<int64_t> task_ids;
    for (const std::string& name : tasks)
      if (std::optional<TaskRow> task = find_latest_task(store, name))
        task_ids.push_back(task->id);
    add_leases(store, search_run, task_ids);
    for (const LeaseRow& lease : leases_of(store, search_run))
      if (lease.status == LeaseStatus::kOpen && lease.node && *lease.node == previous_owner)
        release_lease(store, search_run, lease.task_id, previous_owner, /*done=*/false);
    merge_state(row, [&](json& state) {
      state["leased"] = true;
      state["nodes"][store.node()]["role"] = "owner";
    });
    const bool all_done = work_on_tasks(row, evaluation, search_run, provider.get(), llm_run);
    row.state = find_night_step(store, night.id, "optimize")->state;
    const size_t finished = row.state["tasks"].size();
    const size_t nodes = row.state.value("nodes", json::object()).size();
    if (!all_done || finished < tasks.size()) {
      const StopCause cause = stop_cause();
      const std::string why = cause == StopCause::none ? "stopped" : stop_text(cause);
      finish_part_runs(row, RunStatus::kInterrupted, {{"stopped", why}});
      return {StepStatus::stopped, why + " after " + std::to_string(finished) + " of " +
                                       std::to_string(tasks.size()) + " tasks"};
    }
    finish_part_runs(row, RunStatus::kCompleted, {{"tasks", finished}});
    return {StepStatus::done, std::to_string(tasks.size()) + " tasks optimised" +
                                  (provider ? " (search and LLM)" : " (search)") +
                                  (nodes > 1 ? " by " + std::to_string(nodes) + " nodes" : "")};
  }

  // Claims the optimize step's tasks by lease, one at a time, and optimises each, until no task
  // is free; while other nodes hold open tasks it waits, to take over one whose holder's lease
  // expires. Each finished task is added to the step's checkpoint before its lease is released
  // done. Returns true when no task of the step is open any more.
  bool work_on_tasks(NightStepRow& row, EvaluationService& evaluation, int64_t search_run,
                     agents::Provider* provider, std::optional<int64_t> llm_run) {
    LeaseHolder leases(kTaskLeases, open_another_store(workspace), search_run, store.node(),
                       static_cast<double>(workspace.config().integer("store.lease_s")), stop_work);
    const auto poll = std::chrono::duration<double>(std::min(1.0, leases.lease_seconds() / 4));
    const bool joined = !settings.join.empty();
    while (stop_cause() == StopCause::none && !stop_work) {
      if (joined && !night_open())
        break;
      std::optional<ClaimedLease> claim = leases.claim(store);
      if (!claim) {
        if (!leases.others_hold_open_items(store))
          break;
        std::this_thread::sleep_for(poll);
        continue;
      }
      const std::optional<TaskRow> task = find_task(store, claim->item);
      const std::string name = task ? task->name : "task " + std::to_string(claim->item);
      if (claim->taken_from)
        progress(name + ": taken over from " + *claim->taken_from + ", whose lease expired");
      if (row.state["tasks"].contains(name)) {
        // Finished before its lease was released (its node died in between), or by a night
        // that began before tasks were leased.
        leases.release(store, claim->item, /*done=*/true);
        continue;
      }
      TaskWork work;
      {
        Store::FencedWrites fenced(store, leases.fence(claim->item));
        work = optimize_task(evaluation, name, search_run, provider, llm_run,
                             leases.stop_flag(claim->item));
      }
      if (leases.lost(claim->item)) {
        progress(name + ": the lease expired and another node took the task over; this node " +
                 "left it");
        leases.release(store, claim->item, /*done=*/false);
        continue;
      }
      const bool stopped = work.entry.is_null();
      merge_state(row, [&](json& state) {
        for (const json& failure : work.failures)
          state["failures"].push_back(failure);
        json& node = state["nodes"][store.node()];
        if (!node.contains("role"))
          node["role"] = "joined";
        if (stopped) {
          // Not recorded as finished, so that a node takes the task up again; what it spent
          // stays counted against the budgets and in the report.
          json& spent = state["stopped_spend"];
          if (!spent.is_object())
            spent = {{"attempts", 0}, {"input_tokens", 0}, {"output_tokens", 0}, {"cost_usd", 0.0}};
          for (const char* key : {"attempts", "input_tokens", "output_tokens"})
            spent[key] = spent[key].get<int64_t>() + work.spent[key].get<int64_t>();
          spent["cost_usd"] =
              spent["cost_usd"].get<double>() + work.spent["cost_usd"].get<double>();
        } else {
          state["tasks"][name] = work.entry;
          node["tasks"].push_back(name);
        }
      });
      count_optimize_spending(row.state);
      leases.release(store, claim->item, /*done=*/!stopped);
      if (stopped)
        break;
      if (joined)
        finished_here.push_back(name);
    }
    return count_open_leases(store, search_run) == 0;
  }

  // "pid P on HOST" of the process that owns `night`, as the store has it.
  static std::string owner_of(const NightRow& night) {
    if (!night.pid)
      return "its process unknown";
    return "pid " + std::to_string(*night.pid) + " on " + night.host.value_or("?");
  }

  // False once the joined night is no longer running (its owner finished or was stopped).
  bool night_open() const {
    const std::optional<NightRow> now = find_night(store, night.name);
    return now && now->status == NightStatus::kRunning;
  }

  // What the optimize step's state says was spent: an entry per finished task, and the
  // spending of tasks a stop cut short.
  static std::vector<json> spending(const json& state) {
    std::vector<json> entries;
    if (!state.is_object())
      return entries;
    const json tasks = state.value("tasks", json::object());  // named: items() does not own it
    for (const auto& [name, done] : tasks.items())
      entries.push_back(done);
    if (state.contains("stopped_spend"))
      entries.push_back(state["stopped_spend"]);
    return entries;
  }

  // Of two candidates' summaries (best_of), the better: correct first, then the faster.
  static bool better(const json& candidate, const json& incumbent) {
    if (incumbent.is_null())
      return true;
    const bool correct = candidate.value("verdict", "") == "correct";
    if (correct != (incumbent.value("verdict", "") == "correct"))
      return correct;
    const auto time = optional_number(candidate, "median_us");
    const auto incumbent_time = optional_number(incumbent, "median_us");
    return time && (!incumbent_time || *time < *incumbent_time);
  }

  // What one task's work left: its entry (null when the node was stopped inside it), what it
  // spent, and its failures.
  struct TaskWork {
    json entry;
    json spent;
    json failures = json::array();
  };

  // One task: the search, then the LLM, their loops watching `stop` (the task's lease). A task
  // that fails costs itself (a failure in the report).
  TaskWork optimize_task(EvaluationService& evaluation, const std::string& name, int64_t search_run,
                         agents::Provider* provider, std::optional<int64_t> llm_run,
                         const std::atomic<bool>* stop) {
    TaskWork work;
    json entry = {{"attempts", 0}, {"input_tokens", 0}, {"output_tokens", 0}, {"cost_usd", 0.0}};
    int64_t seen_attempts = 0, seen_tokens = 0;
    double seen_cost = 0;
    auto on_progress = [&](const TaskProgress& now) {
      evaluations += now.attempts - seen_attempts;
      tokens += now.input_tokens + now.output_tokens - seen_tokens;
      cost_usd += now.cost_usd - seen_cost;
      seen_attempts = now.attempts;
      seen_tokens = now.input_tokens + now.output_tokens;
      seen_cost = now.cost_usd;
      if (stop_cause() != StopCause::none)
        stop_work = true;
    };
    json best;
    auto account = [&](const TaskOutcome& outcome) {
      entry["attempts"] = entry["attempts"].get<int64_t>() + outcome.progress.attempts;
      entry["input_tokens"] = entry["input_tokens"].get<int64_t>() + outcome.progress.input_tokens;
      entry["output_tokens"] =
          entry["output_tokens"].get<int64_t>() + outcome.progress.output_tokens;
      entry["cost_usd"] = entry["cost_usd"].get<double>() + outcome.progress.cost_usd;
      seen_attempts = seen_tokens = 0;
      seen_cost = 0;
      const json found = best_of(outcome.progress.best_candidate_id);
      if (!found.is_null() && better(found, best))
        best = found;
    };
    auto add = [&work](const std::string& subject, const std::string& reason) {
      work.failures.push_back({{"subject", subject}, {"reason", reason}});
    };
    const Clock::time_point start = Clock::now();
    try {
      Task task = load_task(workspace, name);
      const fs::path seeds = settings.seeds_folder / task_stem(task.name);
      std::error_code error;
      if (fs::is_directory(seeds, error)) {
        OptimizeLoop search(store, evaluation.evaluator(), search_run, on_progress, stop);
        const TaskOutcome outcome = search.run_replay(task, replay_files(seeds, "seed"));
        account(outcome);
        if (outcome.status == RunStatus::kFailed)
          add(name, "search: " + outcome.error);
      } else {
        entry["search"] = "no seed kernels in " + seeds.string();
      }
      if (provider != nullptr && llm_run && !stop->load() && !stop_work) {
        OptimizeLoop llm(store, evaluation.evaluator(), *llm_run, on_progress, stop);
        const TaskOutcome outcome = llm.run_llm(task, *provider, llm_strategy(), prompts(task));
        account(outcome);
        if (outcome.status == RunStatus::kFailed)
          add("llm", name + ": " + outcome.error);  // an outage costs the LLM part
      }
    } catch (const LeaseLost&) {
      // Another node took the task over: the fence set the stop flag, and the task is theirs.
    } catch (const Error& failure) {
      add(name, failure.what());
      entry["error"] = failure.what();
    }
    timing.evaluation_s += seconds_since(start);
    work.spent = entry;
    if (stop->load() || stop_work)
      return work;  // stopped inside the task (or its lease was lost): not finished
    if (!best.is_null())
      entry["best"] = best;
    work.entry = entry;
    return work;
  }

  // The LLM's strategy settings, its budgets what is left of the night's.
  agents::StrategySettings llm_strategy() const {
    agents::StrategySettings strategy;
    strategy.samples = workspace.config().integer("llm.samples");
    if (options().max_tokens > 0)
      strategy.budgets.tokens = std::max<int64_t>(1, options().max_tokens - tokens);
    if (options().max_cost_usd > 0)
      strategy.budgets.cost_usd = std::max(1e-9, options().max_cost_usd - cost_usd);
    if (options().wall_time_s > 0)
      strategy.budgets.wall_seconds =
          std::max(1.0, static_cast<double>(options().wall_time_s) - seconds_since(started));
    return strategy;
  }

  std::shared_ptr<const agents::PromptBuilder> prompts(const Task& task) {
    EvaluationService& evaluation = service();
    agents::TaskView view{
        .name = task.name,
        .source = task.source,
        .signature = task.analysis ? task.analysis->benchmark.to_json() : json::object()};
    agents::GpuTarget target{.architecture = evaluation.arch()};
    target.name =
        evaluation.gpu_name().value_or("an NVIDIA GPU of architecture " + evaluation.arch());
    return std::make_shared<const agents::PromptBuilder>(agents::PromptLibrary::load(), view,
                                                         target);
  }

  // ---- a joining node ----------------------------------------------------------------------

  // Waits for the owner's optimize step to lease its tasks, then works on them beside the owner
  // and the other nodes. Returns what this node did.
  JoinOutcome join_optimize() {
    JoinOutcome outcome{.night = night.name, .node = store.node()};
    progress("joining night " + night.name + " as " + store.node());
    // Started before the wait, so that this node claims tasks as soon as they are leased.
    EvaluationService& evaluation = service();
    std::optional<NightStepRow> step;
    bool waiting_said = false;
    while (true) {
      if (!night_open()) {
        outcome.status = JoinStatus::kEnded;
        outcome.detail = "the night ended before its optimize step had work for this node";
        return outcome;
      }
      // A night whose owner died (kill -9, a lost machine) stays `running` in the store: nobody
      // would ever lease its tasks. The owner's lock says whether it lives.
      if (!NightLock::held(store, workspace.db_path())) {
        outcome.status = JoinStatus::kEnded;
        outcome.detail = "the night's owner (" + owner_of(night) +
                         ") is gone: nothing holds the night's lock; its next `kforge nightly` "
                         "continues it";
        return outcome;
      }
      step = find_night_step(store, night.id, "optimize");
      if (step && step->status != NightStepStatus::kRunning) {
        outcome.status = JoinStatus::kEnded;
        outcome.detail = "the night's optimize step is " +
                         std::string(night_step_status_name(step->status)) + ": nothing to do";
        return outcome;
      }
      if (step && step->state.value("leased", false))
        break;
      if (const StopCause cause = stop_cause(); cause != StopCause::none) {
        outcome.status = JoinStatus::kStopped;
        outcome.detail = stop_text(cause) + " before the optimize step began";
        return outcome;
      }
      if (!waiting_said)
        progress("waiting for the night's optimize step");
      waiting_said = true;
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    const int64_t search_run = step->state["search_run_id"];
    std::optional<int64_t> llm_run;
    if (step->state.contains("llm_run_id"))
      llm_run = step->state["llm_run_id"].get<int64_t>();
    std::unique_ptr<agents::Provider> provider;
    if (llm_run) {
      try {
        if (!settings.make_provider)
          throw Error("no LLM provider is configured", "llm.base_url");
        provider = settings.make_provider();
      } catch (const Error& failure) {
        // This node's tasks go without the LLM, as the owner's would.
        merge_state(*step, [&](json& state) {
          state["failures"].push_back(
              {{"subject", "llm"}, {"reason", store.node() + ": " + failure.what()}});
        });
      }
    }
    merge_state(*step, [&](json& state) {
      state["nodes"][store.node()] = {{"role", "joined"}, {"joined_at", utc_now()}};
    });
    count_optimize_spending(step->state);
    const bool all_done = work_on_tasks(*step, evaluation, search_run, provider.get(), llm_run);
    outcome.tasks = finished_here;
    if (all_done) {
      outcome.status = JoinStatus::kDone;
      outcome.detail = "every task of the night's optimize step is done";
    } else if (const StopCause cause = stop_cause(); cause != StopCause::none) {
      outcome.status = JoinStatus::kStopped;
      outcome.detail = stop_text(cause);
    } else {
      outcome.status = JoinStatus::kEnded;
      outcome.detail = "the night ended with tasks open; its next process continues them";
    }
    return outcome;
  }

  // ---- promote ---------------------------------------------------------------------------

  StepOutcome promote_step(NightStepRow& row) {
    if (!settings.config.promote())
      return {StepStatus::skipped, "nightly.promote is none"};
    const std::optional<NightStepRow> optimized = find_night_step(store, night.id, "optimize");
    const json tasks = optimized ? optimized->state.value("tasks", json::object()) : json::object();
    if (tasks.empty())
      return {StepStatus::skipped, "no task was optimised tonight"};
    Promoter promoter(store, PromotionOptions{.library_root = settings.config.library_root,
                                              .min_speedup_eager =
                                                  workspace.config().real("promote.min_speedup")});
    if (!row.state.contains("decisions"))
      row.state["decisions"] = json::object();
    for (const auto& [name, entry] : tasks.items()) {
      if (row.state["decisions"].contains(name))
        continue;
      std::vector<int64_t> best = promoter.best_candidates(name);
      // A correct candidate without a measured speedup over eager (baselines off, or their
      // timing failed) is not "no correct candidate": the promoter refuses it by its own rule.
      if (best.empty())
        best = list_ranked_candidates(store, kHarnessVersion, name, 1);
      if (best.empty()) {
        row.state["decisions"][name] = {
            {"decision", "refused"}, {"rule", "correct"}, {"reason", "no correct candidate"}};
      } else {
        try {
          const PromotionDecision decision = promoter.promote(best.front());
          row.state["decisions"][name] = decision.to_json();
        } catch (const Error& failure) {
          add_failure(row, name, failure.what());
          row.state["decisions"][name] = {{"decision", "refused"}, {"error", failure.what()}};
        }
      }
      checkpoint(row);
    }
    int64_t promoted = 0;
    std::vector<std::string> refusals;
    for (const auto& [name, decision] : row.state["decisions"].items()) {
      if (decision.value("decision", "") == "promoted")
        ++promoted;
      else
        refusals.push_back(name + ": " + decision.value("reason", decision.value("error", "")));
    }
    return {StepStatus::done,
            std::to_string(promoted) + " promoted, " + std::to_string(refusals.size()) +
                " refused" + (refusals.empty() ? "" : " (" + strings::join(refusals, "; ") + ")")};
  }

  // ---- the report ------------------------------------------------------------------------

  NightReport assemble(const std::vector<NightStepRow>& rows, NightOutcome outcome) const {
    NightReport report;
    report.night = night.name;
    report.started_at = night.started_at;
    report.finished_at = utc_now();
    report.outcome = outcome;
    std::map<std::string, json> state;
    for (const NightStepRow& row : rows) {
      const std::optional<StepStatus> status = step_status_of(row.status);
      if (!status)
        throw Error("step " + row.name + " is still running as the report is written",
                    "night " + night.name);
      report.steps.push_back({row.name, *status, row.seconds, row.detail});
      state[row.name] = row.state;
      // A step that failed as a whole (it threw) is one failure; one that recorded its own
      // failures (a kernel, a task, the GPU, the LLM) is those.
      const json failures = row.state.value("failures", json::array());
      if (row.status == NightStepStatus::kFailed && failures.empty())
        report.failures.push_back({row.name, "step", row.detail});
      for (const json& failure : failures)
        report.failures.push_back(
            {row.name, failure.value("subject", ""), failure.value("reason", "")});
    }
    const json& environment = state["environment"];
    report.environment = environment_changes(environment.value("before", json::object()),
                                             environment.value("snapshot", json::object()));
    const json kernels = state["reverify"].value("kernels", json::object());
    for (const auto& [kernel, entry] : kernels.items()) {
      if (!entry.contains("after") || entry["before"].is_null())
        continue;
      if (auto regression = judge_kernel(kernel, entry.value("task", ""),
                                         KernelMeasurement::from_json(entry["before"]),
                                         KernelMeasurement::from_json(entry["after"])))
        report.regressions.push_back(*regression);
    }
    const json tuned = state["tune"].value("kernels", json::object());
    for (const auto& [kernel, entry] : tuned.items())
      if (entry.contains("arch"))
        report.tuning.push_back({.kernel = kernel,
                                 .arch = entry.value("arch", ""),
                                 .evaluations = entry.value("evaluations", int64_t{0}),
                                 .default_us = optional_number(entry, "default_us"),
                                 .best_us = optional_number(entry, "best_us")});
    const json tasks = state["optimize"].value("tasks", json::object());
    const json decisions = state["promote"].value("decisions", json::object());
    for (const json& spent : spending(state["optimize"])) {
      report.llm.prompt_tokens += spent.value("input_tokens", int64_t{0});
      report.llm.completion_tokens += spent.value("output_tokens", int64_t{0});
      report.llm.cost_usd += spent.value("cost_usd", 0.0);
    }
    for (const auto& [task, entry] : tasks.items()) {
      const json best = entry.value("best", json::object());
      TaskHistory history{.task = task};
      std::optional<double> best_before;
      for (const auto& [name, step] : earlier_steps("optimize")) {
        const json earlier_best = step.state.value("tasks", json::object())
                                      .value(task, json::object())
                                      .value("best", json::object());
        if (earlier_best.is_null() || earlier_best.empty())
          continue;
        history.points.insert(history.points.begin(),
                              {name, optional_number(earlier_best, "speedup_eager"),
                               optional_number(earlier_best, "speedup_compile")});
        if (earlier_best.value("verdict", "") == "correct")
          if (auto median = optional_number(earlier_best, "median_us"))
            best_before = best_before ? std::min(*best_before, *median) : *median;
      }
      if (best.is_object() && !best.empty()) {
        history.points.push_back({night.name, optional_number(best, "speedup_eager"),
                                  optional_number(best, "speedup_compile")});
        const json decision = decisions.value(task, json::object());
        const bool promoted = decision.value("decision", "") == "promoted";
        const std::optional<double> median = optional_number(best, "median_us");
        if (best.value("verdict", "") == "correct" && median &&
            (promoted || !best_before || *median < *best_before))
          report.improvements.push_back(
              {.task = task,
               .kernel = promoted ? decision.value("library_path", "")
                                  : "candidate " + std::to_string(best.value("candidate_id", 0)),
               .promoted = promoted,
               .median_us_before = best_before,
               .median_us_after = *median,
               .speedup_eager = optional_number(best, "speedup_eager"),
               .speedup_compile = optional_number(best, "speedup_compile")});
      }
      report.history.push_back(std::move(history));
    }
    return report;
  }

  // Runs the on-regression command with the report's path in its environment.
  void on_regression(const NightReport& report, const fs::path& json_path) {
    const std::string& command = options().on_regression;
    if (command.empty() || report.regressions.empty())
      return;
    progress("running nightly.on_regression");
    ProcessSpec spec;
    spec.program = "/bin/sh";
    spec.arguments = {"-c", command};
    spec.environment_overrides = {
        {"KFORGE_NIGHT", report.night},
        {"KFORGE_NIGHT_REPORT", json_path.string()},
        {"KFORGE_NIGHT_REGRESSIONS", std::to_string(report.regressions.size())}};
    spec.time_limit = std::chrono::minutes(10);
    const ProcessResult result = run_process(spec);
    if (!result.succeeded())
      throw Error(result.describe_end() + ": " + result.standard_error.substr(0, 200),
                  "nightly.on_regression");
  }
};

Night::Night(Workspace& workspace, NightSettings settings)
    : implementation_(std::make_unique<Implementation>(workspace, std::move(settings), timing_)) {}

Night::~Night() = default;

std::string_view join_status_name(JoinStatus status) {
  return name_in(kJoinStatuses, status);
}

std::optional<JoinStatus> join_status_named(std::string_view name) {
  return value_named(kJoinStatuses, name);
}

NightRow night_to_join(const Store& store, const std::string& name) {
  const std::optional<NightRow> night = find_night(store, name);
  if (!night)
    throw Error("no night " + name + " in the store", "--join");
  if (night->status == NightStatus::kInterrupted)
    throw Error("night " + name + " is interrupted: no process works on it to join; continue " +
                    "it with `kforge nightly`",
                "--join");
  if (night->status != NightStatus::kRunning)
    throw Error("night " + name + " has already finished (" +
                    std::string(night_status_name(night->status)) + ")",
                "--join");
  return *night;
}

void adopt_night_config(Config& config, const NightRow& night) {
  static const char* const kShared[] = {"nightly.", "llm.",     "verify.",
                                        "timing.",  "profile.", "promote."};
  for (const auto& [key, value] : night.config.items()) {
    bool shared = key == "arch" || key == "store.lease_s";
    for (const char* prefix : kShared)
      shared = shared || key.rfind(prefix, 0) == 0;
    if (!shared || value.is_null())
      continue;
    config.set(key, value.is_string() ? value.get<std::string>() : value.dump());
  }
}

JoinOutcome Night::join() {
  Implementation& night = *implementation_;
  const Clock::time_point start = Clock::now();
  night.night = night_to_join(night.store, night.settings.join);
  night.start_watcher();
  JoinOutcome outcome = night.join_optimize();
  timing_.wall_s = seconds_since(start);
  return outcome;
}

NightReport Night::run() {
  Implementation& night = *implementation_;
  const Clock::time_point start = Clock::now();
  night.open_night();
  night.start_watcher();
  struct StepEntry {
    const char* name;
    Implementation::StepBody body;
  };
  static const StepEntry kSteps[] = {
      {"environment", &Implementation::environment_step},
      {"baselines", &Implementation::baselines_step},
      {"reverify", &Implementation::reverify_step},
      {"tune", &Implementation::tune_step},
      {"optimize", &Implementation::optimize_step},
      {"promote", &Implementation::promote_step},
  };
  std::vector<NightStepRow> rows;
  int64_t position = 0;
  for (const StepEntry& step : kSteps)
    rows.push_back(night.run_step(position++, step.name, step.body));

  const StopCause cause = night.stop_cause();
  NightOutcome outcome = NightOutcome::completed;
  if (cause == StopCause::signal)
    outcome = NightOutcome::interrupted;
  else if (cause == StopCause::budget ||
           std::any_of(rows.begin(), rows.end(), [](const NightStepRow& row) {
             return row.status == NightStepStatus::kStopped;
           }))
    outcome = NightOutcome::budget_reached;
  if (night.service_error && night.evaluations == 0)
    outcome = NightOutcome::failed;  // nothing could be evaluated: the night could not run

  NightStepRow report_row{.night_id = night.night.id,
                          .position = position,
                          .name = "report",
                          .status = NightStepStatus::kDone,
                          .detail = "written to " + night.settings.config.report_dir.string()};
  rows.push_back(report_row);
  NightReport report = night.assemble(rows, outcome);
  timing_.wall_s = seconds_since(start);
  NightReportFiles files = write_night_report(report, night.settings.config.report_dir);
  report_json_ = files.json;
  try {
    night.on_regression(report, files.json);
  } catch (const Error& failure) {
    report.failures.push_back({"report", "nightly.on_regression", failure.what()});
    files = write_night_report(report, night.settings.config.report_dir);
  }
  store_night_step(night.store, report_row);
  finish_night(night.store, night.night.id, night_status_of(outcome), to_json(report));
  timing_.wall_s = seconds_since(start);
  return report;
}

}  // namespace kforge::nightly

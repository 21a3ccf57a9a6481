// The runs table (one row per `kforge eval`, `optimize` or `library verify`) and run_tasks,
// the per-task checkpoint of an optimize run: the strategy's state after every tell, so that a
// run killed at any moment resumes where it stopped. Every write is its own transaction (or
// joins the caller's Store::Transaction).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/store.hpp"

namespace kforge {

// How a run, or one task of a run, stands: exactly the values the CHECK of runs.status and
// run_tasks.status allows, stored as their names ("running", "completed", "failed",
// "interrupted"). Why a run ended beyond these (a tuning run that told every point of its space,
// a cancelled evaluation) goes in its summary.
enum class RunStatus { kRunning, kCompleted, kFailed, kInterrupted };
std::string_view run_status_name(RunStatus status);
// The status `name` names; nullopt for any other text.
std::optional<RunStatus> run_status_named(std::string_view name);
// The same, or an Error at `where` naming the text and the allowed names.
RunStatus run_status_from_name(std::string_view name, const std::string& where);

struct RunRow {
  int64_t id = 0;
  std::string kind;  // "eval", "optimize", "library-verify"
  nlohmann::json request = nlohmann::json::object();
  nlohmann::json config = nlohmann::json::object();
  std::optional<std::string> agent, strategy, model, gpu;
  nlohmann::json environment = nlohmann::json::object();
  RunStatus status = RunStatus::kRunning;
  std::optional<nlohmann::json> summary;
  std::string started_at, finished_at;
};

int64_t insert_run(Store& store, const RunRow& run);
// Sets the final status and summary, and the finish time to now.
void finish_run(Store& store, int64_t run_id, RunStatus status, const nlohmann::json& summary);
// A resumed run is running again: its status is "running" and its finish time cleared.
void reopen_run(Store& store, int64_t run_id);
std::optional<RunRow> find_run(const Store& store, int64_t run_id);
// The latest `limit` runs, newest first.
std::vector<RunRow> list_runs(const Store& store, size_t limit);

// One task of a run: the loop's checkpoint ("{}" until the first one) and how the task ended.
struct RunTaskRow {
  int64_t run_id = 0;
  int64_t task_id = 0;
  nlohmann::json state = nlohmann::json::object();
  RunStatus status = RunStatus::kRunning;
};

std::optional<RunTaskRow> find_run_task(const Store& store, int64_t run_id, int64_t task_id);
// Every task row of a run, by task id.
std::vector<RunTaskRow> run_tasks_of(const Store& store, int64_t run_id);
// Inserts, or replaces the state and status of the row of the same run and task.
void store_run_task(Store& store, const RunTaskRow& row);

// The candidates a run stored, oldest first, and how many there are.
std::vector<int64_t> candidate_ids_of_run(const Store& store, int64_t run_id);
int64_t count_candidates_of_run(const Store& store, int64_t run_id);
// The candidates of one task of a run that carry an iteration (replay items), by iteration;
// the latest candidate wins where one iteration was stored twice.
std::map<int64_t, int64_t> candidate_ids_by_iteration(const Store& store, int64_t run_id,
                                                      int64_t task_id);

}  // namespace kforge

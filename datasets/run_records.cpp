#include "datasets/run_records.hpp"

#include <array>

#include "harness/util/json_text.hpp"
#include "harness/util/name_table.hpp"

namespace kforge {
namespace {

constexpr std::array kRunStatuses = std::to_array<std::pair<RunStatus, std::string_view>>({
    {RunStatus::kRunning, "running"},
    {RunStatus::kCompleted, "completed"},
    {RunStatus::kFailed, "failed"},
    {RunStatus::kInterrupted, "interrupted"},
});

RunRow read_run(const sql::Statement& row) {
  RunRow run;
  run.id = row.integer(0);
  run.kind = row.text(1);
  run.request = nlohmann::json::parse(row.text(2));
  run.config = nlohmann::json::parse(row.text(3));
  run.agent = row.optional_text(4);
  run.strategy = row.optional_text(5);
  run.model = row.optional_text(6);
  run.gpu = row.optional_text(7);
  run.environment = nlohmann::json::parse(row.text(8));
  run.status = run_status_from_name(row.text(9), "runs row " + std::to_string(run.id));
  if (auto summary = row.optional_text(10))
    run.summary = nlohmann::json::parse(*summary);
  run.started_at = row.text(11);
  run.finished_at = row.text(12);
  return run;
}

std::string run_task_where(int64_t run_id, int64_t task_id) {
  return "run_tasks row of run " + std::to_string(run_id) + ", task " + std::to_string(task_id);
}

constexpr const char* kRunColumns =
    "id, kind, request, config, agent, strategy, model, gpu, environment, status, summary, "
    "started_at, finished_at";

}  // namespace

std::string_view run_status_name(RunStatus status) {
  return name_in(kRunStatuses, status);
}

std::optional<RunStatus> run_status_named(std::string_view name) {
  return value_named(kRunStatuses, name);
}

RunStatus run_status_from_name(std::string_view name, const std::string& where) {
  return value_named_or_error(kRunStatuses, name, "run status", where);
}

int64_t insert_run(Store& store, const RunRow& run) {
  auto insert = store.db().prepare(
      "INSERT INTO runs (kind, request, config, agent, strategy, model, gpu, environment, status, "
      "node) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, run.kind)
      .bind(2, json_text(run.request))
      .bind(3, json_text(run.config))
      .bind(4, run.agent)
      .bind(5, run.strategy)
      .bind(6, run.model)
      .bind(7, run.gpu)
      .bind(8, json_text(run.environment))
      .bind(9, run_status_name(run.status))
      .bind(10, store.node());
  insert.run();
  return store.db().last_insert_id();
}

void finish_run(Store& store, int64_t run_id, RunStatus status, const nlohmann::json& summary) {
  auto update = store.db().prepare(
      "UPDATE runs SET status = ?, summary = ?, "
      "finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?");
  update.bind(1, run_status_name(status)).bind(2, json_text(summary)).bind(3, run_id);
  update.run();
}

void reopen_run(Store& store, int64_t run_id) {
  auto update =
      store.db().prepare("UPDATE runs SET status = 'running', finished_at = NULL WHERE id = ?");
  update.bind(1, run_id);
  update.run();
}

std::optional<RunRow> find_run(const Store& store, int64_t run_id) {
  auto query = store.db().prepare(std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?");
  query.bind(1, run_id);
  if (!query.step())
    return std::nullopt;
  return read_run(query);
}

std::vector<RunRow> list_runs(const Store& store, size_t limit) {
  auto query = store.db().prepare(std::string("SELECT ") + kRunColumns +
                                  " FROM runs ORDER BY id DESC LIMIT ?");
  query.bind(1, static_cast<int64_t>(limit));
  std::vector<RunRow> runs;
  while (query.step())
    runs.push_back(read_run(query));
  return runs;
}

std::optional<RunTaskRow> find_run_task(const Store& store, int64_t run_id, int64_t task_id) {
  auto query =
      store.db().prepare("SELECT state, status FROM run_tasks WHERE run_id = ? AND task_id = ?");
  query.bind(1, run_id).bind(2, task_id);
  if (!query.step())
    return std::nullopt;
  return RunTaskRow{.run_id = run_id,
                    .task_id = task_id,
                    .state = nlohmann::json::parse(query.text(0)),
                    .status = run_status_from_name(query.text(1), run_task_where(run_id, task_id))};
}

std::vector<RunTaskRow> run_tasks_of(const Store& store, int64_t run_id) {
  auto query = store.db().prepare(
      "SELECT task_id, state, status FROM run_tasks WHERE run_id = ? ORDER BY task_id");
  query.bind(1, run_id);
  std::vector<RunTaskRow> rows;
  while (query.step()) {
    const int64_t task_id = query.integer(0);
    rows.push_back(
        {.run_id = run_id,
         .task_id = task_id,
         .state = nlohmann::json::parse(query.text(1)),
         .status = run_status_from_name(query.text(2), run_task_where(run_id, task_id))});
  }
  return rows;
}

void store_run_task(Store& store, const RunTaskRow& row) {
  auto upsert = store.db().prepare(
      "INSERT INTO run_tasks (run_id, task_id, state, status) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (run_id, task_id) DO UPDATE SET state = excluded.state, "
      "status = excluded.status");
  upsert.bind(1, row.run_id)
      .bind(2, row.task_id)
      .bind(3, json_text(row.state))
      .bind(4, run_status_name(row.status));
  upsert.run();
}

std::vector<int64_t> candidate_ids_of_run(const Store& store, int64_t run_id) {
  auto query = store.db().prepare("SELECT id FROM candidates WHERE run_id = ? ORDER BY id");
  query.bind(1, run_id);
  std::vector<int64_t> ids;
  while (query.step())
    ids.push_back(query.integer(0));
  return ids;
}

int64_t count_candidates_of_run(const Store& store, int64_t run_id) {
  auto query = store.db().prepare("SELECT count(*) FROM candidates WHERE run_id = ?");
  query.bind(1, run_id);
  query.step();
  return query.integer(0);
}

std::map<int64_t, int64_t> candidate_ids_by_iteration(const Store& store, int64_t run_id,
                                                      int64_t task_id) {
  auto query = store.db().prepare(
      "SELECT iteration, id FROM candidates WHERE run_id = ? AND task_id = ? "
      "AND iteration IS NOT NULL ORDER BY id");
  query.bind(1, run_id).bind(2, task_id);
  std::map<int64_t, int64_t> ids;
  while (query.step())
    ids[query.integer(0)] = query.integer(1);
  return ids;
}

}  // namespace kforge

#include "datasets/night_records.hpp"

#include <array>

#include "harness/util/error.hpp"
#include "harness/util/json_text.hpp"
#include "harness/util/name_table.hpp"

namespace kforge {
namespace {

constexpr std::array kNightStatuses = std::to_array<std::pair<NightStatus, std::string_view>>({
    {NightStatus::kRunning, "running"},
    {NightStatus::kCompleted, "completed"},
    {NightStatus::kBudgetReached, "budget_reached"},
    {NightStatus::kInterrupted, "interrupted"},
    {NightStatus::kFailed, "failed"},
});

constexpr std::array kNightStepStatuses =
    std::to_array<std::pair<NightStepStatus, std::string_view>>({
        {NightStepStatus::kRunning, "running"},
        {NightStepStatus::kDone, "done"},
        {NightStepStatus::kSkipped, "skipped"},
        {NightStepStatus::kFailed, "failed"},
        {NightStepStatus::kStopped, "stopped"},
    });

constexpr const char* kNightColumns =
    "id, name, status, environment, config, report, pid, host, heartbeat_at, started_at, "
    "finished_at";

NightRow read_night(const sql::Statement& row) {
  NightRow night;
  night.id = row.integer(0);
  night.name = row.text(1);
  night.status = night_status_from_name(row.text(2), "nights row " + night.name);
  night.environment = nlohmann::json::parse(row.text(3));
  night.config = nlohmann::json::parse(row.text(4));
  if (auto report = row.optional_text(5))
    night.report = nlohmann::json::parse(*report);
  night.pid = row.optional_integer(6);
  night.host = row.optional_text(7);
  night.heartbeat_at = row.optional_text(8);
  night.started_at = row.text(9);
  night.finished_at = row.text(10);
  return night;
}

constexpr const char* kStepColumns =
    "night_id, position, name, status, seconds, detail, state, runs";

NightStepRow read_step(const sql::Statement& row) {
  const int64_t night_id = row.integer(0);
  const std::string name = row.text(2);
  return NightStepRow{
      .night_id = night_id,
      .position = row.integer(1),
      .name = name,
      .status = night_step_status_from_name(
          row.text(3), "night_steps row " + name + " of night " + std::to_string(night_id)),
      .seconds = row.real(4),
      .detail = row.text(5),
      .state = nlohmann::json::parse(row.text(6)),
      .runs = row.integer(7)};
}

// The advisory lock's key: "kforgeNL" as a big-endian 64-bit integer.
constexpr const char* kNightlyLockKey = "7738995546834423372";

}  // namespace

std::string_view night_status_name(NightStatus status) {
  return name_in(kNightStatuses, status);
}

std::optional<NightStatus> night_status_named(std::string_view name) {
  return value_named(kNightStatuses, name);
}

NightStatus night_status_from_name(std::string_view name, const std::string& where) {
  return value_named_or_error(kNightStatuses, name, "night status", where);
}

std::string_view night_step_status_name(NightStepStatus status) {
  return name_in(kNightStepStatuses, status);
}

std::optional<NightStepStatus> night_step_status_named(std::string_view name) {
  return value_named(kNightStepStatuses, name);
}

NightStepStatus night_step_status_from_name(std::string_view name, const std::string& where) {
  return value_named_or_error(kNightStepStatuses, name, "night step status", where);
}

bool try_lock_nightly(Store& store) {
  auto query = store.db().prepare(std::string("SELECT CASE WHEN pg_try_advisory_lock(") +
                                  kNightlyLockKey + ") THEN 1 ELSE 0 END");
  return query.step() && query.integer(0) == 1;
}

void unlock_nightly(Store& store) {
  auto query = store.db().prepare(std::string("SELECT CASE WHEN pg_advisory_unlock(") +
                                  kNightlyLockKey + ") THEN 1 ELSE 0 END");
  query.step();
}

bool nightly_lock_held(const Store& store) {
  // pg_advisory_lock(bigint) shows in pg_locks as classid (high 32 bits), objid (low 32 bits)
  // and objsubid 1, in the current database.
  auto query = store.db().prepare(
      std::string("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                  "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                  "AND objsubid = 1 AND classid::text::bigint = (") +
      kNightlyLockKey + "::bigint >> 32) AND objid::text::bigint = (" + kNightlyLockKey +
      "::bigint & 4294967295)");
  return query.step() && query.integer(0) > 0;
}

bool nightly_lock_is_the_databases(const Store& store) {
  return store.dialect() == sql::Dialect::kPostgres;
}

int64_t insert_night(Store& store, const NightRow& night) {
  auto insert = store.db().prepare(
      "INSERT INTO nights (name, status, environment, config, pid, host, heartbeat_at) "
      "VALUES (?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))");
  insert.bind(1, night.name)
      .bind(2, night_status_name(night.status))
      .bind(3, json_text(night.environment))
      .bind(4, json_text(night.config))
      .bind(5, night.pid)
      .bind(6, night.host);
  insert.run();
  return store.db().last_insert_id();
}

void update_night_process(Store& store, int64_t night_id, int64_t pid, const std::string& host) {
  auto update = store.db().prepare(
      "UPDATE nights SET pid = ?, host = ?, status = 'running', finished_at = NULL, "
      "heartbeat_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?");
  update.bind(1, pid).bind(2, host).bind(3, night_id);
  update.run();
}

void update_night_environment(Store& store, int64_t night_id, const nlohmann::json& environment) {
  auto update = store.db().prepare("UPDATE nights SET environment = ? WHERE id = ?");
  update.bind(1, json_text(environment)).bind(2, night_id);
  update.run();
}

void finish_night(Store& store, int64_t night_id, NightStatus status,
                  const nlohmann::json& report) {
  auto update = store.db().prepare(
      "UPDATE nights SET status = ?, report = ?, "
      "finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?");
  update.bind(1, night_status_name(status)).bind(2, json_text(report)).bind(3, night_id);
  update.run();
}

std::optional<NightRow> find_night(const Store& store, const std::string& name) {
  auto query =
      store.db().prepare(std::string("SELECT ") + kNightColumns + " FROM nights WHERE name = ?");
  query.bind(1, name);
  if (!query.step())
    return std::nullopt;
  return read_night(query);
}

std::optional<NightRow> find_unfinished_night(const Store& store) {
  auto query = store.db().prepare(std::string("SELECT ") + kNightColumns +
                                  " FROM nights WHERE status IN ('running', 'interrupted') "
                                  "ORDER BY id DESC LIMIT 1");
  if (!query.step())
    return std::nullopt;
  return read_night(query);
}

std::vector<NightRow> list_finished_nights(const Store& store, int64_t before_id) {
  auto query = store.db().prepare(std::string("SELECT ") + kNightColumns +
                                  " FROM nights WHERE status NOT IN ('running', 'interrupted') "
                                  "AND id < ? ORDER BY id");
  query.bind(1, before_id);
  std::vector<NightRow> nights;
  while (query.step())
    nights.push_back(read_night(query));
  return nights;
}

void store_night_step(Store& store, const NightStepRow& step) {
  auto upsert = store.db().prepare(
      "INSERT INTO night_steps (night_id, position, name, status, seconds, detail, state, runs) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (night_id, name) DO UPDATE SET "
      "status = excluded.status, seconds = excluded.seconds, detail = excluded.detail, "
      "state = excluded.state, runs = excluded.runs");
  upsert.bind(1, step.night_id)
      .bind(2, step.position)
      .bind(3, step.name)
      .bind(4, night_step_status_name(step.status))
      .bind(5, step.seconds)
      .bind(6, step.detail)
      .bind(7, json_text(step.state))
      .bind(8, step.runs);
  upsert.run();
}

std::optional<NightStepRow> find_night_step(const Store& store, int64_t night_id,
                                            const std::string& name) {
  auto query = store.db().prepare(std::string("SELECT ") + kStepColumns +
                                  " FROM night_steps WHERE night_id = ? AND name = ?");
  query.bind(1, night_id).bind(2, name);
  if (!query.step())
    return std::nullopt;
  return read_step(query);
}

nlohmann::json update_night_step_state(Store& store, int64_t night_id, const std::string& name,
                                       const std::function<void(nlohmann::json&)>& change) {
  Store::Transaction transaction(store);
  std::string select = "SELECT state FROM night_steps WHERE night_id = ? AND name = ?";
  if (store.dialect() == sql::Dialect::kPostgres)
    select += " FOR UPDATE";  // SQLite's BEGIN IMMEDIATE already makes writers take turns
  auto query = store.db().prepare(select);
  query.bind(1, night_id).bind(2, name);
  if (!query.step())
    throw Error("no step " + name + " in night " + std::to_string(night_id), "night_steps");
  nlohmann::json state = nlohmann::json::parse(query.text(0));
  query.reset();
  change(state);
  auto update =
      store.db().prepare("UPDATE night_steps SET state = ? WHERE night_id = ? AND name = ?");
  update.bind(1, json_text(state)).bind(2, night_id).bind(3, name);
  update.run();
  transaction.commit();
  return state;
}

std::vector<NightStepRow> night_steps_of(const Store& store, int64_t night_id) {
  auto query = store.db().prepare(std::string("SELECT ") + kStepColumns +
                                  " FROM night_steps WHERE night_id = ? ORDER BY position");
  query.bind(1, night_id);
  std::vector<NightStepRow> steps;
  while (query.step())
    steps.push_back(read_step(query));
  return steps;
}

}  // namespace kforge

// The nights table (one row per night of `kforge nightly`) and night_steps (one row per named
// step of a night, with the step's checkpoint), written by harness/nightly/. A night whose row
// is still `running` when the next nightly starts was killed: the next one continues it, and a
// step whose row is `done`, `skipped` or `failed` is not run again. Every write is its own
// transaction (or joins the caller's Store::Transaction).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/store.hpp"

namespace kforge {

// How a night stands: exactly the values nights.status's CHECK allows, stored as their names
// ("running", "completed", "budget_reached", "interrupted", "failed"). A finished night's
// status is its report's outcome (harness/nightly/night_report.hpp).
enum class NightStatus { kRunning, kCompleted, kBudgetReached, kInterrupted, kFailed };
std::string_view night_status_name(NightStatus status);
// The status `name` names; nullopt for any other text.
std::optional<NightStatus> night_status_named(std::string_view name);
// The same, or an Error at `where` naming the text and the allowed names.
NightStatus night_status_from_name(std::string_view name, const std::string& where);

// How a step of a night stands: exactly the values night_steps.status's CHECK allows ("running",
// "done", "skipped", "failed", "stopped"). A step that is done, skipped or failed is not run
// again; a stopped one is, by the next process of the night.
enum class NightStepStatus { kRunning, kDone, kSkipped, kFailed, kStopped };
std::string_view night_step_status_name(NightStepStatus status);
std::optional<NightStepStatus> night_step_status_named(std::string_view name);
NightStepStatus night_step_status_from_name(std::string_view name, const std::string& where);

struct NightRow {
  int64_t id = 0;
  std::string name;  // the night's id, e.g. 2026-12-03T02-00-00Z
  NightStatus status = NightStatus::kRunning;
  nlohmann::json environment = nlohmann::json::object();  // the snapshot taken at its start
  nlohmann::json config = nlohmann::json::object();       // the effective configuration
  std::optional<nlohmann::json> report;                   // the NightReport, once finished
  std::optional<int64_t> pid;
  std::optional<std::string> host, heartbeat_at;
  std::string started_at, finished_at;
};

struct NightStepRow {
  int64_t night_id = 0;
  int64_t position = 0;
  std::string name;
  NightStepStatus status = NightStepStatus::kRunning;
  double seconds = 0;
  std::string detail;
  nlohmann::json state = nlohmann::json::object();  // the step's checkpoint
  int64_t runs = 1;                                 // processes that started the step
};

int64_t insert_night(Store& store, const NightRow& night);
// The process now working on the night (a restart after a kill takes it over) and its heartbeat.
void update_night_process(Store& store, int64_t night_id, int64_t pid, const std::string& host);
void update_night_environment(Store& store, int64_t night_id, const nlohmann::json& environment);
// Sets the final status and report, and the finish time to now.
void finish_night(Store& store, int64_t night_id, NightStatus status, const nlohmann::json& report);
std::optional<NightRow> find_night(const Store& store, const std::string& name);
// The newest night whose status is `running` or `interrupted`: one to continue.
std::optional<NightRow> find_unfinished_night(const Store& store);
// Finished nights (every status but running and interrupted), oldest first, `before` excluded.
std::vector<NightRow> list_finished_nights(const Store& store, int64_t before_id);

// Inserts the step, or replaces its status, seconds, detail and state (`runs` grows by one when
// a running step is stored again by another process).
void store_night_step(Store& store, const NightStepRow& step);
std::optional<NightStepRow> find_night_step(const Store& store, int64_t night_id,
                                            const std::string& name);
// Changes the step's checkpoint in one transaction: reads its state (locking the row on
// PostgreSQL), lets `change` edit it and writes it back; returns the new state. For a step that
// several processes write at once (the optimize step of a night that nodes joined: each adds the
// tasks it finished), where store_night_step would write one process's stale copy over another's
// entries. The step's row must exist. Opens its own transaction: call it outside one.
nlohmann::json update_night_step_state(Store& store, int64_t night_id, const std::string& name,
                                       const std::function<void(nlohmann::json&)>& change);
// One nightly per PostgreSQL store, where no lock file beside the store exists: a session-level
// advisory lock of `store`'s connection, which the server drops when the connection ends, however
// it ends (a process killed with kill -9 included), so that a crashed night never leaves it
// stuck. False when another connection holds it. The lock is the database's, so nodes on other
// machines see it. Only for PostgreSQL stores (SQLite's is a flock'ed file: NightLock).
bool try_lock_nightly(Store& store);
void unlock_nightly(Store& store);
// Whether some connection holds that advisory lock now (PostgreSQL only), read from pg_locks
// without taking it, so that a process about to take it is never refused because of the look.
bool nightly_lock_held(const Store& store);
// Whether `store`'s one-nightly lock is the database's (try_lock_nightly: PostgreSQL) rather than
// a lock file beside it (SQLite).
bool nightly_lock_is_the_databases(const Store& store);
// The night's steps in their order.
std::vector<NightStepRow> night_steps_of(const Store& store, int64_t night_id);

}  // namespace kforge

#include "datasets/migrations.hpp"

#include <array>

namespace kforge {
namespace {

// Timestamps are ISO 8601 UTC text; JSON columns hold JSON text (checked with json_valid).
constexpr std::string_view kVersion1 = R"sql(
CREATE TABLE tasks (
  id                INTEGER PRIMARY KEY,
  name              TEXT NOT NULL,                -- 'builtin/softmax', 'kb1/19_ReLU'
  suite             TEXT NOT NULL,
  version           INTEGER NOT NULL CHECK (version >= 1),
  source            TEXT NOT NULL,                -- the PyTorch program, as read
  source_hash       TEXT NOT NULL,                -- sha256 of source
  origin_path       TEXT,                         -- the file it was imported from
  description       TEXT NOT NULL DEFAULT '',
  tags              TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
  signature         TEXT CHECK (signature IS NULL OR json_valid(signature)),
  check_shapes      TEXT CHECK (check_shapes IS NULL OR json_valid(check_shapes)),
  degenerate        INTEGER NOT NULL DEFAULT 0 CHECK (degenerate IN (0, 1)),
  degenerate_reason TEXT,
  analysis          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(analysis)),
  created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (name, version),
  UNIQUE (name, source_hash)
);
CREATE INDEX tasks_by_suite ON tasks (suite, name);

CREATE TABLE runs (
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL,                      -- 'eval', 'optimize', 'library-verify'
  request     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(request)),  -- what was asked
  config      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(config)),
  agent       TEXT,
  strategy    TEXT,
  model       TEXT,
  gpu         TEXT,
  environment TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(environment)),  -- versions
  status      TEXT NOT NULL DEFAULT 'running'
              CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
  summary     TEXT CHECK (summary IS NULL OR json_valid(summary)),
  started_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  finished_at TEXT
);

-- Per-task progress of a run, written after every step so a killed run resumes.
CREATE TABLE run_tasks (
  run_id  INTEGER NOT NULL REFERENCES runs (id),
  task_id INTEGER NOT NULL REFERENCES tasks (id),
  state   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(state)),
  status  TEXT NOT NULL DEFAULT 'running'
          CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
  PRIMARY KEY (run_id, task_id)
);

CREATE TABLE llm_exchanges (
  id                INTEGER PRIMARY KEY,
  run_id            INTEGER REFERENCES runs (id),
  task_id           INTEGER REFERENCES tasks (id),
  provider          TEXT NOT NULL,
  model             TEXT NOT NULL,
  sample_index      INTEGER NOT NULL DEFAULT 0,
  request           TEXT NOT NULL CHECK (json_valid(request)),  -- never holds the API key
  response          TEXT,                       -- the assistant's text
  status            TEXT NOT NULL,              -- 'ok', 'http_error', 'timeout', 'no_candidate', ...
  error             TEXT,
  prompt_tokens     INTEGER,
  completion_tokens INTEGER,
  cost_usd          REAL,
  latency_ms        INTEGER,
  cache_hit         INTEGER NOT NULL DEFAULT 0 CHECK (cache_hit IN (0, 1)),
  created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE candidates (
  id              INTEGER PRIMARY KEY,
  task_id         INTEGER NOT NULL REFERENCES tasks (id),
  run_id          INTEGER REFERENCES runs (id),
  parent_id       INTEGER REFERENCES candidates (id),
  llm_exchange_id INTEGER REFERENCES llm_exchanges (id),
  iteration       INTEGER,
  origin          TEXT NOT NULL CHECK (origin IN ('llm', 'tune', 'human', 'replay', 'seed')),
  source          TEXT NOT NULL,                -- the whole .cu file, launch plan included
  source_hash     TEXT NOT NULL,
  plan            TEXT CHECK (plan IS NULL OR json_valid(plan)),   -- NULL if unparseable
  defines         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(defines)),
  created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX candidates_by_task ON candidates (task_id);
CREATE INDEX candidates_by_run ON candidates (run_id);

CREATE TABLE evaluations (
  id              INTEGER PRIMARY KEY,
  candidate_id    INTEGER NOT NULL REFERENCES candidates (id),
  run_id          INTEGER REFERENCES runs (id),
  verdict         TEXT NOT NULL CHECK (verdict IN ('compile_error', 'plan_error', 'launch_error',
                    'runtime_error', 'timeout', 'incorrect', 'suspicious', 'correct', 'compiled')),
  reason          TEXT,                         -- short cause: 'mismatch', 'time limit', ...
  evidence        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(evidence)),
  arch            TEXT,                         -- 'sm_90'
  gpu             TEXT,                         -- NULL where nothing ran
  compile         TEXT CHECK (compile IS NULL OR json_valid(compile)),  -- log, resources, time
  stages          TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(stages)), -- name, status, ms
  timing          TEXT CHECK (timing IS NULL OR json_valid(timing)),    -- samples and statistics
  device_time_us  REAL,
  speedup_eager   REAL,
  speedup_compile REAL,
  harness_version INTEGER NOT NULL,
  environment     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(environment)),
  created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX evaluations_by_candidate ON evaluations (candidate_id);
CREATE INDEX evaluations_by_verdict ON evaluations (verdict);

CREATE TABLE baselines (
  id            INTEGER PRIMARY KEY,
  task_id       INTEGER NOT NULL REFERENCES tasks (id),
  shape         TEXT NOT NULL,                  -- 'benchmark' or a check shape's key
  dtype         TEXT NOT NULL,
  gpu           TEXT NOT NULL,
  torch_version TEXT NOT NULL,
  eager_us      REAL,
  compile_us    REAL,
  detail        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (task_id, shape, dtype, gpu, torch_version)
);

CREATE TABLE profiles (
  id            INTEGER PRIMARY KEY,
  evaluation_id INTEGER NOT NULL REFERENCES evaluations (id),
  counters      TEXT NOT NULL CHECK (json_valid(counters)),
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE promotions (
  id            INTEGER PRIMARY KEY,
  candidate_id  INTEGER NOT NULL REFERENCES candidates (id),
  evaluation_id INTEGER REFERENCES evaluations (id),
  task_id       INTEGER NOT NULL REFERENCES tasks (id),
  arch          TEXT,
  library_path  TEXT,                           -- the folder under kernels/
  decision      TEXT NOT NULL CHECK (decision IN ('promoted', 'refused')),
  reason        TEXT NOT NULL,
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Per-GPU measurements reused across runs: copy bandwidth, peak rates.
CREATE TABLE device_measurements (
  gpu         TEXT NOT NULL,
  driver      TEXT NOT NULL,
  name        TEXT NOT NULL,
  value       REAL NOT NULL,
  detail      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
  measured_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (gpu, driver, name)
);
)sql";

// Exported datasets must state the license of every row; a task's PyTorch program carries the
// license of where it came from (KernelBench is MIT, a user's own program is theirs). NULL means
// not recorded; exports then use the license given on their command line.
constexpr std::string_view kVersion2 = R"sql(
ALTER TABLE tasks ADD COLUMN license TEXT;
)sql";

// The version of the evaluation record (harness/evaluation/evaluation_record.hpp) whose parts a
// row's JSON columns hold, written with every evaluation, so a kforge that reads another version
// can refuse the row instead of misreading it. Rows written before this column held version 1
// parts (the record's first JSON form is the shape these columns always had): they get 1 here.
// NULL is never written; a reader takes it for a damaged row.
constexpr std::string_view kVersion3 = R"sql(
ALTER TABLE evaluations ADD COLUMN record_version INTEGER CHECK (record_version >= 1);
UPDATE evaluations SET record_version = 1;
)sql";

// Profiles as the profile stage writes them (issue 14): per evaluation, the status, why
// counters were unavailable, the passes and overhead, and per launch the metric values keyed by
// Nsight Compute name. Version 1's table was never written to, so it is replaced.
constexpr std::string_view kVersion4 = R"sql(
DROP TABLE profiles;
CREATE TABLE profiles (
  id            INTEGER PRIMARY KEY,
  evaluation_id INTEGER NOT NULL REFERENCES evaluations (id),
  status        TEXT NOT NULL CHECK (status IN ('collected', 'unavailable')),
  reason        TEXT NOT NULL DEFAULT '',      -- why unavailable: 'insufficient_privileges', ...
  detail        TEXT NOT NULL DEFAULT '',
  profiler      TEXT NOT NULL DEFAULT 'cupti',
  chip          TEXT NOT NULL DEFAULT '',      -- 'GH100'
  passes        INTEGER NOT NULL DEFAULT 0,
  overhead_ms   REAL NOT NULL DEFAULT 0,
  kernels       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(kernels)),
  created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX profiles_by_evaluation ON profiles (evaluation_id);
)sql";

// Candidates an MCP client sent (`kforge mcp`) have their own origin. SQLite cannot change a CHECK
// constraint in place: the table is rebuilt and renamed over the old one (Store::migrate turns
// foreign keys off around migrations and checks them before committing, so the rows that
// reference candidates keep pointing at the same ids).
constexpr std::string_view kVersion5 = R"sql(
CREATE TABLE candidates_with_mcp (
  id              INTEGER PRIMARY KEY,
  task_id         INTEGER NOT NULL REFERENCES tasks (id),
  run_id          INTEGER REFERENCES runs (id),
  parent_id       INTEGER REFERENCES candidates (id),
  llm_exchange_id INTEGER REFERENCES llm_exchanges (id),
  iteration       INTEGER,
  origin          TEXT NOT NULL
                    CHECK (origin IN ('llm', 'tune', 'human', 'replay', 'seed', 'mcp')),
  source          TEXT NOT NULL,                -- the whole .cu file, launch plan included
  source_hash     TEXT NOT NULL,
  plan            TEXT CHECK (plan IS NULL OR json_valid(plan)),   -- NULL if unparseable
  defines         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(defines)),
  created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO candidates_with_mcp (id, task_id, run_id, parent_id, llm_exchange_id, iteration,
                                 origin, source, source_hash, plan, defines, created_at)
  SELECT id, task_id, run_id, parent_id, llm_exchange_id, iteration, origin, source, source_hash,
         plan, defines, created_at FROM candidates;
DROP TABLE candidates;
ALTER TABLE candidates_with_mcp RENAME TO candidates;
CREATE INDEX candidates_by_task ON candidates (task_id);
CREATE INDEX candidates_by_run ON candidates (run_id);
)sql";

// PostgreSQL changes the CHECK in place (a column CHECK is named <table>_<column>_check there);
// dropping `candidates` would need CASCADE and lose the foreign keys that point at it.
constexpr std::string_view kVersion5Postgres = R"sql(
ALTER TABLE candidates DROP CONSTRAINT candidates_origin_check;
ALTER TABLE candidates ADD CONSTRAINT candidates_origin_check
  CHECK (origin IN ('llm', 'tune', 'human', 'replay', 'seed', 'mcp'));
)sql";

// Which node did what, once several machines share one (PostgreSQL) store: "<host>:<pid>" of
// the kforge process that started a run or stored an evaluation. NULL on rows written before.
constexpr std::string_view kVersion6 = R"sql(
ALTER TABLE runs ADD COLUMN node TEXT;
ALTER TABLE evaluations ADD COLUMN node TEXT;
)sql";

// Nights of `kforge nightly` (harness/nightly/): one row a night, with the process that holds it
// and its heartbeat, and one row per named step with its status and the step's checkpoint, so
// that a night killed at any moment continues where it stopped and nights can be compared.
constexpr std::string_view kVersion7 = R"sql(
CREATE TABLE nights (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,   -- the night's id, as its report files are named
  status       TEXT NOT NULL DEFAULT 'running'
               CHECK (status IN ('running', 'completed', 'budget_reached', 'interrupted',
                                 'failed')),
  environment  TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(environment)),
  config       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(config)),
  report       TEXT CHECK (report IS NULL OR json_valid(report)),
  pid          INTEGER,
  host         TEXT,
  heartbeat_at TEXT,
  started_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  finished_at  TEXT
);

CREATE TABLE night_steps (
  night_id    INTEGER NOT NULL REFERENCES nights (id),
  position    INTEGER NOT NULL,
  name        TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'running'
              CHECK (status IN ('running', 'done', 'skipped', 'failed', 'stopped')),
  seconds     REAL NOT NULL DEFAULT 0,
  detail      TEXT NOT NULL DEFAULT '',
  state       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(state)),
  runs        INTEGER NOT NULL DEFAULT 1,  -- how many processes started this step
  PRIMARY KEY (night_id, name)
);
)sql";

// Leases (datasets/lease_records.hpp): which node works on which task of a run, until when, so
// that several kforge processes share one run (`kforge optimize --join RUN`) and a node that
// dies gives its tasks up when its lease expires. expires_at is the database's clock in seconds
// since 1970; node and expires_at are NULL while the task is free.
constexpr std::string_view kVersion8 = R"sql(
CREATE TABLE leases (
  run_id     INTEGER NOT NULL REFERENCES runs (id),
  task_id    INTEGER NOT NULL REFERENCES tasks (id),
  node       TEXT,
  expires_at REAL,
  claims     INTEGER NOT NULL DEFAULT 0 CHECK (claims >= 0),
  status     TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
  PRIMARY KEY (run_id, task_id)
);
)sql";

// Point leases (datasets/point_lease_records.hpp): which node evaluates which point of a tuning
// run's space, so that several kforge processes share one tuning run (`kforge tune --join RUN`):
// a row per point handed out, held by the node evaluating it until it is told to the strategy
// (done); a node that dies leaves the row open, and once it expires another node takes the point
// over. The primary key makes a point of a run handed out once. expires_at is the database's
// clock in seconds since 1970, NULL while the point is free.
constexpr std::string_view kVersion9 = R"sql(
CREATE TABLE point_leases (
  run_id     INTEGER NOT NULL REFERENCES runs (id),
  point      INTEGER NOT NULL CHECK (point >= 0),
  node       TEXT,
  expires_at REAL,
  claims     INTEGER NOT NULL DEFAULT 0 CHECK (claims >= 0),
  status     TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
  PRIMARY KEY (run_id, point)
);
)sql";

// Slot leases (datasets/slot_lease_records.hpp): which node evaluates which candidate slot of a
// replay run (every replay item of every task of the run, numbered), so that the nodes sharing
// the run (`kforge optimize --join RUN`) share a task's candidates too and a run with fewer tasks
// than GPUs keeps them all busy. A row per slot, added free when the run starts, naming the task
// and the item (candidates.iteration) it stands for; claimed, renewed and released as the task
// leases are. expires_at is the database's clock in seconds since 1970, NULL while the slot is
// free.
constexpr std::string_view kVersion10 = R"sql(
CREATE TABLE slot_leases (
  run_id     INTEGER NOT NULL REFERENCES runs (id),
  slot       INTEGER NOT NULL CHECK (slot >= 0),
  task_id    INTEGER NOT NULL REFERENCES tasks (id),
  item       INTEGER NOT NULL CHECK (item >= 0),
  node       TEXT,
  expires_at REAL,
  claims     INTEGER NOT NULL DEFAULT 0 CHECK (claims >= 0),
  status     TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
  PRIMARY KEY (run_id, slot),
  UNIQUE (run_id, task_id, item)
);
)sql";

constexpr std::array<Migration, 10> kMigrations = {{
    {1, "tasks, runs, candidates, LLM exchanges, evaluations, baselines, profiles, promotions",
     kVersion1},
    {2, "tasks.license, for dataset exports", kVersion2},
    {3, "evaluations.record_version, the evaluation record version of a row", kVersion3},
    {4, "profiles: status, reason, passes, overhead and per-launch counters", kVersion4},
    {5, "candidates.origin allows 'mcp'", kVersion5, kVersion5Postgres},
    {6, "runs.node and evaluations.node, the host and process that wrote them", kVersion6},
    {7, "nights and night_steps, the nightly runs and their steps", kVersion7},
    {8, "leases, the nodes working on a run's tasks", kVersion8},
    {9, "point_leases, the nodes evaluating a tuning run's points", kVersion9},
    {10, "slot_leases, the nodes evaluating a replay run's candidate slots", kVersion10},
}};

}  // namespace

std::span<const Migration> migrations() {
  return kMigrations;
}

}  // namespace kforge

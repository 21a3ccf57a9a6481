// Runs and their per-task checkpoints through run_records, on a real store file.
#include "datasets/run_records.hpp"

#include <gtest/gtest.h>

#include "datasets/records.hpp"
#include "datasets/task_records.hpp"
#include "harness/util/error.hpp"
#include "tests/support/store_backends.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

int64_t add_task(Store& store, const std::string& name) {
  TaskRow task{.name = name, .suite = "kb", .source = "source", .source_hash = "h " + name};
  insert_task_version(store, task);
  return task.id;
}

int64_t add_candidate(Store& store, int64_t task_id, int64_t run_id,
                      std::optional<int64_t> iteration = std::nullopt) {
  return insert_candidate(store, {.task_id = task_id,
                                  .run_id = run_id,
                                  .iteration = iteration,
                                  .origin = "replay",
                                  .source = "s",
                                  .source_hash = "h"});
}

// Each test runs on a SQLite file and on PostgreSQL (tests/support/store_backends.hpp).
class RunRecords : public testing::OnEachBackend {};
KFORGE_ON_EACH_BACKEND(RunRecords);

TEST_P(RunRecords, RunsAreFinishedReopenedAndListedNewestFirst) {
  auto store = open_store();
  int64_t first = insert_run(*store, {.kind = "eval", .agent = "replay"});
  int64_t second = insert_run(*store, {.kind = "optimize", .request = {{"tasks", {"kb/a"}}}});

  finish_run(*store, second, RunStatus::kInterrupted, {{"error", "disk full"}});
  std::optional<RunRow> interrupted = find_run(*store, second);
  ASSERT_TRUE(interrupted);
  EXPECT_EQ(interrupted->status, RunStatus::kInterrupted);
  EXPECT_EQ(interrupted->summary->at("error"), "disk full");
  EXPECT_FALSE(interrupted->finished_at.empty());

  reopen_run(*store, second);
  std::optional<RunRow> resumed = find_run(*store, second);
  EXPECT_EQ(resumed->status, RunStatus::kRunning);
  EXPECT_TRUE(resumed->finished_at.empty());
  EXPECT_EQ(resumed->request.at("tasks")[0], "kb/a");
  EXPECT_EQ(resumed->summary->at("error"), "disk full");  // only status and finish time change

  std::vector<RunRow> runs = list_runs(*store, 10);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].id, second);
  EXPECT_EQ(runs[1].id, first);
  EXPECT_EQ(runs[1].agent, "replay");
  EXPECT_EQ(list_runs(*store, 1).size(), 1u);
  EXPECT_FALSE(find_run(*store, 99));
}

constexpr RunStatus kEveryRunStatus[] = {RunStatus::kRunning, RunStatus::kCompleted,
                                         RunStatus::kFailed, RunStatus::kInterrupted};

// The names are the text the runs table's CHECK allows and the store holds today.
TEST(RunStatusNames, EveryStatusRoundTripsThroughItsName) {
  EXPECT_EQ(run_status_name(RunStatus::kRunning), "running");
  EXPECT_EQ(run_status_name(RunStatus::kCompleted), "completed");
  EXPECT_EQ(run_status_name(RunStatus::kFailed), "failed");
  EXPECT_EQ(run_status_name(RunStatus::kInterrupted), "interrupted");
  for (RunStatus status : kEveryRunStatus) {
    EXPECT_EQ(run_status_named(run_status_name(status)), status);
    EXPECT_EQ(run_status_from_name(run_status_name(status), "here"), status);
  }
}

TEST(RunStatusNames, AnUnknownNameIsRefusedNamingItAndWhere) {
  EXPECT_FALSE(run_status_named("exhausted"));
  EXPECT_FALSE(run_status_named("Running"));
  EXPECT_FALSE(run_status_named(""));
  try {
    run_status_from_name("exhausted", "runs row 7");
    FAIL() << "an unknown run status was read";
  } catch (const Error& error) {
    EXPECT_EQ(error.message(),
              "unknown run status 'exhausted' (one of: running, completed, failed, interrupted)");
    EXPECT_EQ(error.where(), "runs row 7");
  }
}

// Every status the enum has is one the tables' CHECK takes, for a run and for a run's task.
TEST_P(RunRecords, EveryRunStatusIsStoredAndReadBack) {
  auto store = open_store();
  int64_t task = add_task(*store, "kb/a");
  for (RunStatus status : kEveryRunStatus) {
    int64_t run = insert_run(*store, {.kind = "optimize", .status = status});
    EXPECT_EQ(find_run(*store, run)->status, status) << run_status_name(status);
    finish_run(*store, run, status, {{"why", "test"}});
    EXPECT_EQ(find_run(*store, run)->status, status) << run_status_name(status);
    store_run_task(*store, {.run_id = run, .task_id = task, .status = status});
    EXPECT_EQ(find_run_task(*store, run, task)->status, status) << run_status_name(status);
    ASSERT_EQ(run_tasks_of(*store, run).size(), 1u);
    EXPECT_EQ(run_tasks_of(*store, run)[0].status, status) << run_status_name(status);
  }
}

TEST_P(RunRecords, RunTaskStateIsStoredAndReplaced) {
  auto store = open_store();
  int64_t task = add_task(*store, "kb/a");
  int64_t run = insert_run(*store, {.kind = "optimize"});
  EXPECT_FALSE(find_run_task(*store, run, task));

  store_run_task(*store, {.run_id = run, .task_id = task, .state = {{"done", 1}}});
  store_run_task(
      *store,
      {.run_id = run, .task_id = task, .state = {{"done", 2}}, .status = RunStatus::kCompleted});
  std::optional<RunTaskRow> row = find_run_task(*store, run, task);
  ASSERT_TRUE(row);
  EXPECT_EQ(row->state, nlohmann::json({{"done", 2}}));
  EXPECT_EQ(row->status, RunStatus::kCompleted);
  EXPECT_FALSE(find_run_task(*store, run + 1, task));

  EXPECT_THROW(store_run_task(*store, {.run_id = run + 1, .task_id = task}), Error);  // no run
  EXPECT_EQ(find_run_task(*store, run, task)->status, RunStatus::kCompleted);
}

TEST_P(RunRecords, CandidatesOfARun) {
  auto store = open_store();
  int64_t a = add_task(*store, "kb/a");
  int64_t b = add_task(*store, "kb/b");
  int64_t run = insert_run(*store, {.kind = "optimize"});
  int64_t other = insert_run(*store, {.kind = "optimize"});
  int64_t first = add_candidate(*store, a, run, 0);
  int64_t second = add_candidate(*store, a, run);
  int64_t third = add_candidate(*store, b, run, 0);
  int64_t again = add_candidate(*store, a, run, 0);
  add_candidate(*store, a, other, 1);

  EXPECT_EQ(candidate_ids_of_run(*store, run), (std::vector<int64_t>{first, second, third, again}));
  EXPECT_EQ(count_candidates_of_run(*store, run), 4);
  EXPECT_EQ(count_candidates_of_run(*store, 99), 0);
  EXPECT_TRUE(candidate_ids_of_run(*store, 99).empty());
  // Only candidates with an iteration, of this task and run; the latest per iteration.
  EXPECT_EQ(candidate_ids_by_iteration(*store, run, a), (std::map<int64_t, int64_t>{{0, again}}));
  EXPECT_EQ(candidate_ids_by_iteration(*store, run, b), (std::map<int64_t, int64_t>{{0, third}}));
}

}  // namespace
}  // namespace kforge

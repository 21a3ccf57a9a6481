#include "datasets/records.hpp"

#include <gtest/gtest.h>

#include "harness/util/error.hpp"
#include "tests/support/store_backends.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

int64_t add_task(const Store& store) {
  store.db().execute(
      "INSERT INTO tasks (name, suite, version, source, source_hash) "
      "VALUES ('builtin/relu', 'builtin', 1, 'src', 'h')");
  return store.db().last_insert_id();
}

// Each test runs on a SQLite file and on PostgreSQL (tests/support/store_backends.hpp).
class Records : public testing::OnEachBackend {};
KFORGE_ON_EACH_BACKEND(Records);

TEST_P(Records, RunCandidateAndEvaluationRoundTrip) {
  auto store = open_store();
  int64_t task = add_task(*store);
  RunRow run{.kind = "eval", .request = {{"file", "k.cu"}}};
  int64_t run_id = insert_run(*store, run);
  CandidateRow candidate{.task_id = task,
                         .run_id = run_id,
                         .origin = "human",
                         .source = "extern \"C\" __global__ void k() {}",
                         .source_hash = "abc",
                         .plan = nlohmann::json{{"kernels", nlohmann::json::array()}}};
  int64_t candidate_id = insert_candidate(*store, candidate);
  EvaluationRow evaluation{.candidate_id = candidate_id,
                           .run_id = run_id,
                           .verdict = "compiled",
                           .evidence = {{"note", "nothing ran"}},
                           .arch = "sm_90",
                           .compile = nlohmann::json{{"ms", 12.5}},
                           .harness_version = 5};
  insert_evaluation(*store, evaluation);
  finish_run(*store, run_id, RunStatus::kCompleted, {{"candidates", 1}});

  auto found = find_candidate(*store, candidate_id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->origin, "human");
  EXPECT_EQ(found->plan->at("kernels").size(), 0u);
  auto evaluations = evaluations_of(*store, candidate_id);
  ASSERT_EQ(evaluations.size(), 1u);
  EXPECT_EQ(evaluations[0].verdict, "compiled");
  EXPECT_EQ(evaluations[0].compile->at("ms"), 12.5);
  EXPECT_FALSE(evaluations[0].gpu.has_value());
  EXPECT_EQ(evaluations[0].harness_version, 5);
  auto finished = find_run(*store, run_id);
  ASSERT_TRUE(finished);
  EXPECT_EQ(finished->status, RunStatus::kCompleted);
  EXPECT_FALSE(finished->finished_at.empty());
}

TEST_P(Records, RejectsUnknownVerdictAndOrigin) {
  auto store = open_store();
  int64_t task = add_task(*store);
  CandidateRow candidate{.task_id = task, .origin = "magic", .source = "s", .source_hash = "h"};
  EXPECT_THROW(insert_candidate(*store, candidate), Error);
  candidate.origin = "human";
  int64_t id = insert_candidate(*store, candidate);
  EvaluationRow evaluation{.candidate_id = id, .verdict = "great", .harness_version = 1};
  EXPECT_THROW(insert_evaluation(*store, evaluation), Error);
}

}  // namespace
}  // namespace kforge

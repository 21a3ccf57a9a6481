// The profiles table: a profile belongs to an evaluation, says collected or unavailable, and
// keeps its per-launch counters as JSON. (Profiles as the evaluator writes them, through the
// emulated worker: run_stage_test.cpp.)
#include "datasets/profile_records.hpp"

#include <gtest/gtest.h>

#include "datasets/records.hpp"
#include "harness/util/error.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

int64_t add_evaluation(Store& store) {
  store.db().execute(
      "INSERT INTO tasks (name, suite, version, source, source_hash) "
      "VALUES ('builtin/relu', 'builtin', 1, 'src', 'h')");
  int64_t task = store.db().last_insert_id();
  int64_t candidate = insert_candidate(
      store, {.task_id = task, .origin = "human", .source = "s", .source_hash = "h"});
  return insert_evaluation(store, {.candidate_id = candidate, .verdict = "correct"});
}

TEST(ProfileRecords, CollectedAndUnavailableProfilesRoundTrip) {
  testing::TemporaryDirectory dir;
  auto store = Store::open(dir / "kforge.db");
  int64_t evaluation = add_evaluation(*store);
  nlohmann::json kernels = nlohmann::json::array(
      {{{"launch", 0}, {"kernel", "k"}, {"metrics", {{"dram__bytes_read.sum", 1024.0}}}}});
  insert_profile(*store, {.evaluation_id = evaluation,
                          .status = "collected",
                          .chip = "GH100",
                          .passes = 12,
                          .overhead_ms = 40.5,
                          .kernels = kernels});
  insert_profile(*store, {.evaluation_id = evaluation,
                          .status = "unavailable",
                          .reason = "insufficient_privileges",
                          .detail = "CUPTI_ERROR_INSUFFICIENT_PRIVILEGES"});
  auto rows = profiles_of(*store, evaluation);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].status, "collected");
  EXPECT_EQ(rows[0].chip, "GH100");
  EXPECT_EQ(rows[0].passes, 12);
  EXPECT_DOUBLE_EQ(rows[0].overhead_ms, 40.5);
  EXPECT_EQ(rows[0].kernels, kernels);
  EXPECT_FALSE(rows[0].created_at.empty());
  EXPECT_EQ(rows[1].reason, "insufficient_privileges");
  EXPECT_TRUE(rows[1].kernels.empty());
  EXPECT_TRUE(profiles_of(*store, evaluation + 1).empty());
}

TEST(ProfileRecords, RefusesAnUnknownStatusAndAMissingEvaluation) {
  testing::TemporaryDirectory dir;
  auto store = Store::open(dir / "kforge.db");
  int64_t evaluation = add_evaluation(*store);
  EXPECT_THROW(insert_profile(*store, {.evaluation_id = evaluation, .status = "partial"}), Error);
  EXPECT_THROW(insert_profile(*store, {.evaluation_id = evaluation + 7, .status = "collected"}),
               Error);
  EXPECT_TRUE(profiles_of(*store, evaluation).empty());
}

}  // namespace
}  // namespace kforge

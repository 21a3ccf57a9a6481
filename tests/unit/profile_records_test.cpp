// The profiles table: a profile belongs to an evaluation, says collected or unavailable, and
// keeps its per-launch counters as JSON. (Profiles as the evaluator writes them, through the
// emulated worker: run_stage_test.cpp.)
#include "datasets/profile_records.hpp"

#include <gtest/gtest.h>

#include <iterator>
#include <utility>

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
                          .status = ProfileStatus::kCollected,
                          .chip = "GH100",
                          .passes = 12,
                          .overhead_ms = 40.5,
                          .kernels = kernels});
  insert_profile(*store, {.evaluation_id = evaluation,
                          .status = ProfileStatus::kUnavailable,
                          .reason = ProfileUnavailableReason::kInsufficientPrivileges,
                          .detail = "CUPTI_ERROR_INSUFFICIENT_PRIVILEGES"});
  auto rows = profiles_of(*store, evaluation);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].status, ProfileStatus::kCollected);
  EXPECT_EQ(rows[0].reason, std::nullopt);
  EXPECT_EQ(rows[0].chip, "GH100");
  EXPECT_EQ(rows[0].passes, 12);
  EXPECT_DOUBLE_EQ(rows[0].overhead_ms, 40.5);
  EXPECT_EQ(rows[0].kernels, kernels);
  EXPECT_FALSE(rows[0].created_at.empty());
  EXPECT_EQ(rows[1].status, ProfileStatus::kUnavailable);
  EXPECT_EQ(rows[1].reason, ProfileUnavailableReason::kInsufficientPrivileges);
  // The text stored is the names, as before the enums: "" for no reason.
  auto stored = store->db().prepare("SELECT status, reason FROM profiles ORDER BY id");
  ASSERT_TRUE(stored.step());
  EXPECT_EQ(stored.text(0), "collected");
  EXPECT_EQ(stored.text(1), "");
  ASSERT_TRUE(stored.step());
  EXPECT_EQ(stored.text(0), "unavailable");
  EXPECT_EQ(stored.text(1), "insufficient_privileges");
  EXPECT_TRUE(rows[1].kernels.empty());
  EXPECT_TRUE(profiles_of(*store, evaluation + 1).empty());
}

TEST(ProfileRecords, RefusesAMissingEvaluation) {
  testing::TemporaryDirectory dir;
  auto store = Store::open(dir / "kforge.db");
  int64_t evaluation = add_evaluation(*store);
  EXPECT_THROW(insert_profile(
                   *store, {.evaluation_id = evaluation + 7, .status = ProfileStatus::kCollected}),
               Error);
  EXPECT_TRUE(profiles_of(*store, evaluation).empty());
}

// Every reason is stored as its name and read back; a reason no kforge writes (the column has no
// CHECK) is an Error naming it and the row.
TEST(ProfileRecords, EveryReasonRoundTripsAndAnUnknownOneIsRefused) {
  testing::TemporaryDirectory dir;
  auto store = Store::open(dir / "kforge.db");
  int64_t evaluation = add_evaluation(*store);
  const ProfileUnavailableReason reasons[] = {ProfileUnavailableReason::kInsufficientPrivileges,
                                              ProfileUnavailableReason::kVirtualizedGpu,
                                              ProfileUnavailableReason::kMig,
                                              ProfileUnavailableReason::kNotSupported,
                                              ProfileUnavailableReason::kLibraryMissing,
                                              ProfileUnavailableReason::kUnsupportedChip,
                                              ProfileUnavailableReason::kProfilerError,
                                              ProfileUnavailableReason::kWorkerFailure,
                                              ProfileUnavailableReason::kNcuMissing};
  for (ProfileUnavailableReason reason : reasons)
    insert_profile(
        *store,
        {.evaluation_id = evaluation, .status = ProfileStatus::kUnavailable, .reason = reason});
  std::vector<ProfileRow> rows = profiles_of(*store, evaluation);
  ASSERT_EQ(rows.size(), std::size(reasons));
  for (size_t i = 0; i < rows.size(); ++i)
    EXPECT_EQ(rows[i].reason, reasons[i]) << profile_unavailable_reason_name(reasons[i]);

  store->db().execute("UPDATE profiles SET reason = 'gremlins' WHERE id = " +
                      std::to_string(rows[0].id));
  try {
    profiles_of(*store, evaluation);
    FAIL() << "a profile of an unknown reason was read";
  } catch (const Error& error) {
    EXPECT_EQ(error.message(), "unknown reason a profile is unavailable 'gremlins'");
    EXPECT_EQ(error.where(), "profiles row " + std::to_string(rows[0].id));
  }
}

TEST(ProfileStatusNames, EveryValueRoundTripsThroughItsName) {
  EXPECT_EQ(profile_status_name(ProfileStatus::kCollected), "collected");
  EXPECT_EQ(profile_status_name(ProfileStatus::kUnavailable), "unavailable");
  for (ProfileStatus status : {ProfileStatus::kCollected, ProfileStatus::kUnavailable})
    EXPECT_EQ(profile_status_named(profile_status_name(status)), status);
  EXPECT_FALSE(profile_status_named("partial"));
  EXPECT_THROW(profile_status_from_column("partial", "profiles row 1"), Error);
  const std::pair<ProfileUnavailableReason, const char*> reasons[] = {
      {ProfileUnavailableReason::kInsufficientPrivileges, "insufficient_privileges"},
      {ProfileUnavailableReason::kVirtualizedGpu, "virtualized_gpu"},
      {ProfileUnavailableReason::kMig, "mig"},
      {ProfileUnavailableReason::kNotSupported, "not_supported"},
      {ProfileUnavailableReason::kLibraryMissing, "library_missing"},
      {ProfileUnavailableReason::kUnsupportedChip, "unsupported_chip"},
      {ProfileUnavailableReason::kProfilerError, "profiler_error"},
      {ProfileUnavailableReason::kWorkerFailure, "worker_failure"},
      {ProfileUnavailableReason::kNcuMissing, "ncu_missing"},
  };
  for (const auto& [reason, name] : reasons) {
    EXPECT_EQ(profile_unavailable_reason_name(reason), name);
    EXPECT_EQ(profile_unavailable_reason_named(name), reason) << name;
  }
  EXPECT_FALSE(profile_unavailable_reason_named("gremlins"));
  EXPECT_FALSE(profile_unavailable_reason_named(""));
}

}  // namespace
}  // namespace kforge

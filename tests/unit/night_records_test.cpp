#include "datasets/night_records.hpp"

#include <gtest/gtest.h>

#include <iterator>

#include "harness/util/error.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

TEST(NightRecords, NightsAndStepsRoundTripAndAKilledNightIsFound) {
  testing::TemporaryDirectory dir;
  auto store = Store::open(dir / "kforge.db");
  EXPECT_FALSE(find_unfinished_night(*store));
  const int64_t first = insert_night(*store, {.name = "n1", .pid = 11, .host = "h"});
  store_night_step(
      *store,
      {.night_id = first, .position = 0, .name = "reverify", .state = {{"kernels", {{"a", 1}}}}});
  ASSERT_TRUE(find_unfinished_night(*store));
  EXPECT_EQ(find_unfinished_night(*store)->name, "n1");
  EXPECT_EQ(*find_unfinished_night(*store)->pid, 11);

  NightStepRow step = *find_night_step(*store, first, "reverify");
  EXPECT_EQ(step.status, NightStepStatus::kRunning);
  EXPECT_EQ(step.state["kernels"]["a"], 1);
  step.status = NightStepStatus::kDone;
  step.runs = 2;
  step.detail = "2 kernels";
  store_night_step(*store, step);
  store_night_step(
      *store,
      {.night_id = first, .position = 1, .name = "tune", .status = NightStepStatus::kSkipped});
  const std::vector<NightStepRow> steps = night_steps_of(*store, first);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].runs, 2);
  EXPECT_EQ(steps[0].detail, "2 kernels");
  EXPECT_EQ(steps[1].status, NightStepStatus::kSkipped);

  update_night_environment(*store, first, {{"gpu", "g"}});
  finish_night(*store, first, NightStatus::kCompleted, {{"night", "n1"}});
  EXPECT_FALSE(find_unfinished_night(*store));
  const int64_t second = insert_night(*store, {.name = "n2"});
  const std::vector<NightRow> earlier = list_finished_nights(*store, second);
  ASSERT_EQ(earlier.size(), 1u);
  EXPECT_EQ(earlier[0].environment["gpu"], "g");
  EXPECT_EQ((*earlier[0].report)["night"], "n1");
  EXPECT_FALSE(earlier[0].finished_at.empty());
  EXPECT_TRUE(list_finished_nights(*store, first).empty());

  // An interrupted night (a signal) is continued too.
  finish_night(*store, second, NightStatus::kInterrupted, {});
  EXPECT_EQ(find_unfinished_night(*store)->name, "n2");
  EXPECT_EQ(find_unfinished_night(*store)->status, NightStatus::kInterrupted);
  EXPECT_EQ(store->integrity_check(), "ok");
}

constexpr NightStatus kEveryNightStatus[] = {NightStatus::kRunning, NightStatus::kCompleted,
                                             NightStatus::kBudgetReached, NightStatus::kInterrupted,
                                             NightStatus::kFailed};
constexpr NightStepStatus kEveryStepStatus[] = {NightStepStatus::kRunning, NightStepStatus::kDone,
                                                NightStepStatus::kSkipped, NightStepStatus::kFailed,
                                                NightStepStatus::kStopped};

TEST(NightRecords, EveryStatusRoundTripsThroughItsName) {
  const char* const night_names[] = {"running", "completed", "budget_reached", "interrupted",
                                     "failed"};
  for (size_t i = 0; i < std::size(kEveryNightStatus); ++i) {
    EXPECT_EQ(night_status_name(kEveryNightStatus[i]), night_names[i]);
    EXPECT_EQ(night_status_named(night_names[i]), kEveryNightStatus[i]);
    EXPECT_EQ(night_status_from_name(night_names[i], "here"), kEveryNightStatus[i]);
  }
  const char* const step_names[] = {"running", "done", "skipped", "failed", "stopped"};
  for (size_t i = 0; i < std::size(kEveryStepStatus); ++i) {
    EXPECT_EQ(night_step_status_name(kEveryStepStatus[i]), step_names[i]);
    EXPECT_EQ(night_step_status_named(step_names[i]), kEveryStepStatus[i]);
    EXPECT_EQ(night_step_status_from_name(step_names[i], "here"), kEveryStepStatus[i]);
  }
}

TEST(NightRecords, AnUnknownStatusIsRefusedNamingItAndWhere) {
  EXPECT_FALSE(night_status_named("done"));  // a step's status, not a night's
  EXPECT_FALSE(night_step_status_named("completed"));
  try {
    night_status_from_name("paused", "nights row n1");
    FAIL() << "an unknown night status was read";
  } catch (const Error& error) {
    EXPECT_EQ(error.message(),
              "unknown night status 'paused' (one of: running, completed, budget_reached, "
              "interrupted, failed)");
    EXPECT_EQ(error.where(), "nights row n1");
  }
  try {
    night_step_status_from_name("maybe", "night_steps row x");
    FAIL() << "an unknown step status was read";
  } catch (const Error& error) {
    EXPECT_EQ(error.message(),
              "unknown night step status 'maybe' (one of: running, done, skipped, failed, "
              "stopped)");
    EXPECT_EQ(error.where(), "night_steps row x");
  }
}

// Every status the enums have is one the tables' CHECK takes.
TEST(NightRecords, EveryStatusIsStoredAndReadBack) {
  testing::TemporaryDirectory dir;
  auto store = Store::open(dir / "kforge.db");
  for (NightStatus status : kEveryNightStatus) {
    const std::string name = "night " + std::string(night_status_name(status));
    const int64_t night = insert_night(*store, {.name = name, .status = status});
    EXPECT_EQ(find_night(*store, name)->status, status) << name;
    finish_night(*store, night, status, {});
    EXPECT_EQ(find_night(*store, name)->status, status) << name;
    for (NightStepStatus step : kEveryStepStatus) {
      const std::string step_name(night_step_status_name(step));
      store_night_step(*store, {.night_id = night, .name = step_name, .status = step});
      EXPECT_EQ(find_night_step(*store, night, step_name)->status, step) << step_name;
    }
  }
}

}  // namespace
}  // namespace kforge

#include "datasets/night_records.hpp"

#include <gtest/gtest.h>

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
  EXPECT_EQ(step.status, "running");
  EXPECT_EQ(step.state["kernels"]["a"], 1);
  step.status = "done";
  step.runs = 2;
  step.detail = "2 kernels";
  store_night_step(*store, step);
  store_night_step(*store, {.night_id = first, .position = 1, .name = "tune", .status = "skipped"});
  const std::vector<NightStepRow> steps = night_steps_of(*store, first);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].runs, 2);
  EXPECT_EQ(steps[0].detail, "2 kernels");
  EXPECT_EQ(steps[1].status, "skipped");

  update_night_environment(*store, first, {{"gpu", "g"}});
  finish_night(*store, first, "completed", {{"night", "n1"}});
  EXPECT_FALSE(find_unfinished_night(*store));
  const int64_t second = insert_night(*store, {.name = "n2"});
  const std::vector<NightRow> earlier = list_finished_nights(*store, second);
  ASSERT_EQ(earlier.size(), 1u);
  EXPECT_EQ(earlier[0].environment["gpu"], "g");
  EXPECT_EQ((*earlier[0].report)["night"], "n1");
  EXPECT_FALSE(earlier[0].finished_at.empty());
  EXPECT_TRUE(list_finished_nights(*store, first).empty());

  // An interrupted night (a signal) is continued too; the step's CHECK refuses nonsense.
  finish_night(*store, second, "interrupted", {});
  EXPECT_EQ(find_unfinished_night(*store)->name, "n2");
  EXPECT_ANY_THROW(store_night_step(*store, {.night_id = second, .name = "x", .status = "maybe"}));
  EXPECT_EQ(store->integrity_check(), "ok");
}

}  // namespace
}  // namespace kforge

// The slot_leases table (datasets/slot_lease_records.hpp) on both backends: the slots of a replay
// run are added free once, name their task and item, and are claimed in slot order through the
// one lease implementation (kSlotLeases), each once, by whichever node; a task's open slots are
// counted; the same task and item cannot stand for two slots of a run.
#include "datasets/slot_lease_records.hpp"

#include <gtest/gtest.h>

#include <set>

#include "datasets/run_records.hpp"
#include "datasets/task_records.hpp"
#include "harness/util/error.hpp"
#include "tests/support/store_backends.hpp"

namespace kforge {
namespace {

class SlotLeaseRecordsTest : public testing::OnEachBackend {
 protected:
  // A run of two tasks, of three and two replay items: five slots.
  void SetUp() override {
    OnEachBackend::SetUp();
    if (IsSkipped())
      return;
    store_ = open_store();
    other_ = open_store(false);
    for (int i = 0; i < 2; ++i) {
      TaskRow task{.name = "slots/t" + std::to_string(i),
                   .suite = "slots",
                   .source = "x = " + std::to_string(i),
                   .source_hash = "hash" + std::to_string(i)};
      insert_task_version(*store_, task);
      tasks_.push_back(task.id);
    }
    run_id_ = insert_run(*store_, {.kind = "optimize"});
    for (int item = 0; item < 3; ++item)
      slots_.push_back({.slot = item, .task_id = tasks_[0], .item = item});
    for (int item = 0; item < 2; ++item)
      slots_.push_back({.slot = 3 + item, .task_id = tasks_[1], .item = item});
  }

  std::unique_ptr<Store> store_;
  std::unique_ptr<Store> other_;  // another node's connection
  std::vector<int64_t> tasks_;
  std::vector<SlotRow> slots_;
  int64_t run_id_ = 0;
};
KFORGE_ON_EACH_BACKEND(SlotLeaseRecordsTest);

TEST_P(SlotLeaseRecordsTest, SlotsAreAddedOnceAndNameTheirTaskAndItem) {
  EXPECT_TRUE(slots_of(*store_, run_id_).empty());
  add_slot_leases(*store_, run_id_, slots_);
  add_slot_leases(*other_, run_id_, slots_);  // a second add keeps the rows as they are
  const std::vector<SlotRow> stored = slots_of(*other_, run_id_);
  ASSERT_EQ(stored.size(), slots_.size());
  for (size_t index = 0; index < slots_.size(); ++index) {
    EXPECT_EQ(stored[index].slot, slots_[index].slot);
    EXPECT_EQ(stored[index].task_id, slots_[index].task_id);
    EXPECT_EQ(stored[index].item, slots_[index].item);
  }
  EXPECT_EQ(kSlotLeases.count_open(*store_, run_id_), 5);
  // Another run's slots are its own.
  const int64_t other_run = insert_run(*store_, {.kind = "optimize"});
  EXPECT_TRUE(slots_of(*store_, other_run).empty());
  EXPECT_EQ(kSlotLeases.count_open(*store_, other_run), 0);
}

TEST_P(SlotLeaseRecordsTest, NodesClaimEachSlotOnceInSlotOrderAcrossTasks) {
  add_slot_leases(*store_, run_id_, slots_);
  std::set<int64_t> claimed;
  for (int round = 0; round < 5; ++round) {
    Store& by = round % 2 == 0 ? *store_ : *other_;
    std::optional<ClaimedLease> claim =
        kSlotLeases.claim(by, run_id_, round % 2 == 0 ? "a:1" : "b:2", 60);
    ASSERT_TRUE(claim);
    EXPECT_EQ(claim->item, round);  // the slots of one task go to both nodes
    EXPECT_TRUE(claimed.insert(claim->item).second);
  }
  EXPECT_FALSE(kSlotLeases.claim(*store_, run_id_, "a:1", 60));
  // Released done, one by one, the open slots count down; a node releases only its own.
  for (int64_t slot : {0, 2})
    EXPECT_TRUE(kSlotLeases.release(*store_, run_id_, slot, "a:1", LeaseStatus::kDone));
  EXPECT_EQ(kSlotLeases.count_open(*store_, run_id_), 3);
  EXPECT_FALSE(kSlotLeases.release(*store_, run_id_, 1, "a:1", LeaseStatus::kDone));  // b's
  EXPECT_TRUE(kSlotLeases.holds(*other_, run_id_, 1, "b:2", 1));
  EXPECT_TRUE(kSlotLeases.release(*other_, run_id_, 1, "b:2", LeaseStatus::kDone));
  EXPECT_EQ(kSlotLeases.count_open(*store_, run_id_), 2);
}

TEST_P(SlotLeaseRecordsTest, ATaskAndItemStandForOneSlotOfARun) {
  add_slot_leases(*store_, run_id_, slots_);
  EXPECT_THROW(add_slot_leases(*store_, run_id_, {{.slot = 9, .task_id = tasks_[0], .item = 1}}),
               Error);
  EXPECT_EQ(slots_of(*store_, run_id_).size(), slots_.size());
}

}  // namespace
}  // namespace kforge

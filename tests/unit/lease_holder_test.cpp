// The leases one node holds in a shared run (harness/optimize/lease_holder.hpp), on both
// backends: the heartbeat keeps a claimed task's lease from being taken over, finds a takeover at
// its next renewal (the task lost and stopped), and stops every held task when the process is
// asked to stop (not lost: given back); the fence of a task's writes lets them through while this
// node's claim is the lease's latest, and once another node has taken the task over refuses them
// with LeaseLost, stores nothing of them, and marks the task lost and stopped; a connection whose
// fence has ended writes as before; a candidate slot's writes are fenced alike.
#include "harness/optimize/lease_holder.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "datasets/lease_records.hpp"
#include "datasets/run_records.hpp"
#include "datasets/slot_lease_records.hpp"
#include "datasets/task_records.hpp"
#include "tests/support/store_backends.hpp"

namespace kforge {
namespace {

class LeaseHolderTest : public testing::OnEachBackend {
 protected:
  void SetUp() override {
    OnEachBackend::SetUp();
    if (IsSkipped())
      return;
    store_ = open_store();
    other_ = open_store(false);
    TaskRow task{
        .name = "task_leases/t", .suite = "task_leases", .source = "x = 1", .source_hash = "hash"};
    insert_task_version(*store_, task);
    task_id_ = task.id;
    run_id_ = insert_run(*store_, {.kind = "optimize"});
    add_leases(*store_, run_id_, {task_id_});
  }

  // Writes the task's checkpoint, `step`, in one transaction of `store`.
  void write_step(Store& store, int step) {
    Store::Transaction transaction(store);
    store_run_task(store, {.run_id = run_id_,
                           .task_id = task_id_,
                           .state = {{"step", step}},
                           .status = RunStatus::kRunning});
    transaction.commit();
  }
  int stored_step() const {
    std::optional<RunTaskRow> row = find_run_task(*other_, run_id_, task_id_);
    return row ? row->state["step"].get<int>() : -1;
  }

  std::unique_ptr<Store> store_;
  std::unique_ptr<Store> other_;  // another node's connection
  int64_t task_id_ = 0;
  int64_t run_id_ = 0;
  std::atomic<bool> stop_{false};
};
KFORGE_ON_EACH_BACKEND(LeaseHolderTest);

TEST_P(LeaseHolderTest, TheHeartbeatKeepsAClaimedTasksLease) {
  LeaseHolder leases(kTaskLeases, open_store(false), run_id_, "a:1", 0.6, stop_);
  std::optional<ClaimedLease> claim = leases.claim(*store_);
  ASSERT_TRUE(claim);
  EXPECT_EQ(claim->item, task_id_);
  // Five lease times later the lease is still this node's: renewed every third of it.
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  EXPECT_FALSE(claim_next_lease(*other_, run_id_, "b:2", 60));
  EXPECT_FALSE(leases.lost(task_id_));
  EXPECT_FALSE(leases.stop_flag(task_id_)->load());
  {
    Store::FencedWrites fenced(*store_, leases.fence(task_id_));
    write_step(*store_, 1);
  }
  EXPECT_EQ(stored_step(), 1);
  EXPECT_FALSE(leases.others_hold_open_items(*other_));
  EXPECT_TRUE(leases.release(*store_, task_id_, /*done=*/true));
  EXPECT_EQ(count_open_leases(*other_, run_id_), 0);
}

// True once `condition` holds, polled every 20 ms for at most `seconds`.
template <typename Condition>
bool within(double seconds, Condition condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

TEST_P(LeaseHolderTest, TheHeartbeatFindsATakeoverAndStopsTheTask) {
  LeaseHolder leases(kTaskLeases, open_store(false), run_id_, "a:1", 0.6, stop_);
  ASSERT_TRUE(leases.claim(*store_));
  ASSERT_EQ(free_leases(*other_, run_id_), 1);
  ASSERT_TRUE(claim_next_lease(*other_, run_id_, "b:2", 60));
  // Its next renewal (every 0.2 s) is refused: lost and stopped, with no write of the task.
  EXPECT_TRUE(within(5, [&] { return leases.lost(task_id_); }));
  EXPECT_TRUE(leases.stop_flag(task_id_)->load());
  // The new holder's lease stays the new holder's.
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  std::vector<LeaseRow> rows = leases_of(*other_, run_id_);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].node, "b:2");
}

TEST_P(LeaseHolderTest, AStopOfTheProcessStopsEveryHeldTaskWithoutLosingIt) {
  LeaseHolder leases(kTaskLeases, open_store(false), run_id_, "a:1", 60, stop_);
  ASSERT_TRUE(leases.claim(*store_));
  EXPECT_FALSE(leases.stop_flag(task_id_)->load());
  stop_ = true;
  EXPECT_TRUE(within(5, [&] { return leases.stop_flag(task_id_)->load(); }));
  EXPECT_FALSE(leases.lost(task_id_));
  EXPECT_TRUE(leases.release(*store_, task_id_, /*done=*/false));  // still its own: given back
  EXPECT_EQ(count_open_leases(*other_, run_id_), 1);
}

TEST_P(LeaseHolderTest, AfterATakeoverTheFenceRefusesTheTasksWritesAndStopsIt) {
  // A long lease: the heartbeat does not renew during the test, so that what finds the takeover
  // is the fence of the next write, as for a node that wakes from a stall with work in flight.
  LeaseHolder leases(kTaskLeases, open_store(false), run_id_, "a:1", 60, stop_);
  ASSERT_TRUE(leases.claim(*store_));
  {
    Store::FencedWrites fenced(*store_, leases.fence(task_id_));
    write_step(*store_, 1);  // holding the lease: written
    EXPECT_EQ(stored_step(), 1);

    // Another node takes the task over (its lease freed, as `optimize --resume` frees a run's
    // leases, or expired) and writes its own checkpoint.
    ASSERT_EQ(free_leases(*other_, run_id_), 1);
    std::optional<LeaseClaim> taken = claim_next_lease(*other_, run_id_, "b:2", 60);
    ASSERT_TRUE(taken);
    EXPECT_EQ(taken->claims, 2);
    write_step(*other_, 7);

    try {
      write_step(*store_, 2);
      FAIL() << "a write after the takeover was let through";
    } catch (const LeaseLost& refused) {
      EXPECT_EQ(std::string(refused.what()),
                "another node took the task over after this node's lease expired; its writes "
                "are refused (task " +
                    std::to_string(task_id_) + " of run " + std::to_string(run_id_) + ")");
    }
    EXPECT_EQ(stored_step(), 7);  // the new holder's, not overwritten
    EXPECT_TRUE(leases.lost(task_id_));
    EXPECT_TRUE(leases.stop_flag(task_id_)->load());
    // Refused every time, not once.
    EXPECT_THROW(write_step(*store_, 3), LeaseLost);
    EXPECT_EQ(stored_step(), 7);
  }
  // The fence ends with its task: the connection writes unfenced again (another task's work).
  write_step(*store_, 4);
  EXPECT_EQ(stored_step(), 4);
  EXPECT_FALSE(leases.release(*store_, task_id_, /*done=*/true));  // not this node's to release
  EXPECT_EQ(count_open_leases(*other_, run_id_), 1);
}

// The same holder over a replay run's candidate slots: a slot taken over from a stalled node
// refuses that node's write of its candidate, naming the slot.
TEST_P(LeaseHolderTest, ACandidateSlotsWritesAreFencedAlike) {
  add_slot_leases(
      *store_, run_id_,
      {{.slot = 0, .task_id = task_id_, .item = 0}, {.slot = 1, .task_id = task_id_, .item = 1}});
  LeaseHolder slots(kSlotLeases, open_store(false), run_id_, "a:1", 60, stop_);
  std::optional<ClaimedLease> claim = slots.claim(*store_);
  ASSERT_TRUE(claim);
  EXPECT_EQ(claim->item, 0);
  EXPECT_FALSE(slots.others_hold_open_items(*store_));
  ASSERT_EQ(kSlotLeases.free_held(*other_, run_id_), 1);
  ASSERT_TRUE(kSlotLeases.claim(*other_, run_id_, "b:2", 60));
  EXPECT_TRUE(slots.others_hold_open_items(*store_));
  Store::FencedWrites fenced(*store_, slots.fence(0));
  try {
    write_step(*store_, 1);
    FAIL() << "a write after the takeover was let through";
  } catch (const LeaseLost& refused) {
    EXPECT_EQ(std::string(refused.what()),
              "another node took the candidate slot over after this node's lease expired; its "
              "writes are refused (candidate slot 0 of run " +
                  std::to_string(run_id_) + ")");
  }
  EXPECT_EQ(stored_step(), -1);
  EXPECT_TRUE(slots.lost(0));
}

}  // namespace
}  // namespace kforge

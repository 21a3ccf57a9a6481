// The leases of a run's tasks (datasets/lease_records.hpp), on both backends: each task claimed
// once, also by connections racing for the same tasks; a renewed lease kept, an expired one
// taken over (and its old holder told that it lost it); release, done or undone; --resume's
// freeing of every held lease.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "datasets/lease_records.hpp"
#include "datasets/run_records.hpp"
#include "datasets/task_records.hpp"
#include "tests/support/store_backends.hpp"

namespace kforge {
namespace {

class LeaseRecords : public testing::OnEachBackend {
 protected:
  // A run with `count` tasks, each with its free lease.
  void make_run(int count) {
    store_ = open_store();
    for (int i = 0; i < count; ++i) {
      TaskRow task{.name = "lease/t" + std::to_string(i),
                   .suite = "lease",
                   .source = "x = " + std::to_string(i),
                   .source_hash = "hash" + std::to_string(i)};
      insert_task_version(*store_, task);
      task_ids_.push_back(task.id);
    }
    run_id_ = insert_run(*store_, {.kind = "optimize"});
    add_leases(*store_, run_id_, task_ids_);
  }

  std::unique_ptr<Store> store_;
  std::vector<int64_t> task_ids_;
  int64_t run_id_ = 0;
};
KFORGE_ON_EACH_BACKEND(LeaseRecords);

TEST_P(LeaseRecords, EachTaskIsClaimedOnceInTaskOrder) {
  make_run(3);
  for (int64_t task_id : task_ids_) {
    std::optional<LeaseClaim> claim = claim_next_lease(*store_, run_id_, "a:1", 60);
    ASSERT_TRUE(claim);
    EXPECT_EQ(claim->task_id, task_id);
    EXPECT_FALSE(claim->taken_from);
    EXPECT_EQ(claim->claims, 1);
  }
  EXPECT_FALSE(claim_next_lease(*store_, run_id_, "b:2", 60));
  // Adding the leases again (a node joining) leaves the held ones as they are.
  add_leases(*store_, run_id_, task_ids_);
  EXPECT_FALSE(claim_next_lease(*store_, run_id_, "b:2", 60));
  std::vector<LeaseRow> rows = leases_of(*store_, run_id_);
  ASSERT_EQ(rows.size(), 3u);
  for (const LeaseRow& row : rows) {
    EXPECT_EQ(row.node, "a:1");
    EXPECT_TRUE(row.expires_at);
    EXPECT_EQ(row.status, LeaseStatus::kOpen);
  }
  EXPECT_EQ(count_open_leases(*store_, run_id_), 3);
}

TEST_P(LeaseRecords, ConnectionsRacingForTheSameTasksClaimEachOnce) {
  constexpr int kTasks = 40;
  constexpr int kNodes = 4;
  make_run(kTasks);
  std::vector<std::unique_ptr<Store>> connections;
  for (int node = 0; node < kNodes; ++node)
    connections.push_back(open_store(false));
  std::atomic<bool> go{false};
  std::mutex mutex;
  std::vector<std::pair<int64_t, int>> claimed;  // task, node
  std::string failure;
  std::vector<std::thread> threads;
  for (int node = 0; node < kNodes; ++node) {
    threads.emplace_back([&, node] {
      while (!go.load()) {
      }
      try {
        const std::string name = "node:" + std::to_string(node);
        while (auto claim = claim_next_lease(*connections[node], run_id_, name, 60)) {
          std::lock_guard lock(mutex);
          claimed.emplace_back(claim->task_id, node);
        }
      } catch (const std::exception& error) {
        std::lock_guard lock(mutex);
        failure = error.what();
      }
    });
  }
  go = true;
  for (std::thread& thread : threads)
    thread.join();
  ASSERT_EQ(failure, "");
  std::set<int64_t> tasks;
  std::set<int> nodes;
  for (const auto& [task, node] : claimed) {
    EXPECT_TRUE(tasks.insert(task).second) << "task " << task << " was claimed twice";
    nodes.insert(node);
  }
  EXPECT_EQ(tasks.size(), static_cast<size_t>(kTasks));
  EXPECT_EQ(claimed.size(), static_cast<size_t>(kTasks));
  // Each row names the node that claimed it, once.
  for (const LeaseRow& row : leases_of(*store_, run_id_)) {
    EXPECT_EQ(row.claims, 1);
    auto found = std::find_if(claimed.begin(), claimed.end(),
                              [&](const auto& entry) { return entry.first == row.task_id; });
    ASSERT_NE(found, claimed.end());
    EXPECT_EQ(row.node, "node:" + std::to_string(found->second));
  }
}

TEST_P(LeaseRecords, AnExpiredLeaseIsTakenOverAndItsOldHolderLosesIt) {
  make_run(1);
  auto other = open_store(false);
  ASSERT_TRUE(claim_next_lease(*store_, run_id_, "dead:1", 0.3));
  EXPECT_FALSE(claim_next_lease(*other, run_id_, "live:2", 60));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  std::optional<LeaseClaim> taken = claim_next_lease(*other, run_id_, "live:2", 60);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->task_id, task_ids_[0]);
  EXPECT_EQ(taken->taken_from, "dead:1");
  EXPECT_EQ(taken->claims, 2);
  // The old holder, had it only stalled, finds out at its next renewal and cannot release it.
  EXPECT_FALSE(renew_lease(*store_, run_id_, task_ids_[0], "dead:1", 60));
  EXPECT_FALSE(release_lease(*store_, run_id_, task_ids_[0], "dead:1", true));
  EXPECT_EQ(leases_of(*store_, run_id_)[0].node, "live:2");
  EXPECT_TRUE(release_lease(*other, run_id_, task_ids_[0], "live:2", true));
  EXPECT_EQ(count_open_leases(*store_, run_id_), 0);
}

TEST_P(LeaseRecords, ARenewedLeaseIsKeptPastItsFirstExpiry) {
  make_run(1);
  auto other = open_store(false);
  ASSERT_TRUE(claim_next_lease(*store_, run_id_, "a:1", 0.5));
  for (int beat = 0; beat < 6; ++beat) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    ASSERT_TRUE(renew_lease(*store_, run_id_, task_ids_[0], "a:1", 0.5));
    EXPECT_FALSE(claim_next_lease(*other, run_id_, "b:2", 60));
  }
  // Renewal is only for the holder.
  EXPECT_FALSE(renew_lease(*other, run_id_, task_ids_[0], "b:2", 60));
}

TEST_P(LeaseRecords, AReleasedTaskIsFreeAgainUnlessDone) {
  make_run(2);
  auto other = open_store(false);
  ASSERT_EQ(claim_next_lease(*store_, run_id_, "a:1", 60)->task_id, task_ids_[0]);
  ASSERT_EQ(claim_next_lease(*store_, run_id_, "a:1", 60)->task_id, task_ids_[1]);
  EXPECT_TRUE(release_lease(*store_, run_id_, task_ids_[0], "a:1", /*done=*/false));
  EXPECT_TRUE(release_lease(*store_, run_id_, task_ids_[1], "a:1", /*done=*/true));
  EXPECT_EQ(count_open_leases(*store_, run_id_), 1);
  std::optional<LeaseClaim> again = claim_next_lease(*other, run_id_, "b:2", 60);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->task_id, task_ids_[0]);
  EXPECT_FALSE(again->taken_from);  // given back, not taken over
  EXPECT_EQ(again->claims, 2);
  EXPECT_FALSE(claim_next_lease(*store_, run_id_, "a:1", 60));  // the done one stays done
  // A done lease is not renewed or released again.
  EXPECT_FALSE(renew_lease(*store_, run_id_, task_ids_[1], "a:1", 60));
}

TEST_P(LeaseRecords, FreeingARunsLeasesLetsAnyNodeClaimThemAtOnce) {
  make_run(3);
  ASSERT_TRUE(claim_next_lease(*store_, run_id_, "dead:1", 3600));
  ASSERT_TRUE(claim_next_lease(*store_, run_id_, "dead:1", 3600));
  ASSERT_TRUE(release_lease(*store_, run_id_, task_ids_[1], "dead:1", true));
  EXPECT_EQ(free_leases(*store_, run_id_), 1);
  std::optional<LeaseClaim> claim = claim_next_lease(*store_, run_id_, "b:2", 60);
  ASSERT_TRUE(claim);
  EXPECT_EQ(claim->task_id, task_ids_[0]);
  EXPECT_EQ(claim->claims, 2);
  EXPECT_EQ(claim_next_lease(*store_, run_id_, "b:2", 60)->task_id, task_ids_[2]);
  EXPECT_FALSE(claim_next_lease(*store_, run_id_, "b:2", 60));
}

}  // namespace
}  // namespace kforge

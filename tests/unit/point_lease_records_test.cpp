// The leases of a tuning run's points (datasets/point_lease_records.hpp), on both backends: a
// point handed out once, also by connections racing to hand out the run's next point under the
// run's lock; an expired point taken over once by connections racing for it, its old holder
// told; a renewed lease kept; release, done or freed.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "datasets/point_lease_records.hpp"
#include "datasets/run_records.hpp"
#include "harness/util/error.hpp"
#include "tests/support/store_backends.hpp"

namespace kforge {
namespace {

class PointLeaseRecords : public testing::OnEachBackend {
 protected:
  void make_run() {
    store_ = open_store();
    run_id_ = insert_run(*store_, {.kind = "tune"});
  }

  // Runs `body(connection, node)` on `nodes` threads at once, each with its own connection;
  // returns the first exception's text, or "".
  template <typename Body>
  std::string race(int nodes, Body body) {
    std::vector<std::unique_ptr<Store>> connections;
    for (int node = 0; node < nodes; ++node)
      connections.push_back(open_store(false));
    std::atomic<bool> go{false};
    std::mutex mutex;
    std::string failure;
    std::vector<std::thread> threads;
    for (int node = 0; node < nodes; ++node) {
      threads.emplace_back([&, node] {
        while (!go.load()) {
        }
        try {
          body(*connections[node], node);
        } catch (const std::exception& error) {
          std::lock_guard lock(mutex);
          failure = error.what();
        }
      });
    }
    go = true;
    for (std::thread& thread : threads)
      thread.join();
    return failure;
  }

  std::unique_ptr<Store> store_;
  int64_t run_id_ = 0;
};
KFORGE_ON_EACH_BACKEND(PointLeaseRecords);

TEST_P(PointLeaseRecords, APointIsHandedOutOnce) {
  make_run();
  EXPECT_TRUE(add_point_lease(*store_, run_id_, 7, "a:1", 60));
  EXPECT_FALSE(add_point_lease(*store_, run_id_, 7, "b:2", 60));
  EXPECT_TRUE(add_point_lease(*store_, run_id_, 3, "b:2", 60));
  EXPECT_EQ(open_points(*store_, run_id_), (std::vector<int64_t>{3, 7}));
  std::vector<PointLeaseRow> rows = point_leases_of(*store_, run_id_);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].point, 7);
  EXPECT_EQ(rows[1].node, "a:1");
  EXPECT_EQ(rows[1].claims, 1);
  EXPECT_TRUE(rows[1].expires_at);
  // A held lease that has not expired is no one else's to claim.
  EXPECT_FALSE(claim_expired_point_lease(*store_, run_id_, "c:3", 60));
  // Only the holder releases it; done, it stays handed out and is open no more.
  EXPECT_FALSE(release_point_lease(*store_, run_id_, 7, "b:2", true));
  EXPECT_TRUE(release_point_lease(*store_, run_id_, 7, "a:1", true));
  EXPECT_FALSE(release_point_lease(*store_, run_id_, 7, "a:1", true));
  EXPECT_FALSE(renew_point_lease(*store_, run_id_, 7, "a:1", 60));
  EXPECT_EQ(open_points(*store_, run_id_), std::vector<int64_t>{3});
  EXPECT_FALSE(add_point_lease(*store_, run_id_, 7, "c:3", 60));
  // Another run's points are its own.
  int64_t other_run = insert_run(*store_, {.kind = "tune"});
  EXPECT_TRUE(add_point_lease(*store_, other_run, 7, "c:3", 60));
}

TEST_P(PointLeaseRecords, NodesHandingOutTheNextPointUnderTheRunsLockNeverCollide) {
  // Each step reads how many points the run has handed out and hands out the next one, as a
  // strategy step does: without the lock, two nodes would read the same count on PostgreSQL.
  constexpr int kNodes = 4;
  constexpr int kSteps = 10;
  make_run();
  std::mutex mutex;
  std::vector<std::pair<int64_t, int>> handed;  // point, node
  std::string failure = race(kNodes, [&](Store& store, int node) {
    for (int step = 0; step < kSteps; ++step) {
      Store::Transaction transaction(store);
      lock_tuning_run(store, run_id_);
      auto next = static_cast<int64_t>(point_leases_of(store, run_id_).size());
      if (!add_point_lease(store, run_id_, next, "node:" + std::to_string(node), 60))
        throw Error("point " + std::to_string(next) + " was handed out twice");
      transaction.commit();
      std::lock_guard lock(mutex);
      handed.emplace_back(next, node);
    }
  });
  ASSERT_EQ(failure, "");
  std::set<int64_t> points;
  for (const auto& [point, node] : handed)
    EXPECT_TRUE(points.insert(point).second) << "point " << point << " handed out twice";
  EXPECT_EQ(points.size(), static_cast<size_t>(kNodes * kSteps));
  EXPECT_EQ(*points.rbegin(), kNodes * kSteps - 1);
}

TEST_P(PointLeaseRecords, LockingARunThatDoesNotExistIsAnError) {
  make_run();
  Store::Transaction transaction(*store_);
  EXPECT_THROW(lock_tuning_run(*store_, run_id_ + 100), Error);
}

TEST_P(PointLeaseRecords, ExpiredPointsAreTakenOverOnceByNodesRacingForThem) {
  constexpr int kPoints = 40;
  constexpr int kNodes = 4;
  make_run();
  for (int point = 0; point < kPoints; ++point)
    ASSERT_TRUE(add_point_lease(*store_, run_id_, point, "dead:1", -1));  // expired already
  std::mutex mutex;
  std::vector<std::pair<int64_t, int>> claimed;  // point, node
  std::string failure = race(kNodes, [&](Store& store, int node) {
    const std::string name = "node:" + std::to_string(node);
    while (auto claim = claim_expired_point_lease(store, run_id_, name, 60)) {
      if (claim->taken_from != "dead:1" || claim->claims != 2)
        throw Error("point " + std::to_string(claim->point) + " claimed from " +
                    claim->taken_from.value_or("nobody"));
      std::lock_guard lock(mutex);
      claimed.emplace_back(claim->point, node);
    }
  });
  ASSERT_EQ(failure, "");
  std::set<int64_t> points;
  for (const auto& [point, node] : claimed)
    EXPECT_TRUE(points.insert(point).second) << "point " << point << " was claimed twice";
  EXPECT_EQ(points.size(), static_cast<size_t>(kPoints));
  for (const PointLeaseRow& row : point_leases_of(*store_, run_id_)) {
    EXPECT_EQ(row.claims, 2);
    auto found = std::find_if(claimed.begin(), claimed.end(),
                              [&](const auto& entry) { return entry.first == row.point; });
    ASSERT_NE(found, claimed.end());
    EXPECT_EQ(row.node, "node:" + std::to_string(found->second));
  }
}

TEST_P(PointLeaseRecords, AnExpiredPointIsTakenOverAndItsOldHolderLosesIt) {
  make_run();
  auto other = open_store(false);
  ASSERT_TRUE(add_point_lease(*store_, run_id_, 5, "dead:1", 0.3));
  EXPECT_FALSE(claim_expired_point_lease(*other, run_id_, "live:2", 60));
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  std::optional<PointClaim> taken = claim_expired_point_lease(*other, run_id_, "live:2", 60);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->point, 5);
  EXPECT_EQ(taken->taken_from, "dead:1");
  EXPECT_EQ(taken->claims, 2);
  EXPECT_FALSE(claim_expired_point_lease(*store_, run_id_, "third:3", 60));
  // The old holder, had it only stalled, finds out at its next renewal and cannot tell it.
  EXPECT_FALSE(renew_point_lease(*store_, run_id_, 5, "dead:1", 60));
  EXPECT_FALSE(release_point_lease(*store_, run_id_, 5, "dead:1", true));
  EXPECT_TRUE(release_point_lease(*other, run_id_, 5, "live:2", true));
  EXPECT_TRUE(open_points(*store_, run_id_).empty());
}

TEST_P(PointLeaseRecords, ARenewedLeaseIsKeptAndAFreedPointIsClaimedAgain) {
  make_run();
  auto other = open_store(false);
  ASSERT_TRUE(add_point_lease(*store_, run_id_, 0, "a:1", 0.5));
  for (int beat = 0; beat < 6; ++beat) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    ASSERT_TRUE(renew_point_lease(*store_, run_id_, 0, "a:1", 0.5));
    EXPECT_FALSE(claim_expired_point_lease(*other, run_id_, "b:2", 60));
  }
  EXPECT_FALSE(renew_point_lease(*other, run_id_, 0, "b:2", 60));  // only for the holder
  // Given back undone (a node stopped by Ctrl-C): free at once, and not taken from anyone.
  EXPECT_TRUE(release_point_lease(*store_, run_id_, 0, "a:1", /*done=*/false));
  std::optional<PointClaim> again = claim_expired_point_lease(*other, run_id_, "b:2", 60);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->point, 0);
  EXPECT_FALSE(again->taken_from);
  EXPECT_EQ(again->claims, 2);
}

TEST_P(PointLeaseRecords, FreeingARunsPointsLetsAnyNodeClaimThemAtOnce) {
  make_run();
  ASSERT_TRUE(add_point_lease(*store_, run_id_, 0, "dead:1", 3600));
  ASSERT_TRUE(add_point_lease(*store_, run_id_, 1, "dead:1", 3600));
  ASSERT_TRUE(add_point_lease(*store_, run_id_, 2, "dead:1", 3600));
  ASSERT_TRUE(release_point_lease(*store_, run_id_, 1, "dead:1", true));
  EXPECT_EQ(free_point_leases(*store_, run_id_), 2);
  EXPECT_EQ(claim_expired_point_lease(*store_, run_id_, "b:2", 60)->point, 0);
  EXPECT_EQ(claim_expired_point_lease(*store_, run_id_, "b:2", 60)->point, 2);
  EXPECT_FALSE(claim_expired_point_lease(*store_, run_id_, "b:2", 60));
}

}  // namespace
}  // namespace kforge

// The one lease implementation (datasets/lease_table.hpp) on both backends and both tables of
// leases (the tasks' `leases`, the points' `point_leases`): a claim takes the first free item
// once; only the holder renews or releases, and only while the lease is open; an expired lease,
// and only an expired one, is taken over, after which its old holder's renewal and release are
// refused; released undone it is free again, done it stays done; the status names stored are
// "open" and "done"; a row with a status this kforge does not know is an error naming it; a
// holder's latest claim, and only it, holds the lease (the fence of its writes), and on
// PostgreSQL the fence keeps the row from a claim until the holder's transaction ends.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "datasets/lease_table.hpp"
#include "datasets/run_records.hpp"
#include "datasets/task_records.hpp"
#include "harness/util/error.hpp"
#include "tests/support/store_backends.hpp"

namespace kforge {
namespace {

class LeaseTableTest : public testing::OnEachBackend {
 protected:
  // A run and three items: task ids, which both tables take (a point is any index >= 0, and the
  // tasks table wants tasks that exist).
  void SetUp() override {
    OnEachBackend::SetUp();
    if (IsSkipped())
      return;
    store_ = open_store();
    other_ = open_store(false);
    for (int i = 0; i < 3; ++i) {
      TaskRow task{.name = "lease_table/t" + std::to_string(i),
                   .suite = "lease_table",
                   .source = "x = " + std::to_string(i),
                   .source_hash = "hash" + std::to_string(i)};
      insert_task_version(*store_, task);
      items_.push_back(task.id);
    }
    run_id_ = insert_run(*store_, {.kind = "optimize"});
  }

  // The stored status of the item's lease, as the column holds it.
  std::string stored_status(const LeaseTable& table, int64_t item) const {
    auto query = store_->db().prepare("SELECT status FROM " + std::string(table.table()) +
                                      " WHERE run_id = ? AND " +
                                      (&table == &kTaskLeases ? "task_id" : "point") + " = ?");
    query.bind(1, run_id_).bind(2, item);
    return query.step() ? query.text(0) : "(no row)";
  }

  static constexpr const LeaseTable* kTables[] = {&kTaskLeases, &kPointLeases};

  std::unique_ptr<Store> store_;
  std::unique_ptr<Store> other_;  // a second connection: another node
  std::vector<int64_t> items_;
  int64_t run_id_ = 0;
};
KFORGE_ON_EACH_BACKEND(LeaseTableTest);

TEST(LeaseStatusNames, AreTheStoredOnesBothWays) {
  EXPECT_EQ(lease_status_name(LeaseStatus::kOpen), "open");
  EXPECT_EQ(lease_status_name(LeaseStatus::kDone), "done");
  EXPECT_EQ(lease_status_from_name("open"), LeaseStatus::kOpen);
  EXPECT_EQ(lease_status_from_name("done"), LeaseStatus::kDone);
  EXPECT_FALSE(lease_status_from_name("Open"));
  EXPECT_FALSE(lease_status_from_name(""));
}

TEST_P(LeaseTableTest, AClaimTakesEachFreeItemOnceInItemOrder) {
  for (const LeaseTable* table : kTables) {
    SCOPED_TRACE(table->table());
    EXPECT_FALSE(table->claim(*store_, run_id_, "a:1", 60));  // nothing to claim yet
    table->add_free(*store_, run_id_, items_);
    EXPECT_EQ(table->count_open(*store_, run_id_), 3);
    for (int64_t item : items_) {
      std::optional<ClaimedLease> claim = table->claim(*store_, run_id_, "a:1", 60);
      ASSERT_TRUE(claim);
      EXPECT_EQ(claim->item, item);
      EXPECT_FALSE(claim->taken_from);
      EXPECT_EQ(claim->claims, 1);
    }
    EXPECT_FALSE(table->claim(*other_, run_id_, "b:2", 60));
    // Adding the free leases again (a node joining) leaves the held ones as they are.
    table->add_free(*store_, run_id_, items_);
    EXPECT_FALSE(table->claim(*other_, run_id_, "b:2", 60));
    std::vector<Lease> rows = table->leases_of(*store_, run_id_);
    ASSERT_EQ(rows.size(), 3u);
    for (const Lease& row : rows) {
      EXPECT_EQ(row.run_id, run_id_);
      EXPECT_EQ(row.node, "a:1");
      EXPECT_TRUE(row.expires_at);
      EXPECT_EQ(row.claims, 1);
      EXPECT_EQ(row.status, LeaseStatus::kOpen);
    }
    EXPECT_EQ(table->open_items(*store_, run_id_), items_);
    // Another run's leases are its own.
    const int64_t other_run = insert_run(*store_, {.kind = "optimize"});
    EXPECT_TRUE(table->leases_of(*store_, other_run).empty());
    EXPECT_FALSE(table->claim(*store_, other_run, "a:1", 60));
  }
}

TEST_P(LeaseTableTest, AnItemIsAddedHeldOnceWhateverItsLease) {
  for (const LeaseTable* table : kTables) {
    SCOPED_TRACE(table->table());
    EXPECT_TRUE(table->add_held(*store_, run_id_, items_[0], "a:1", 60));
    EXPECT_FALSE(table->add_held(*other_, run_id_, items_[0], "b:2", 60));  // held
    table->add_free(*store_, run_id_, {items_[1]});
    EXPECT_FALSE(table->add_held(*other_, run_id_, items_[1], "b:2", 60));  // free, not added
    ASSERT_TRUE(table->release(*store_, run_id_, items_[0], "a:1", LeaseStatus::kDone));
    EXPECT_FALSE(table->add_held(*other_, run_id_, items_[0], "b:2", 60));  // done
    std::vector<Lease> rows = table->leases_of(*store_, run_id_);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].claims, 1);
    EXPECT_EQ(rows[0].status, LeaseStatus::kDone);
    EXPECT_FALSE(rows[0].node);
    EXPECT_FALSE(rows[1].node);
    EXPECT_EQ(rows[1].claims, 0);
  }
}

TEST_P(LeaseTableTest, OnlyTheHolderRenewsAndARenewalMovesTheExpiryOn) {
  for (const LeaseTable* table : kTables) {
    SCOPED_TRACE(table->table());
    table->add_free(*store_, run_id_, items_);
    ASSERT_TRUE(table->claim(*store_, run_id_, "a:1", 60));
    const double first = *table->leases_of(*store_, run_id_)[0].expires_at;
    EXPECT_TRUE(table->renew(*store_, run_id_, items_[0], "a:1", 600));
    const double renewed = *table->leases_of(*store_, run_id_)[0].expires_at;
    EXPECT_GT(renewed, first + 500);
    // Not another node, not an item the node does not hold, not an item with no lease.
    EXPECT_FALSE(table->renew(*other_, run_id_, items_[0], "b:2", 60));
    EXPECT_FALSE(table->renew(*store_, run_id_, items_[1], "a:1", 60));
    EXPECT_FALSE(table->renew(*store_, run_id_ + 100, items_[0], "a:1", 60));
    EXPECT_EQ(*table->leases_of(*store_, run_id_)[0].expires_at, renewed);
    EXPECT_EQ(table->leases_of(*store_, run_id_)[0].node, "a:1");
  }
}

TEST_P(LeaseTableTest, ALeaseIsTakenOverOnlyOnceExpiredAndItsOldHolderLosesIt) {
  for (const LeaseTable* table : kTables) {
    SCOPED_TRACE(table->table());
    table->add_free(*store_, run_id_, {items_[0]});
    ASSERT_TRUE(table->claim(*store_, run_id_, "dead:1", 0.4));
    EXPECT_FALSE(table->claim(*other_, run_id_, "live:2", 60));  // not expired yet
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    std::optional<ClaimedLease> taken = table->claim(*other_, run_id_, "live:2", 60);
    ASSERT_TRUE(taken);
    EXPECT_EQ(taken->item, items_[0]);
    EXPECT_EQ(taken->taken_from, "dead:1");
    EXPECT_EQ(taken->claims, 2);
    // Taken over, it is no one else's: not the old holder's nor a third node's.
    EXPECT_FALSE(table->claim(*store_, run_id_, "dead:1", 60));
    EXPECT_FALSE(table->claim(*store_, run_id_, "third:3", 60));
    // The old holder, had it only stalled, finds out at its next renewal and cannot release it.
    EXPECT_FALSE(table->renew(*store_, run_id_, items_[0], "dead:1", 60));
    EXPECT_FALSE(table->release(*store_, run_id_, items_[0], "dead:1", LeaseStatus::kDone));
    EXPECT_FALSE(table->release(*store_, run_id_, items_[0], "dead:1", LeaseStatus::kOpen));
    std::vector<Lease> rows = table->leases_of(*store_, run_id_);
    EXPECT_EQ(rows[0].node, "live:2");
    EXPECT_EQ(rows[0].status, LeaseStatus::kOpen);
    // The new holder renews and finishes it.
    EXPECT_TRUE(table->renew(*other_, run_id_, items_[0], "live:2", 60));
    EXPECT_TRUE(table->release(*other_, run_id_, items_[0], "live:2", LeaseStatus::kDone));
    EXPECT_EQ(table->count_open(*store_, run_id_), 0);
  }
}

TEST_P(LeaseTableTest, AnItemAddedHeldIsTakenOverOnceExpired) {
  for (const LeaseTable* table : kTables) {
    SCOPED_TRACE(table->table());
    ASSERT_TRUE(table->add_held(*store_, run_id_, items_[0], "a:1", 3600));
    ASSERT_TRUE(table->add_held(*store_, run_id_, items_[1], "dead:1", -1));  // expired already
    std::optional<ClaimedLease> taken = table->claim(*other_, run_id_, "b:2", 60);
    ASSERT_TRUE(taken);
    EXPECT_EQ(taken->item, items_[1]);  // the first item's lease has not expired
    EXPECT_EQ(taken->taken_from, "dead:1");
    EXPECT_EQ(taken->claims, 2);
    EXPECT_FALSE(table->claim(*other_, run_id_, "b:2", 60));
  }
}

TEST_P(LeaseTableTest, ReleasedUndoneAnItemIsFreeAgainDoneItStaysDone) {
  for (const LeaseTable* table : kTables) {
    SCOPED_TRACE(table->table());
    table->add_free(*store_, run_id_, {items_[0], items_[1]});
    ASSERT_EQ(table->claim(*store_, run_id_, "a:1", 60)->item, items_[0]);
    ASSERT_EQ(table->claim(*store_, run_id_, "a:1", 60)->item, items_[1]);
    // Only the holder releases.
    EXPECT_FALSE(table->release(*other_, run_id_, items_[0], "b:2", LeaseStatus::kOpen));
    EXPECT_FALSE(table->release(*other_, run_id_, items_[1], "b:2", LeaseStatus::kDone));
    EXPECT_TRUE(table->release(*store_, run_id_, items_[0], "a:1", LeaseStatus::kOpen));
    EXPECT_TRUE(table->release(*store_, run_id_, items_[1], "a:1", LeaseStatus::kDone));
    EXPECT_EQ(stored_status(*table, items_[0]), "open");
    EXPECT_EQ(stored_status(*table, items_[1]), "done");
    EXPECT_EQ(table->count_open(*store_, run_id_), 1);
    EXPECT_EQ(table->open_items(*store_, run_id_), std::vector<int64_t>{items_[0]});
    // Released once, a lease is released no more, nor renewed, by its former holder.
    EXPECT_FALSE(table->release(*store_, run_id_, items_[0], "a:1", LeaseStatus::kDone));
    EXPECT_FALSE(table->release(*store_, run_id_, items_[1], "a:1", LeaseStatus::kDone));
    EXPECT_FALSE(table->renew(*store_, run_id_, items_[0], "a:1", 60));
    EXPECT_FALSE(table->renew(*store_, run_id_, items_[1], "a:1", 60));
    EXPECT_EQ(stored_status(*table, items_[1]), "done");
    // The undone one is claimed again, given back rather than taken over; the done one never.
    std::optional<ClaimedLease> again = table->claim(*other_, run_id_, "b:2", 60);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->item, items_[0]);
    EXPECT_FALSE(again->taken_from);
    EXPECT_EQ(again->claims, 2);
    EXPECT_FALSE(table->claim(*store_, run_id_, "a:1", 60));
  }
}

TEST_P(LeaseTableTest, FreeingTheHeldLeasesLeavesTheDoneAndTheFreeAsTheyAre) {
  for (const LeaseTable* table : kTables) {
    SCOPED_TRACE(table->table());
    table->add_free(*store_, run_id_, items_);
    ASSERT_TRUE(table->claim(*store_, run_id_, "dead:1", 3600));
    ASSERT_TRUE(table->claim(*store_, run_id_, "dead:1", 3600));
    ASSERT_TRUE(table->release(*store_, run_id_, items_[1], "dead:1", LeaseStatus::kDone));
    EXPECT_EQ(table->free_held(*store_, run_id_), 1);
    EXPECT_EQ(table->free_held(*store_, run_id_), 0);
    EXPECT_FALSE(table->renew(*store_, run_id_, items_[0], "dead:1", 60));
    std::optional<ClaimedLease> claim = table->claim(*other_, run_id_, "b:2", 60);
    ASSERT_TRUE(claim);
    EXPECT_EQ(claim->item, items_[0]);
    EXPECT_FALSE(claim->taken_from);
    EXPECT_EQ(claim->claims, 2);
    EXPECT_EQ(table->claim(*other_, run_id_, "b:2", 60)->item, items_[2]);
    EXPECT_FALSE(table->claim(*other_, run_id_, "b:2", 60));
    EXPECT_EQ(stored_status(*table, items_[1]), "done");
  }
}

TEST_P(LeaseTableTest, HoldsIsTrueForTheLatestClaimOfItsHolderOnly) {
  for (const LeaseTable* table : kTables) {
    SCOPED_TRACE(table->table());
    table->add_free(*store_, run_id_, {items_[0]});
    EXPECT_FALSE(table->holds(*store_, run_id_, items_[0], "a:1", 0));  // free: nobody's
    ASSERT_EQ(table->claim(*store_, run_id_, "a:1", 0.4)->claims, 1);
    EXPECT_TRUE(table->holds(*store_, run_id_, items_[0], "a:1", 1));
    EXPECT_FALSE(table->holds(*store_, run_id_, items_[0], "b:2", 1));  // another node
    EXPECT_FALSE(table->holds(*store_, run_id_, items_[0], "a:1", 2));  // another claim
    EXPECT_FALSE(table->holds(*store_, run_id_, items_[1], "a:1", 1));  // another item
    // Expired but not yet taken over, it is still the holder's: nobody else works on it.
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    EXPECT_TRUE(table->holds(*store_, run_id_, items_[0], "a:1", 1));
    // Taken over: the old claim holds no more, the new one does.
    ASSERT_EQ(table->claim(*other_, run_id_, "b:2", 0.4)->claims, 2);
    EXPECT_FALSE(table->holds(*store_, run_id_, items_[0], "a:1", 1));
    EXPECT_TRUE(table->holds(*other_, run_id_, items_[0], "b:2", 2));
    // Claimed back by the first node (another of its threads, say): its first claim's writes
    // are still refused, only the latest claim holds.
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    ASSERT_EQ(table->claim(*store_, run_id_, "a:1", 60)->claims, 3);
    EXPECT_FALSE(table->holds(*store_, run_id_, items_[0], "a:1", 1));
    EXPECT_FALSE(table->holds(*other_, run_id_, items_[0], "b:2", 2));
    EXPECT_TRUE(table->holds(*store_, run_id_, items_[0], "a:1", 3));
    // Done, it is nobody's.
    ASSERT_TRUE(table->release(*store_, run_id_, items_[0], "a:1", LeaseStatus::kDone));
    EXPECT_FALSE(table->holds(*store_, run_id_, items_[0], "a:1", 3));
  }
}

// On PostgreSQL the fence locks the lease's row until its transaction ends: an expired lease
// checked by its holder inside a transaction is not taken over before that transaction's writes
// commit (a claim passes the locked row over), and is taken over after. (SQLite's write
// transactions take turns: a claim waits for the holder's transaction to end.)
TEST_P(LeaseTableTest, OnPostgresAClaimWaitsForTheHoldersFencedTransaction) {
  if (!postgres())
    GTEST_SKIP() << "SQLite's write transactions take turns";
  for (const LeaseTable* table : kTables) {
    SCOPED_TRACE(table->table());
    table->add_free(*store_, run_id_, {items_[0]});
    ASSERT_TRUE(table->claim(*store_, run_id_, "a:1", 0.2));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    {
      Store::Transaction transaction(*store_);
      ASSERT_TRUE(table->holds(*store_, run_id_, items_[0], "a:1", 1));
      EXPECT_FALSE(table->claim(*other_, run_id_, "b:2", 60));  // locked: passed over
      transaction.commit();
    }
    std::optional<ClaimedLease> taken = table->claim(*other_, run_id_, "b:2", 60);
    ASSERT_TRUE(taken);
    EXPECT_EQ(taken->taken_from, "a:1");
    EXPECT_FALSE(table->holds(*store_, run_id_, items_[0], "a:1", 1));
  }
}

TEST_P(LeaseTableTest, AStoredStatusThisKforgeDoesNotKnowIsAnErrorNamingIt) {
  // Written by hand past the tables' CHECK, as a store from elsewhere could hold it.
  const LeaseTable& table = kPointLeases;
  ASSERT_TRUE(table.add_held(*store_, run_id_, 4, "a:1", 60));
  if (postgres())
    store_->db().execute("ALTER TABLE point_leases DROP CONSTRAINT point_leases_status_check");
  else
    store_->db().execute("PRAGMA ignore_check_constraints = ON");
  store_->db().execute("UPDATE point_leases SET status = 'paused'");
  try {
    table.leases_of(*store_, run_id_);
    FAIL() << "read a lease with status 'paused'";
  } catch (const Error& error) {
    const std::string what = error.what();
    EXPECT_NE(
        what.find("unknown lease status 'paused' of point 4 of run " + std::to_string(run_id_)),
        std::string::npos)
        << what;
    EXPECT_NE(what.find("point_leases"), std::string::npos) << what;
  }
  // Not open, so neither claimed nor counted.
  EXPECT_EQ(table.count_open(*store_, run_id_), 0);
  EXPECT_FALSE(table.renew(*store_, run_id_, 4, "a:1", 60));
}

}  // namespace
}  // namespace kforge

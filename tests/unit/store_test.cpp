#include "datasets/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "datasets/run_records.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

TEST(Store, CreatesMigratesAndReopens) {
  testing::TemporaryDirectory dir;
  {
    auto store = Store::open(dir / "kforge.db");
    EXPECT_EQ(store->schema_version(), Store::latest_schema_version());
    auto mode = store->db().prepare("PRAGMA journal_mode");
    ASSERT_TRUE(mode.step());
    EXPECT_EQ(mode.text(0), "wal");
    auto keys = store->db().prepare("PRAGMA foreign_keys");
    ASSERT_TRUE(keys.step());
    EXPECT_EQ(keys.integer(0), 1);
    store->db().execute(
        "INSERT INTO tasks (name, suite, version, source, source_hash) "
        "VALUES ('t', 's', 1, 'src', 'h')");
  }
  auto again = Store::open(dir / "kforge.db", false);
  auto count = again->db().prepare("SELECT count(*) FROM tasks");
  ASSERT_TRUE(count.step());
  EXPECT_EQ(count.integer(0), 1);
  EXPECT_EQ(again->integrity_check(), "ok");
}

TEST(Store, ManyConnectionsOpeningANewStoreAtOnceMigrateItOnce) {
  for (int round = 0; round < 5; ++round) {
    testing::TemporaryDirectory dir;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    std::mutex lock;
    std::string first_failure;
    for (int i = 0; i < 8; ++i) {
      threads.emplace_back([&] {
        try {
          auto store = Store::open(dir / "kforge.db");
          if (store->schema_version() != Store::latest_schema_version())
            throw Error("wrong schema version");
        } catch (const std::exception& failure) {
          ++failures;
          std::lock_guard guard(lock);
          first_failure = failure.what();
        }
      });
    }
    for (auto& thread : threads)
      thread.join();
    EXPECT_EQ(failures.load(), 0) << first_failure;
  }
}

TEST(Store, OpenFailuresAreToldApartByResultCode) {
  EXPECT_NE(Store::describe_open_failure(SQLITE_NOTADB, "m").find("damaged"), std::string::npos);
  EXPECT_NE(Store::describe_open_failure(SQLITE_CORRUPT, "m").find("damaged one"),
            std::string::npos);
  for (int code : {SQLITE_READONLY, SQLITE_READONLY_DBMOVED, SQLITE_CANTOPEN, SQLITE_PERM,
                   SQLITE_FULL, SQLITE_IOERR_WRITE, SQLITE_BUSY}) {
    std::string text = Store::describe_open_failure(code, "m");
    EXPECT_EQ(text.find("damaged one"), std::string::npos) << code << ": " << text;
  }
  EXPECT_NE(Store::describe_open_failure(SQLITE_READONLY, "m").find("read-only"),
            std::string::npos);
}

TEST(Store, EnforcesForeignKeysAndJson) {
  testing::TemporaryDirectory dir;
  auto store = Store::open(dir / "kforge.db");
  EXPECT_THROW(store->db().execute("INSERT INTO candidates (task_id, origin, source, source_hash) "
                                   "VALUES (42, 'human', 's', 'h')"),
               Error);
  EXPECT_THROW(store->db().execute("INSERT INTO tasks (name, suite, version, source, source_hash, "
                                   "tags) VALUES ('t', 's', 1, 'x', 'h', 'not json')"),
               Error);
}

TEST(Store, RefusesANewerSchema) {
  testing::TemporaryDirectory dir;
  {
    auto store = Store::open(dir / "kforge.db");
    store->db().execute("PRAGMA user_version = 999");
  }
  try {
    Store::open(dir / "kforge.db");
    FAIL() << "opened a store from the future";
  } catch (const Error& failure) {
    EXPECT_NE(std::string(failure.what()).find("newer than this kforge"), std::string::npos);
  }
}

TEST(Store, RefusesAFileThatIsNotADatabase) {
  testing::TemporaryDirectory dir;
  testing::write_text(dir / "kforge.db", std::string(8192, 'x'));
  EXPECT_THROW(Store::open(dir / "kforge.db"), Error);
  EXPECT_EQ(files::read(dir / "kforge.db"), std::string(8192, 'x'));  // left untouched
}

TEST(Store, RollsBackAnUncommittedTransaction) {
  testing::TemporaryDirectory dir;
  auto store = Store::open(dir / "kforge.db");
  {
    sql::Transaction transaction(store->db());
    store->db().execute(
        "INSERT INTO tasks (name, suite, version, source, source_hash) "
        "VALUES ('t', 's', 1, 'src', 'h')");
  }
  auto count = store->db().prepare("SELECT count(*) FROM tasks");
  ASSERT_TRUE(count.step());
  EXPECT_EQ(count.integer(0), 0);
}

TEST(Store, TransactionKeepsWritesTogether) {
  testing::TemporaryDirectory dir;
  auto store = Store::open(dir / "kforge.db");
  {
    Store::Transaction transaction(*store);
    insert_run(*store, {.kind = "eval"});
    insert_run(*store, {.kind = "eval"});
  }  // not committed: both undone
  EXPECT_TRUE(list_runs(*store, 10).empty());
  {
    Store::Transaction transaction(*store);
    insert_run(*store, {.kind = "eval"});
    insert_run(*store, {.kind = "optimize"});
    transaction.commit();
  }
  auto reopened = Store::open(dir / "kforge.db", false);
  EXPECT_EQ(list_runs(*reopened, 10).size(), 2u);
}

}  // namespace
}  // namespace kforge

#include "datasets/store.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "datasets/migrations.hpp"
#include "datasets/records.hpp"
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

// Version 3 rebuilds the candidates table to allow origin 'mcp': a store written at version 2
// keeps every candidate, the evaluations and promotions that point at them and its foreign
// keys, and takes candidates from an MCP client afterwards.
TEST(Store, MigrationThreeKeepsCandidatesAndWhatPointsAtThem) {
  testing::TemporaryDirectory dir;
  {
    sql::Connection old(dir.path() / "kforge.db", true);
    for (const Migration& migration : migrations()) {
      if (migration.version <= 2)
        old.execute(migration.sql);
    }
    old.execute("PRAGMA user_version = 2");
    old.execute(
        "INSERT INTO tasks (id, name, suite, version, source, source_hash) "
        "VALUES (1, 't', 's', 1, 'src', 'h');"
        "INSERT INTO candidates (id, task_id, origin, source, source_hash) "
        "VALUES (7, 1, 'human', 'first', 'h1');"
        "INSERT INTO candidates (id, task_id, parent_id, origin, source, source_hash) "
        "VALUES (8, 1, 7, 'llm', 'second', 'h2');"
        "INSERT INTO evaluations (candidate_id, verdict, harness_version) "
        "VALUES (8, 'compiled', 1);"
        "INSERT INTO promotions (candidate_id, task_id, decision, reason) "
        "VALUES (8, 1, 'refused', 'r');");
    EXPECT_THROW(old.execute("INSERT INTO candidates (task_id, origin, source, source_hash) "
                             "VALUES (1, 'mcp', 's', 'h')"),
                 Error);
  }
  auto store = Store::open(dir / "kforge.db");
  EXPECT_EQ(store->schema_version(), Store::latest_schema_version());
  EXPECT_EQ(store->integrity_check(), "ok");
  auto second = find_candidate(*store, 8);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->parent_id, 7);
  EXPECT_EQ(second->source, "second");
  EXPECT_EQ(evaluations_of(*store, 8).size(), 1u);
  auto keys = store->db().prepare("PRAGMA foreign_keys");
  ASSERT_TRUE(keys.step());
  EXPECT_EQ(keys.integer(0), 1);
  // The rebuilt table still refuses a dangling reference and an unknown origin.
  EXPECT_THROW(store->db().execute("INSERT INTO evaluations (candidate_id, verdict, "
                                   "harness_version) VALUES (99, 'compiled', 1)"),
               Error);
  EXPECT_THROW(store->db().execute("DELETE FROM candidates WHERE id = 8"), Error);
  CandidateRow from_mcp{.task_id = 1, .origin = "mcp", .source = "s", .source_hash = "h"};
  EXPECT_GT(insert_candidate(*store, from_mcp), 8);
  from_mcp.origin = "telepathy";
  EXPECT_THROW(insert_candidate(*store, from_mcp), Error);
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

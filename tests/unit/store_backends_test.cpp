// The store's behaviour that must be the same on both backends (SQLite file, PostgreSQL server
// started by the test binary: tests/support/postgres_server.hpp): migrations, refusal of a newer
// schema, transactions, constraints, the node that wrote a row; and PostgreSQL's own faults: a
// restarted server, an unreachable one, a password file others may read.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "datasets/postgres.hpp"
#include "datasets/records.hpp"
#include "datasets/run_records.hpp"
#include "datasets/store.hpp"
#include "harness/util/error.hpp"
#include "tests/support/store_backends.hpp"

namespace kforge {
namespace {

class StoreBackends : public testing::OnEachBackend {};
KFORGE_ON_EACH_BACKEND(StoreBackends);

int64_t count(const Store& store, const std::string& table) {
  auto query = store.db().prepare("SELECT count(*) FROM " + table);
  query.step();
  return query.integer(0);
}

TEST_P(StoreBackends, CreatesMigratesAndReopens) {
  {
    auto store = open_store();
    EXPECT_EQ(store->schema_version(), Store::latest_schema_version());
    EXPECT_EQ(store->dialect(), GetParam());
    store->db().execute(
        "INSERT INTO tasks (name, suite, version, source, source_hash) "
        "VALUES ('t', 's', 1, 'src', 'h')");
  }
  auto again = open_store(false);
  EXPECT_EQ(again->schema_version(), Store::latest_schema_version());
  EXPECT_EQ(count(*again, "tasks"), 1);
  EXPECT_EQ(again->integrity_check(), "ok");
  // Timestamps are the same ISO 8601 UTC text with milliseconds on both.
  auto created = again->db().prepare("SELECT created_at FROM tasks");
  ASSERT_TRUE(created.step());
  std::string text = created.text(0);
  ASSERT_EQ(text.size(), 24u) << text;
  EXPECT_EQ(text[10], 'T');
  EXPECT_EQ(text[19], '.');
  EXPECT_EQ(text.back(), 'Z');
}

TEST_P(StoreBackends, ManyConnectionsOpeningANewStoreAtOnceMigrateItOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  std::mutex lock;
  std::string first_failure;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      try {
        auto store = open_store();
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

TEST_P(StoreBackends, EnforcesForeignKeysAndJson) {
  auto store = open_store();
  EXPECT_THROW(store->db().execute("INSERT INTO candidates (task_id, origin, source, source_hash) "
                                   "VALUES (42, 'human', 's', 'h')"),
               Error);
  EXPECT_THROW(store->db().execute("INSERT INTO tasks (name, suite, version, source, source_hash, "
                                   "tags) VALUES ('t', 's', 1, 'x', 'h', 'not json')"),
               Error);
  EXPECT_THROW(store->db().execute("INSERT INTO runs (kind, status) VALUES ('eval', 'bogus')"),
               Error);
  EXPECT_EQ(count(*store, "tasks"), 0);
}

TEST_P(StoreBackends, RefusesANewerSchema) {
  {
    auto store = open_store();
    store->db().execute(postgres() ? "UPDATE kforge_schema SET version = 999"
                                   : "PRAGMA user_version = 999");
  }
  try {
    open_store();
    FAIL() << "opened a store from the future";
  } catch (const Error& failure) {
    EXPECT_NE(std::string(failure.what()).find("schema version 999, newer than this kforge"),
              std::string::npos)
        << failure.what();
  }
}

TEST_P(StoreBackends, RollsBackAnUncommittedTransactionAndKeepsACommittedOne) {
  auto store = open_store();
  {
    Store::Transaction transaction(*store);
    insert_run(*store, {.kind = "eval"});
    insert_run(*store, {.kind = "eval"});
  }
  EXPECT_TRUE(list_runs(*store, 10).empty());
  {
    Store::Transaction transaction(*store);
    insert_run(*store, {.kind = "eval"});
    insert_run(*store, {.kind = "optimize"});
    transaction.commit();
  }
  auto other = open_store(false);
  EXPECT_EQ(list_runs(*other, 10).size(), 2u);
}

TEST_P(StoreBackends, IdsFollowEachOtherAndValuesRoundTripExactly) {
  auto store = open_store();
  store->db().execute(
      "INSERT INTO tasks (name, suite, version, source, source_hash) "
      "VALUES ('t', 's', 1, 'src', 'h')");
  int64_t task = store->db().last_insert_id();
  int64_t first = insert_candidate(
      *store, {.task_id = task, .origin = "human", .source = "a", .source_hash = "h"});
  int64_t second = insert_candidate(*store, {.task_id = task,
                                             .origin = "human",
                                             .source = "b\n\"quoted\" 'single' ünïcödé",
                                             .source_hash = "h"});
  EXPECT_EQ(second, first + 1);
  const double awkward = 0.1 + 0.2;  // 0.30000000000000004: needs all 17 digits
  insert_evaluation(*store, {.candidate_id = second,
                             .verdict = "correct",
                             .device_time_us = awkward,
                             .speedup_eager = 1e-300,
                             .harness_version = 1});
  auto rows = evaluations_of(*store, second);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(*rows[0].device_time_us, awkward);
  EXPECT_EQ(*rows[0].speedup_eager, 1e-300);
  EXPECT_EQ(find_candidate(*store, second)->source, "b\n\"quoted\" 'single' ünïcödé");
}

TEST_P(StoreBackends, RecordsTheNodeOfRunsAndEvaluations) {
  auto store = open_store();
  int64_t run = insert_run(*store, {.kind = "eval"});
  store->db().execute(
      "INSERT INTO tasks (name, suite, version, source, source_hash) "
      "VALUES ('t', 's', 1, 'src', 'h')");
  int64_t candidate = insert_candidate(*store, {.task_id = store->db().last_insert_id(),
                                                .origin = "human",
                                                .source = "a",
                                                .source_hash = "h"});
  insert_evaluation(*store,
                    {.candidate_id = candidate, .verdict = "compiled", .harness_version = 1});
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string expected = std::string(host) + ":" + std::to_string(getpid());
  EXPECT_EQ(store->node(), expected);
  auto runs = store->db().prepare("SELECT node FROM runs WHERE id = ?");
  runs.bind(1, run);
  ASSERT_TRUE(runs.step());
  EXPECT_EQ(runs.text(0), expected);
  auto evaluations = store->db().prepare("SELECT node FROM evaluations");
  ASSERT_TRUE(evaluations.step());
  EXPECT_EQ(evaluations.text(0), expected);
}

// PostgreSQL only, from here: what a server that goes away does to kforge. These tests stop
// and start a server of their own (the suite's), not the one other tests share.
class PostgresFaults : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { own_.reset(); }
  void SetUp() override {
    std::string why_not;
    if (!own_)
      own_ = testing::PostgresServer::private_server(&why_not);
    server_ = own_.get();
    if (server_ == nullptr)
      GTEST_SKIP() << "no PostgreSQL server for the tests: " << why_not;
  }
  static std::unique_ptr<testing::PostgresServer> own_;
  testing::PostgresServer* server_ = nullptr;
};
std::unique_ptr<testing::PostgresServer> PostgresFaults::own_;

TEST_F(PostgresFaults, AConnectionLostBetweenStatementsIsOpenedAgain) {
  std::string url = server_->create_database();
  auto store = Store::open_location(url, {.retry_seconds = 30});
  insert_run(*store, {.kind = "eval"});
  ASSERT_TRUE(server_->stop());
  ASSERT_TRUE(server_->start());
  // The server ended the connection (SQLSTATE 57P01) before this write ran: kforge opens a new
  // one and runs it, once.
  insert_run(*store, {.kind = "eval"});
  EXPECT_EQ(list_runs(*store, 10).size(), 2u);
  ASSERT_TRUE(server_->stop());
  ASSERT_TRUE(server_->start());
  EXPECT_EQ(list_runs(*store, 10).size(), 2u);  // a read, likewise
}

TEST_F(PostgresFaults, AConnectionLostInsideATransactionStopsWithTheCommittedWorkKept) {
  std::string url = server_->create_database();
  auto store = Store::open_location(url, {.retry_seconds = 30});
  insert_run(*store, {.kind = "eval"});
  try {
    Store::Transaction transaction(*store);
    insert_run(*store, {.kind = "eval"});
    ASSERT_TRUE(server_->stop());
    ASSERT_TRUE(server_->start());
    insert_run(*store, {.kind = "eval"});
    transaction.commit();
    FAIL() << "a transaction survived its connection";
  } catch (const Error& failure) {
    EXPECT_NE(std::string(failure.what()).find("lost inside a transaction"), std::string::npos)
        << failure.what();
  }
  auto again = Store::open_location(url, {.retry_seconds = 30});
  EXPECT_EQ(list_runs(*again, 10).size(), 1u);
}

TEST_F(PostgresFaults, AnUnreachableServerIsRetriedForTheStatedTimeThenRefused) {
  // A socket folder where no server listens.
  testing::TemporaryDirectory nowhere;
  std::string url = "postgresql:///kforge?host=" + nowhere.path().string() + "&user=kforge";
  auto started = std::chrono::steady_clock::now();
  try {
    Store::open_location(url, {.retry_seconds = 2});
    FAIL() << "opened a store on no server";
  } catch (const Error& failure) {
    double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::string text = failure.what();
    EXPECT_NE(text.find("the PostgreSQL server did not answer: gave up after"), std::string::npos)
        << text;
    EXPECT_NE(text.find("store.retry_s"), std::string::npos) << text;
    EXPECT_EQ(text.find('\n'), std::string::npos) << text;
    EXPECT_GE(waited, 1.0);
    EXPECT_LE(waited, 4.0);
  }
}

TEST_F(PostgresFaults, AServerThatComesBackWithinTheLimitIsWaitedFor) {
  std::string url = server_->create_database();
  ASSERT_TRUE(server_->stop());
  std::thread restart([&] {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    server_->start();
  });
  auto store = Store::open_location(url, {.retry_seconds = 30});
  restart.join();
  EXPECT_EQ(store->schema_version(), Store::latest_schema_version());
}

TEST_F(PostgresFaults, APasswordFileOthersMayReadIsRefused) {
  testing::TemporaryDirectory dir;
  std::string passfile = (dir / "pgpass").string();
  testing::write_text(passfile, "*:*:*:kforge:" + server_->password() + "\n");
  ::chmod(passfile.c_str(), 0644);
  std::string url = server_->url("postgres") + "&passfile=" + passfile;
  try {
    Store::open_location(url, {.retry_seconds = 2});
    FAIL() << "used a password file others may read";
  } catch (const Error& failure) {
    std::string text = failure.what();
    EXPECT_NE(text.find("may be read by other users (mode 0644)"), std::string::npos) << text;
    EXPECT_EQ(text.find(server_->password()), std::string::npos);
  }
  ::chmod(passfile.c_str(), 0600);
  std::string database = server_->create_database();
  ::unsetenv("PGPASSWORD");
  EXPECT_NO_THROW(Store::open_location(database + "&passfile=" + passfile, {.retry_seconds = 2}));
  ::setenv("PGPASSWORD", server_->password().c_str(), 1);
}

TEST_F(PostgresFaults, AWrongPasswordIsRefusedAtOnceWithoutShowingIt) {
  ::setenv("PGPASSWORD", "not-the-password", 1);
  auto started = std::chrono::steady_clock::now();
  try {
    Store::open_location(server_->url("postgres"), {.retry_seconds = 20});
    ADD_FAILURE() << "connected with a wrong password";
  } catch (const Error& failure) {
    std::string text = failure.what();
    EXPECT_NE(text.find("cannot connect to the PostgreSQL store"), std::string::npos) << text;
    EXPECT_EQ(text.find("not-the-password"), std::string::npos) << text;
  }
  ::setenv("PGPASSWORD", server_->password().c_str(), 1);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 10);
}

}  // namespace
}  // namespace kforge

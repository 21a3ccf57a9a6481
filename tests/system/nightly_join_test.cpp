// Several kforge processes share one night (`kforge nightly --join NIGHT`): the real binary, the
// emulated GPU worker (tests/support/emulated_gpu_worker.py through KFORGE_GPU_WORKER), a SQLite
// store (the nodes are processes of this machine) and a database of the tests' PostgreSQL server
// (the nodes could be machines). One node starts the night and owns it (its lock, its report);
// two more join before the night reaches its optimize step and wait for it; one of them is killed
// with SIGKILL while it holds a task half done: its
// lease expires (store.lease_s) and another node takes the task over from its checkpoint. The
// night completes, every seed of every task is evaluated exactly once, and the report counts
// every task. Also --join's one-line errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "datasets/postgres.hpp"
#include "datasets/store.hpp"
#include "harness/util/files.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/kforge_node.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/store_backends.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::KforgeNode;
using testing::wait_until;

constexpr int kTasks = 4;
constexpr int kSeeds = 4;

class NightlyJoinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path root = dir_.path();
    for (int task = 0; task < kTasks; ++task) {
      const std::string name = "t" + std::to_string(task);
      testing::write_text(root / "problems" / (name + ".py"), testing::kTinyReluTask);
      for (int seed = 0; seed < kSeeds; ++seed)
        testing::write_text(
            root / "seeds" / name / ("seed_" + std::to_string(seed) + ".cu"),
            testing::emulated_candidate("relu") + "// seed " + std::to_string(seed) + "\n");
    }
    // A short lease, so that a killed node's task is taken over within seconds (10 s, not 3:
    // with the whole suite running on two cores a living node's lease once expired, its renewal,
    // every third of the lease, late); no library, so that the night's work is its optimize step.
    testing::write_text(root / "kforge.toml",
                        "python = \"/usr/bin/python3\"\n"
                        "[store]\nlease_s = 10\n"
                        "[verify]\nseeds = 1\n"
                        "[timing]\ninput_sets = 2\nwarmup = 1\nmin_samples = 4\n"
                        "max_samples = 4\nbaselines = false\n[profile]\nenabled = false\n"
                        "[nightly]\nlibrary = false\ntasks = \"tiny/*\"\n"
                        "report_dir = \"reports\"\n");
    environment_ = {
        {"KFORGE_SEEDS_DIR", (root / "seeds").string()},
        {"KFORGE_GPU_WORKER",
         "/usr/bin/python3 " +
             (testing::source_dir() / "tests/support/emulated_gpu_worker.py").string()}};
    db_ = (root / "kforge.db").string();
  }

  void use_postgres() {
    std::string why_not;
    server_ = testing::PostgresServer::shared(&why_not);
    if (server_ == nullptr)
      GTEST_SKIP() << "no PostgreSQL server for the tests: " << why_not;
    db_ = server_->create_database();
  }

  std::vector<std::string> arguments(const std::vector<std::string>& command) const {
    std::vector<std::string> words = {"--workspace", dir_.path().string(), "--db", db_};
    words.insert(words.end(), command.begin(), command.end());
    return words;
  }

  ProcessResult kforge(const std::vector<std::string>& command) {
    return testing::run_kforge(arguments(command), dir_.path(), environment_, 600);
  }

  // A node whose emulated GPU takes `latency_ms` more for each timing.
  KforgeNode node(const std::vector<std::string>& command, const std::string& log,
                  int latency_ms = 1000) {
    std::map<std::string, std::string> environment = environment_;
    environment["KFORGE_GPU_WORKER"] += " --latency-ms " + std::to_string(latency_ms);
    return KforgeNode(arguments(command), environment, dir_ / log);
  }

  // The first column of the query's rows, as text, on either store.
  std::vector<std::string> column(const std::string& query) const {
    sql::Connection db = server_ == nullptr
                             ? sql::Connection(db_, /*create=*/false)
                             : sql::Connection(sql::open_postgres(db_, {.retry_seconds = 10}));
    auto statement = db.prepare(query);
    std::vector<std::string> values;
    while (statement.step())
      values.push_back(statement.is_null(0) ? "" : statement.text(0));
    return values;
  }
  std::string value(const std::string& query) const {
    try {
      const std::vector<std::string> values = column(query);
      return values.empty() ? "" : values.front();
    } catch (const std::exception& failure) {
      // The store is being created or migrated. Anything else (a connection refused under
      // load, say) reads as "not yet" too, and is shown once, for the test's log.
      if (reported_.insert(failure.what()).second)
        std::cerr << "[query failed, read as not yet] " << failure.what() << "\n";
      return "";
    }
  }

  // The query for the task that `node` holds open in the run and of which some seeds, not all,
  // are stored: a task half done.
  static std::string half_done_task(const std::string& search_run, const std::string& node) {
    return "SELECT l.task_id FROM leases l WHERE l.run_id = " + search_run + " AND l.node = '" +
           node + "' AND l.status = 'open' AND (SELECT count(*) FROM evaluations e JOIN " +
           "candidates c ON c.id = e.candidate_id WHERE c.task_id = l.task_id AND e.run_id = " +
           search_run + ") BETWEEN 1 AND " + std::to_string(kSeeds - 1);
  }

  // Every seed of every task was evaluated exactly once in the run: none twice, none missing.
  void expect_every_seed_evaluated_once(const std::string& search_run) const {
    const std::string tasks_seeds = std::to_string(kTasks * kSeeds);
    EXPECT_EQ(value("SELECT count(*) FROM candidates WHERE run_id = " + search_run), tasks_seeds);
    EXPECT_EQ(value("SELECT count(*) FROM (SELECT DISTINCT task_id, iteration FROM candidates "
                    "WHERE run_id = " +
                    search_run + ") slots"),
              tasks_seeds);
    EXPECT_EQ(value("SELECT count(*) FROM evaluations WHERE run_id = " + search_run), tasks_seeds);
    EXPECT_EQ(value("SELECT count(*) FROM candidates c WHERE run_id = " + search_run +
                    " AND (SELECT count(*) FROM evaluations e WHERE e.candidate_id = c.id) <> 1"),
              "0");
  }

  static std::string host() {
    char name[256] = {};
    return ::gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0' ? name : "unknown";
  }

  testing::TemporaryDirectory dir_;
  testing::PostgresServer* server_ = nullptr;
  std::string db_;
  std::map<std::string, std::string> environment_;
  mutable std::set<std::string> reported_;
};

// The tests below run on both stores. The PostgreSQL variant of the killed-node test was
// disabled for a while (twice under the whole suite it never saw the node to kill holding a task
// half done, cause not found); re-enabled after it passed three times in a row beside three busy
// loops on the two cores (load average 4), under the system tests at -j2 and in the whole suite
// (2026-12-04). A failure prints where the leases stood.
class NightlyJoinOnEachStore : public NightlyJoinTest,
                               public ::testing::WithParamInterface<sql::Dialect> {
 protected:
  // The parameter's store, the tiny tasks imported into it. The test returns at once when this
  // skipped (no PostgreSQL here) or failed.
  void set_up_store() {
    if (GetParam() == sql::Dialect::kPostgres)
      use_postgres();
    if (IsSkipped())
      return;
    ProcessResult imported = kforge({"tasks", "import", "problems", "--suite", "tiny"});
    ASSERT_EQ(imported.exit_code, 0) << imported.standard_error;
  }
};
INSTANTIATE_TEST_SUITE_P(, NightlyJoinOnEachStore,
                         ::testing::Values(sql::Dialect::kSqlite, sql::Dialect::kPostgres),
                         testing::backend_name);

TEST_P(NightlyJoinOnEachStore, NodesShareTheOptimizeStepAndTakeOverAKilledNodesTask) {
  set_up_store();
  if (IsSkipped() || HasFatalFailure())
    return;

  KforgeNode owner = node({"nightly", "--json"}, "owner.log");
  ASSERT_TRUE(wait_until(120, [&] { return !value("SELECT name FROM nights").empty(); }))
      << owner.log();
  const std::string night = value("SELECT name FROM nights");
  // Both join before the optimize step has leased its tasks: they wait for them.
  KforgeNode early = node({"nightly", "--join", night}, "early.log");
  // The victim's GPU is slow (5 s a timing), so that it is seen holding a task half done
  // however the machine's load paces the others: a fast one could finish its task between two
  // looks.
  KforgeNode victim = node({"nightly", "--join", night}, "victim.log", 5000);
  const std::string victim_node = host() + ":" + std::to_string(victim.pid());
  ASSERT_TRUE(wait_until(240, [&] {
    return value("SELECT count(*) FROM leases") == std::to_string(kTasks) || !owner.running();
  })) << owner.log();
  ASSERT_TRUE(owner.running()) << owner.log();

  // A second night on the store is still refused while the owner holds the lock, joiners or not.
  ProcessResult second_owner = kforge({"-q", "nightly"});
  EXPECT_EQ(second_owner.exit_code, 2);
  EXPECT_NE(second_owner.standard_error.find("another kforge nightly is running on this store"),
            std::string::npos)
      << second_owner.standard_error;

  // The victim is killed while it holds an open task of which it has stored some seeds, not all.
  const std::string search_run = value("SELECT id FROM runs WHERE kind = 'nightly-search'");
  const std::string half_done = half_done_task(search_run, victim_node);
  // What the nodes hold and stored, for a failure's message.
  auto where_things_stand = [&] {
    std::string text = "\nleases (task node status claims):";
    for (const std::string& row :
         column("SELECT task_id || ' ' || coalesce(node, '-') || ' ' || status || ' ' || claims "
                "FROM leases ORDER BY task_id"))
      text += "\n  " + row;
    text += "\nevaluations by node:";
    for (const std::string& row : column("SELECT coalesce(node, '-') || ' ' || count(*) FROM "
                                         "evaluations GROUP BY node ORDER BY node"))
      text += "\n  " + row;
    return text + "\nvictim " + victim_node + ":\n" + victim.log() + "\nearly:\n" + early.log() +
           "\nowner:\n" + owner.log();
  };
  ASSERT_TRUE(wait_until(300, [&] { return !value(half_done).empty() || !victim.running(); }))
      << where_things_stand();
  ASSERT_TRUE(victim.running()) << where_things_stand();
  victim.kill_hard();
  const std::string killed_task = value(half_done);
  ASSERT_FALSE(killed_task.empty());
  const std::string stored_by_victim =
      value("SELECT count(*) FROM evaluations WHERE node = '" + victim_node + "'");

  const int early_exit = early.wait(400);
  const int owner_exit = owner.wait(400);
  ASSERT_EQ(owner_exit, 0) << owner.log();
  ASSERT_EQ(early_exit, 0) << early.log();
  const std::string logs = owner.log() + early.log();
  EXPECT_NE(logs.find("taken over from " + victim_node + ", whose lease expired"),
            std::string::npos)
      << logs;
  EXPECT_NE(early.log().find("night " + night + ": joined as "), std::string::npos) << early.log();

  // The night completed and its report, written by the owner alone, counts every task.
  EXPECT_EQ(value("SELECT status FROM nights"), "completed");
  const fs::path report_file = dir_ / "reports" / (night + ".json");
  ASSERT_TRUE(fs::exists(report_file)) << owner.log();
  const json report = json::parse(files::read(report_file));
  EXPECT_EQ(report["outcome"], "completed");
  EXPECT_EQ(report["history"].size(), static_cast<size_t>(kTasks)) << report.dump(2);
  for (const json& step : report["steps"])
    if (step["name"] == "optimize") {
      EXPECT_EQ(step["status"], "done") << report.dump(2);
      EXPECT_NE(step["detail"].get<std::string>().find(std::to_string(kTasks) +
                                                       " tasks optimised (search) by 3 nodes"),
                std::string::npos)
          << step.dump();
    }
  size_t report_files = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir_ / "reports"))
    report_files += entry.path().extension() == ".json" ? 1 : 0;
  EXPECT_EQ(report_files, 1u);  // the joiners wrote none

  // Every task's lease is done and the killed node's task was claimed again.
  EXPECT_EQ(value("SELECT count(*) FROM leases WHERE run_id = " + search_run +
                  " AND status = 'done' AND node IS NULL"),
            std::to_string(kTasks));
  EXPECT_GE(std::stoi(value("SELECT claims FROM leases WHERE run_id = " + search_run +
                            " AND task_id = " + killed_task)),
            2);
  expect_every_seed_evaluated_once(search_run);
  // What the killed node committed is kept; its task was finished by another node; the early
  // joiner did a share of the work.
  EXPECT_NE(stored_by_victim, "0");
  EXPECT_EQ(value("SELECT count(*) FROM evaluations WHERE node = '" + victim_node + "'"),
            stored_by_victim);
  EXPECT_EQ(value("SELECT count(DISTINCT e.node) FROM evaluations e JOIN candidates c ON c.id = "
                  "e.candidate_id WHERE e.run_id = " +
                  search_run + " AND c.task_id = " + killed_task),
            "2");
  EXPECT_EQ(value("SELECT count(DISTINCT node) FROM evaluations WHERE run_id = " + search_run),
            "3");
  // The step's checkpoint names the night's nodes: the owner and the two that joined.
  const json state = json::parse(value("SELECT state FROM night_steps WHERE name = 'optimize'"));
  ASSERT_EQ(state["nodes"].size(), 3u) << state.dump(2);
  EXPECT_EQ(state["nodes"][victim_node]["role"], "joined") << state.dump(2);
  size_t owners = 0;
  for (const auto& [name, entry] : state["nodes"].items())
    owners += entry["role"] == "owner" ? 1 : 0;
  EXPECT_EQ(owners, 1u);
  EXPECT_EQ(state["tasks"].size(), static_cast<size_t>(kTasks));

  // A finished night cannot be joined.
  ProcessResult late = kforge({"nightly", "--join", night});
  EXPECT_EQ(late.exit_code, 2);
  EXPECT_EQ(late.standard_error,
            "kforge: error: night " + night + " has already finished (completed) (--join)\n");
}

// A joined node that stalls (SIGSTOP: every thread of it, its heartbeat too) while it holds a
// task half done, and goes on once the owner has taken the task over, stores nothing more of it:
// its writes are fenced by the lease. It leaves the task, saying so, the step's checkpoint does
// not count the task as its own, and every seed of every task is evaluated once.
TEST_P(NightlyJoinOnEachStore, AStalledNodeStoresNothingOfATaskTakenOverFromIt) {
  set_up_store();
  if (IsSkipped() || HasFatalFailure())
    return;

  KforgeNode owner = node({"nightly", "--json"}, "owner.log");
  ASSERT_TRUE(wait_until(120, [&] { return !value("SELECT name FROM nights").empty(); }))
      << owner.log();
  const std::string night = value("SELECT name FROM nights");
  // Slow (5 s a timing), so that it is seen holding a task half done, with seeds in flight.
  KforgeNode stalled = node({"nightly", "--join", night, "--json"}, "stalled.log", 5000);
  const std::string stalled_node = host() + ":" + std::to_string(stalled.pid());
  ASSERT_TRUE(wait_until(240, [&] {
    return value("SELECT count(*) FROM leases") == std::to_string(kTasks) || !owner.running();
  })) << owner.log();
  const std::string search_run = value("SELECT id FROM runs WHERE kind = 'nightly-search'");
  const std::string half_done = half_done_task(search_run, stalled_node);
  ASSERT_TRUE(wait_until(300, [&] { return !value(half_done).empty() || !stalled.running(); }))
      << stalled.log() << owner.log();
  ASSERT_TRUE(stalled.running()) << stalled.log();
  stalled.pause();
  const std::string stalled_task = value(half_done);
  ASSERT_FALSE(stalled_task.empty());
  const std::string stalled_name = value("SELECT name FROM tasks WHERE id = " + stalled_task);

  // Once its lease (10 s) expires, the owner takes the task over; then the stalled node goes on.
  const bool taken_over = wait_until(240, [&] {
    const std::string claims = value("SELECT claims FROM leases WHERE run_id = " + search_run +
                                     " AND task_id = " + stalled_task);
    return !claims.empty() && std::stoi(claims) >= 2;
  });
  stalled.go_on();
  ASSERT_TRUE(taken_over) << owner.log();

  const int owner_exit = owner.wait(400);
  const int stalled_exit = stalled.wait(400);
  ASSERT_EQ(owner_exit, 0) << owner.log();
  ASSERT_EQ(stalled_exit, 0) << stalled.log();
  EXPECT_NE(owner.log().find(stalled_name + ": taken over from " + stalled_node), std::string::npos)
      << owner.log();
  EXPECT_NE(stalled.log().find(stalled_name + ": the lease expired and another node took the " +
                               "task over; this node left it"),
            std::string::npos)
      << stalled.log();

  EXPECT_EQ(value("SELECT status FROM nights"), "completed");
  expect_every_seed_evaluated_once(search_run);
  // The step's checkpoint has every task once, and not the stalled one as the stalled node's.
  const json state = json::parse(value("SELECT state FROM night_steps WHERE name = 'optimize'"));
  EXPECT_EQ(state["tasks"].size(), static_cast<size_t>(kTasks)) << state.dump(2);
  const json mine = state["nodes"].value(stalled_node, json::object());
  for (const json& name : mine.value("tasks", json::array()))
    EXPECT_NE(name, stalled_name) << state.dump(2);
}

// A joining node takes the store's schema as the night's nodes left it: one of an older schema
// is refused, not migrated under the nodes that may be running that older kforge; one of a newer
// schema is refused by the opening, as every command refuses it. One line each, exit 2.
TEST_P(NightlyJoinOnEachStore, AStoreOfAnotherSchemaVersionIsRefused) {
  set_up_store();
  if (IsSkipped() || HasFatalFailure())
    return;
  const int latest = Store::latest_schema_version();
  auto set_schema_version = [&](int version) {
    sql::Connection db = server_ == nullptr
                             ? sql::Connection(db_, /*create=*/false)
                             : sql::Connection(sql::open_postgres(db_, {.retry_seconds = 10}));
    if (server_ == nullptr)
      db.execute("PRAGMA user_version = " + std::to_string(version));
    else
      db.execute("DELETE FROM kforge_schema; INSERT INTO kforge_schema VALUES (" +
                 std::to_string(version) + ")");
  };
  const std::string schema_query =
      server_ == nullptr ? "PRAGMA user_version" : "SELECT max(version) FROM kforge_schema";
  auto refused = [](const ProcessResult& result, const std::string& start) {
    EXPECT_EQ(result.exit_code, 2) << result.standard_error;
    EXPECT_EQ(result.standard_error.rfind("kforge: error: " + start, 0), 0u)
        << result.standard_error;
    EXPECT_EQ(result.standard_error.find('\n'), result.standard_error.size() - 1)
        << result.standard_error;
  };

  set_schema_version(latest - 1);
  refused(kforge({"nightly", "--join", "2026-01-01T02-00-00Z"}),
          "the store has schema version " + std::to_string(latest - 1) +
              ", older than this kforge's (" + std::to_string(latest) + ")");
  EXPECT_EQ(value(schema_query), std::to_string(latest - 1));  // not migrated

  set_schema_version(latest + 1);
  refused(kforge({"nightly", "--join", "2026-01-01T02-00-00Z"}),
          "the store has schema version " + std::to_string(latest + 1) +
              ", newer than this kforge understands (" + std::to_string(latest) + ")");
  EXPECT_EQ(value(schema_query), std::to_string(latest + 1));

  // Of this kforge's schema, the join goes on to the night, here one that does not exist.
  set_schema_version(latest);
  refused(kforge({"nightly", "--join", "2026-01-01T02-00-00Z"}),
          "no night 2026-01-01T02-00-00Z in the store (--join)");
}

// A night whose owner is killed before its optimize step stays `running` in the store, and no
// node would ever lease its tasks: a node waiting to join sees that the owner's lock is free
// and ends, saying so, instead of waiting for ever. On each store: the lock is a file beside a
// SQLite store, the database's advisory lock on PostgreSQL.
TEST_P(NightlyJoinOnEachStore, AWaitingNodeEndsWhenTheOwnerIsKilled) {
  set_up_store();
  if (IsSkipped() || HasFatalFailure())
    return;
  // The owner's Python takes two minutes to start, so that its night stays in its environment
  // step, before the optimize step, until it is killed.
  const fs::path slow_python = dir_ / "slow-python";
  testing::write_text(slow_python, "#!/bin/sh\nsleep 120\nexec /usr/bin/python3 \"$@\"\n");
  fs::permissions(slow_python, fs::perms::owner_all);
  KforgeNode owner = node({"--python", slow_python.string(), "nightly"}, "owner.log");
  ASSERT_TRUE(wait_until(120, [&] { return !value("SELECT name FROM nights").empty(); }))
      << owner.log();
  const std::string night = value("SELECT name FROM nights");
  KforgeNode joiner = node({"nightly", "--join", night, "--json"}, "joiner.log");
  ASSERT_TRUE(wait_until(120, [&] {
    return joiner.log().find("waiting for the night's optimize step") != std::string::npos ||
           !joiner.running();
  })) << joiner.log();
  ASSERT_TRUE(joiner.running()) << joiner.log();
  ASSERT_TRUE(owner.running()) << owner.log();
  // Still waiting a few seconds on: the living owner's lock keeps it.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  ASSERT_TRUE(joiner.running()) << joiner.log();

  const int owner_pid = owner.pid();
  const auto killed = std::chrono::steady_clock::now();
  owner.kill_hard();
  ASSERT_EQ(joiner.wait(60), 0) << joiner.log();
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  EXPECT_LT(took, 30) << joiner.log();
  const std::string log = joiner.log();
  const json outcome = json::parse(log.substr(log.find('{')));
  EXPECT_EQ(outcome["status"], "ended") << log;
  EXPECT_NE(outcome["detail"].get<std::string>().find(
                "the night's owner (pid " + std::to_string(owner_pid) + " on " + host() +
                ") is gone: nothing holds the night's lock; its next `kforge nightly` continues "
                "it"),
            std::string::npos)
      << log;
  EXPECT_EQ(outcome["tasks"], json::array()) << log;
  // The joiner took no lease and stored nothing; the night is left for its owner's next start.
  EXPECT_EQ(value("SELECT count(*) FROM leases"), "0");
  EXPECT_EQ(value("SELECT status FROM nights"), "running");
}

TEST_F(NightlyJoinTest, JoinErrorsAreOneLine) {
  auto one_line = [](const ProcessResult& result, const std::string& message) {
    EXPECT_EQ(result.exit_code, 2);
    EXPECT_EQ(result.standard_error, "kforge: error: " + message + "\n");
  };
  one_line(kforge({"nightly", "--join", "2026-01-01T02-00-00Z"}),
           "no night 2026-01-01T02-00-00Z in the store (--join)");
  for (const char* flag : {"--tasks", "--agents", "--report-dir", "--on-regression", "--config"})
    one_line(kforge({"nightly", "--join", "2026-01-01T02-00-00Z", flag, "x"}),
             std::string(flag) +
                 " is the night's own: a node that joins takes it from the "
                 "night (--join)");

  ProcessResult help = testing::run_kforge({"nightly", "--help"}, dir_.path());
  ASSERT_EQ(help.exit_code, 0) << help.standard_error;
  EXPECT_NE(help.standard_output.find("--join"), std::string::npos) << help.standard_output;
}

}  // namespace
}  // namespace kforge

// Several kforge processes share one optimize run in a PostgreSQL store (`optimize --join`):
// the real binary, a real PostgreSQL server the test binary starts (postgres_server.hpp), the
// emulated GPU worker (tests/support/emulated_gpu_worker.py through KFORGE_GPU_WORKER). A replay
// run is shared by candidate slot: one node starts the run, two join it, and the first is killed
// with SIGKILL while it holds slots: their leases expire (store.lease_s), other nodes take them
// over, every task's every replay item is evaluated exactly once (one candidate and one
// evaluation each), and the store is intact; two nodes on a run of one task both evaluate its
// candidates; a node that stalls past its lease and then goes on stores nothing more of a slot
// taken over from it (the fence of its writes). Each on a SQLite store too, where the nodes are
// processes of one machine. Also tune --join, and --join's one-line errors.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "datasets/postgres.hpp"
#include "datasets/store.hpp"
#include "harness/util/files.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/fake_llm_server.hpp"
#include "tests/support/kforge_node.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;

constexpr int kTasks = 4;
constexpr int kCandidates = 3;
constexpr int kSlots = kTasks * kCandidates;  // the candidate slots of a run of all the tasks

using Node = testing::KforgeNode;
using testing::wait_until;

class JoinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path root = workspace_.path();
    fs::create_directories(root / "problems");
    for (int task = 0; task < kTasks; ++task)
      testing::write_text(root / "problems" / ("t" + std::to_string(task) + ".py"),
                          testing::kTinyReluTask);
    fs::create_directories(root / "candidates");
    for (int index = 0; index < kCandidates; ++index) {
      std::string kernel = "relu_" + std::to_string(index);
      testing::write_text(root / "candidates" / (kernel + ".cu"),
                          testing::emulated_candidate(kernel));
    }
    // A short lease, so that a killed node's task is taken over within seconds.
    testing::write_text(root / "kforge.toml",
                        "python = \"/usr/bin/python3\"\n"
                        "[store]\nlease_s = 3\n"
                        "[verify]\nseeds = 1\n"
                        "[timing]\ninput_sets = 2\nwarmup = 1\nmin_samples = 4\n"
                        "max_samples = 4\nbaselines = false\n[profile]\nenabled = false\n");
    worker_ = "/usr/bin/python3 " +
              (testing::source_dir() / "tests/support/emulated_gpu_worker.py").string() +
              " --latency-ms 700";
  }

  void use_postgres() {
    std::string why_not;
    server_ = testing::PostgresServer::shared(&why_not);
    if (server_ == nullptr)
      GTEST_SKIP() << "no PostgreSQL server for the tests: " << why_not;
    db_ = server_->create_database();
  }

  ProcessResult kforge(const std::vector<std::string>& arguments) {
    std::vector<std::string> words = {"--db", db_};
    words.insert(words.end(), arguments.begin(), arguments.end());
    return testing::run_kforge(words, workspace_.path(), {{"KFORGE_GPU_WORKER", worker_}});
  }

  std::vector<std::string> node_arguments(const std::vector<std::string>& extra) {
    std::vector<std::string> words = {"--workspace", workspace_.path().string(), "--db", db_};
    words.insert(words.end(), extra.begin(), extra.end());
    return words;
  }

  std::vector<std::string> start_arguments() {
    std::vector<std::string> words = {"optimize"};
    for (int task = 0; task < kTasks; ++task)
      words.push_back("tiny/t" + std::to_string(task));
    for (const std::string& word :
         {std::string("--agent"), std::string("replay"), std::string("--from"),
          (workspace_.path() / "candidates").string(), std::string("--json")})
      words.push_back(word);
    return node_arguments(words);
  }

  sql::Connection connect() {
    if (server_ == nullptr)
      return sql::Connection(db_, /*create=*/false);
    return sql::Connection(sql::open_postgres(db_, {.retry_seconds = 10}));
  }

  int64_t integer(const std::string& query) {
    sql::Connection db = connect();
    auto statement = db.prepare(query);
    return statement.step() && !statement.is_null(0) ? statement.integer(0) : -1;
  }
  std::string text(const std::string& query) {
    sql::Connection db = connect();
    auto statement = db.prepare(query);
    return statement.step() ? statement.text(0) : std::string();
  }

  // The first column of the query's rows, as text.
  std::vector<std::string> column(const std::string& query) {
    sql::Connection db = connect();
    auto statement = db.prepare(query);
    std::vector<std::string> values;
    while (statement.step())
      values.push_back(statement.is_null(0) ? "" : statement.text(0));
    return values;
  }

  // Every task's every replay item was evaluated exactly once in the run: none twice, none
  // missing.
  void expect_every_item_evaluated_once(const std::string& run) {
    EXPECT_EQ(integer("SELECT count(*) FROM candidates WHERE run_id = " + run), kSlots);
    EXPECT_EQ(integer("SELECT count(*) FROM (SELECT DISTINCT task_id, iteration FROM candidates "
                      "WHERE run_id = " +
                      run + ") slots"),
              kSlots);
    EXPECT_EQ(integer("SELECT count(*) FROM evaluations WHERE run_id = " + run), kSlots);
    EXPECT_EQ(integer("SELECT count(*) FROM candidates c WHERE run_id = " + run +
                      " AND (SELECT count(*) FROM evaluations e WHERE e.candidate_id = c.id) <> 1"),
              0);
  }

  testing::TemporaryDirectory workspace_;
  testing::PostgresServer* server_ = nullptr;
  std::string db_;
  std::string worker_;
};

// The same on both stores: across machines on PostgreSQL, on one machine on SQLite.
class JoinOnEachStore : public JoinTest, public ::testing::WithParamInterface<sql::Dialect> {
 protected:
  // The parameter's store, the tiny tasks imported into it. The test returns at once when this
  // skipped (no PostgreSQL here) or failed.
  void set_up_store() {
    if (GetParam() == sql::Dialect::kPostgres)
      use_postgres();
    else
      db_ = (workspace_.path() / "kforge.db").string();
    if (IsSkipped())
      return;
    ProcessResult imported = kforge({"tasks", "import", "problems", "--suite", "tiny"});
    ASSERT_EQ(imported.exit_code, 0) << imported.standard_error;
  }
};
INSTANTIATE_TEST_SUITE_P(, JoinOnEachStore,
                         ::testing::Values(sql::Dialect::kPostgres, sql::Dialect::kSqlite),
                         [](const ::testing::TestParamInfo<sql::Dialect>& info) {
                           return info.param == sql::Dialect::kSqlite ? "Sqlite" : "Postgres";
                         });

TEST_P(JoinOnEachStore, NodesShareARunAndTakeOverTheSlotsOfAKilledOne) {
  set_up_store();
  if (IsSkipped() || HasFatalFailure())
    return;

  const std::map<std::string, std::string> environment = {{"KFORGE_GPU_WORKER", worker_}};
  Node first(start_arguments(), environment, workspace_.path() / "first.log");
  ASSERT_TRUE(wait_until(120, [&] {
    return integer("SELECT count(*) FROM slot_leases") == kSlots || !first.running();
  })) << first.log();
  ASSERT_TRUE(first.running()) << first.log();
  const int64_t run = integer("SELECT max(id) FROM runs");
  const std::string run_text = std::to_string(run);
  const std::string first_node = text("SELECT node FROM runs WHERE id = " + run_text);
  Node second(node_arguments({"optimize", "--join", run_text, "--json"}), environment,
              workspace_.path() / "second.log");
  Node third(node_arguments({"optimize", "--join", run_text, "--json"}), environment,
             workspace_.path() / "third.log");

  // Killed while it holds candidate slots, having stored some candidates.
  const std::string held_by_first = "SELECT slot FROM slot_leases WHERE run_id = " + run_text +
                                    " AND node = '" + first_node + "' AND status = 'open'";
  const std::string stored_by =
      "SELECT count(*) FROM evaluations WHERE node = '" + first_node + "'";
  ASSERT_TRUE(wait_until(240, [&] {
    return (integer(stored_by) >= 1 && column(held_by_first).size() >= 1) || !first.running();
  })) << first.log();
  ASSERT_TRUE(first.running()) << first.log();
  first.kill_hard();
  const std::vector<std::string> killed_slots = column(held_by_first);
  ASSERT_FALSE(killed_slots.empty());
  const int64_t stored_by_first = integer(stored_by);

  const int second_exit = second.wait(400);
  const int third_exit = third.wait(400);
  ASSERT_EQ(second_exit, 0) << second.log();
  ASSERT_EQ(third_exit, 0) << third.log();
  const std::string logs = second.log() + third.log();
  EXPECT_NE(logs.find("taken over from " + first_node + ", whose lease expired"), std::string::npos)
      << logs;

  // The run completed; every slot's lease is done; the killed node's slots were claimed again.
  EXPECT_EQ(text("SELECT status FROM runs WHERE id = " + run_text), "completed");
  EXPECT_EQ(integer("SELECT count(*) FROM slot_leases WHERE run_id = " + run_text +
                    " AND status = 'done' AND node IS NULL"),
            kSlots);
  for (const std::string& slot : killed_slots)
    EXPECT_GE(integer("SELECT claims FROM slot_leases WHERE run_id = " + run_text +
                      " AND slot = " + slot),
              2)
        << "slot " << slot;
  expect_every_item_evaluated_once(run_text);
  // What the killed node committed is kept; the others did the rest.
  EXPECT_GE(stored_by_first, 1);
  EXPECT_EQ(integer(stored_by), stored_by_first);
  EXPECT_EQ(integer("SELECT count(DISTINCT node) FROM evaluations WHERE run_id = " + run_text), 3);
  // The store is intact: every evaluation has its candidate, and kforge reads the run.
  EXPECT_EQ(integer("SELECT count(*) FROM evaluations e LEFT JOIN candidates c ON c.id = "
                    "e.candidate_id WHERE c.id IS NULL"),
            0);
  ProcessResult runs = kforge({"runs", "--json"});
  ASSERT_EQ(runs.exit_code, 0) << runs.standard_error;

  // A finished run cannot be joined.
  ProcessResult late = kforge({"optimize", "--join", run_text});
  EXPECT_NE(late.exit_code, 0);
  EXPECT_EQ(late.standard_error,
            "kforge: error: run " + run_text + " has already completed (--join)\n");
}

// A replay run whose only node was killed is continued with --resume: the slots it held are
// freed at once, those whose candidates it stored are found stored, the others evaluated, every
// item once. A run without slot leases (as a kforge from before them left it) gets them at the
// resume and ends the same way.
TEST_P(JoinOnEachStore, AKilledReplayRunResumesByItsSlots) {
  set_up_store();
  if (IsSkipped() || HasFatalFailure())
    return;
  const std::map<std::string, std::string> environment = {{"KFORGE_GPU_WORKER", worker_}};
  for (const bool without_slots : {false, true}) {
    SCOPED_TRACE(without_slots ? "a run without slot leases" : "a run with slot leases");
    Node first(start_arguments(), environment,
               workspace_.path() / (without_slots ? "old.log" : "first.log"));
    ASSERT_TRUE(wait_until(120, [&] {
      return integer("SELECT count(*) FROM runs WHERE status = 'running'") == 1 || !first.running();
    })) << first.log();
    const std::string run = std::to_string(integer("SELECT max(id) FROM runs"));
    const std::string first_node = text("SELECT node FROM runs WHERE id = " + run);
    ASSERT_TRUE(wait_until(240, [&] {
      return integer("SELECT count(*) FROM evaluations WHERE run_id = " + run) >= 2 ||
             !first.running();
    })) << first.log();
    ASSERT_TRUE(first.running()) << first.log();
    first.kill_hard();
    const int64_t stored = integer("SELECT count(*) FROM evaluations WHERE run_id = " + run);
    if (without_slots)
      connect().execute("DELETE FROM slot_leases WHERE run_id = " + run);

    ProcessResult resumed = kforge({"optimize", "--resume", run, "--json"});
    ASSERT_EQ(resumed.exit_code, 0) << resumed.standard_error;
    const nlohmann::json report = nlohmann::json::parse(resumed.standard_output);
    EXPECT_EQ(report["status"], "completed") << report.dump(2);
    ASSERT_EQ(report["tasks"].size(), static_cast<size_t>(kTasks)) << report.dump(2);
    for (const nlohmann::json& task : report["tasks"])
      EXPECT_EQ(task["attempts"], kCandidates) << task.dump(2);
    if (!without_slots) {
      EXPECT_NE(resumed.standard_error.find("freed "), std::string::npos) << resumed.standard_error;
    }
    expect_every_item_evaluated_once(run);
    // What the killed node stored was kept, not evaluated again.
    EXPECT_EQ(integer("SELECT count(*) FROM evaluations WHERE run_id = " + run + " AND node = '" +
                      first_node + "'"),
              stored);
    EXPECT_EQ(integer("SELECT count(*) FROM slot_leases WHERE run_id = " + run +
                      " AND status = 'done' AND node IS NULL"),
              kSlots);
  }
}

// Candidate slots, not tasks, are what nodes share in a replay run: two nodes on a run of one
// task both evaluate candidates of it, each candidate once, and the run's summary (written by
// the node that finished it) counts the task's every candidate.
TEST_P(JoinOnEachStore, TwoNodesShareTheCandidatesOfOneTask) {
  set_up_store();
  if (IsSkipped() || HasFatalFailure())
    return;
  for (int index = kCandidates; index < 8; ++index) {
    std::string kernel = "relu_" + std::to_string(index);
    testing::write_text(workspace_.path() / "candidates" / (kernel + ".cu"),
                        testing::emulated_candidate(kernel));
  }
  const std::map<std::string, std::string> environment = {{"KFORGE_GPU_WORKER", worker_}};
  Node first(node_arguments({"optimize", "tiny/t0", "--agent", "replay", "--from",
                             (workspace_.path() / "candidates").string(), "--json"}),
             environment, workspace_.path() / "first.log");
  ASSERT_TRUE(wait_until(120, [&] {
    return integer("SELECT count(*) FROM slot_leases") == 8 || !first.running();
  })) << first.log();
  const std::string run_text = std::to_string(integer("SELECT max(id) FROM runs"));
  Node second(node_arguments({"optimize", "--join", run_text, "--json"}), environment,
              workspace_.path() / "second.log");
  ASSERT_EQ(first.wait(400), 0) << first.log();
  ASSERT_EQ(second.wait(400), 0) << second.log();

  EXPECT_EQ(text("SELECT status FROM runs WHERE id = " + run_text), "completed");
  EXPECT_EQ(integer("SELECT count(*) FROM candidates WHERE run_id = " + run_text), 8);
  EXPECT_EQ(integer("SELECT count(DISTINCT iteration) FROM candidates WHERE run_id = " + run_text),
            8);
  EXPECT_EQ(integer("SELECT count(*) FROM evaluations WHERE run_id = " + run_text), 8);
  EXPECT_EQ(integer("SELECT count(DISTINCT node) FROM evaluations WHERE run_id = " + run_text), 2);
  EXPECT_EQ(text("SELECT status FROM run_tasks WHERE run_id = " + run_text), "completed");
  const nlohmann::json summary =
      nlohmann::json::parse(text("SELECT summary FROM runs WHERE id = " + run_text));
  ASSERT_EQ(summary["tasks"].size(), 1u) << summary.dump(2);
  EXPECT_EQ(summary["tasks"][0]["attempts"], 8) << summary.dump(2);
  EXPECT_EQ(summary["tasks"][0]["status"], "completed") << summary.dump(2);
}

// An LLM run is shared by task: two nodes each run some of its tasks to the end, and the run's
// summary, written by the node that ended it, sums up every task, the other node's too (from the
// outcome each task's last checkpoint keeps); so does that node's --json report.
TEST_P(JoinOnEachStore, TheSummaryOfASharedLlmRunCountsEveryNodesTasks) {
  set_up_store();
  if (IsSkipped() || HasFatalFailure())
    return;
  // The model takes 4 s an answer (so that the second node, however slowly it starts on a busy
  // machine, finds tasks left to claim), and answers with an honest ReLU for the emulated GPU.
  const fs::path candidate = workspace_.path() / "llm-candidate.cu";
  testing::write_text(candidate, testing::emulated_candidate("relu_llm"));
  testing::FakeLlmServer server({"--latency", "4", "--candidate", candidate.string()});
  const std::map<std::string, std::string> environment = {{"KFORGE_GPU_WORKER", worker_}};
  std::vector<std::string> start = {"optimize"};
  for (int task = 0; task < kTasks; ++task)
    start.push_back("tiny/t" + std::to_string(task));
  for (const char* word : {"--agent", "llm", "--strategy", "sample", "--samples", "1",
                           "--iterations", "1", "--model", "ok/shared", "--json"})
    start.push_back(word);
  start.push_back("--base-url");
  start.push_back(server.base_url());
  Node first(node_arguments(start), environment, workspace_.path() / "first.log");
  ASSERT_TRUE(wait_until(120, [&] {
    return integer("SELECT count(*) FROM leases") == kTasks || !first.running();
  })) << first.log();
  const std::string run_text = std::to_string(integer("SELECT max(id) FROM runs"));
  Node second(node_arguments({"optimize", "--join", run_text, "--json"}), environment,
              workspace_.path() / "second.log");
  const int first_exit = first.wait(400);
  const int second_exit = second.wait(400);
  ASSERT_EQ(first_exit, 0) << first.log();
  ASSERT_EQ(second_exit, 0) << second.log();

  EXPECT_EQ(text("SELECT status FROM runs WHERE id = " + run_text), "completed");
  // Both nodes ran tasks, each task once.
  ASSERT_EQ(integer("SELECT count(DISTINCT node) FROM evaluations WHERE run_id = " + run_text), 2)
      << first.log() << second.log();
  EXPECT_EQ(integer("SELECT count(*) FROM evaluations WHERE run_id = " + run_text), kTasks);
  const nlohmann::json summary =
      nlohmann::json::parse(text("SELECT summary FROM runs WHERE id = " + run_text));
  ASSERT_EQ(summary["tasks"].size(), static_cast<size_t>(kTasks)) << summary.dump(2);
  std::set<std::string> named;
  for (const nlohmann::json& task : summary["tasks"]) {
    named.insert(task["task"].get<std::string>());
    EXPECT_EQ(task["status"], "completed") << task.dump(2);
    EXPECT_EQ(task["attempts"], 1) << task.dump(2);
    EXPECT_EQ(task["verdicts"]["correct"], 1) << task.dump(2);
    EXPECT_GT(task["input_tokens"].get<int64_t>(), 0) << task.dump(2);
    EXPECT_TRUE(task["best"].is_object()) << task.dump(2);
  }
  EXPECT_EQ(named.size(), static_cast<size_t>(kTasks));
  // The node that ended the run reports every task; it is the one that did not say it left
  // tasks to the other.
  const bool first_ended = first.log().find("left to the other nodes") == std::string::npos;
  const std::string ended_log = first_ended ? first.log() : second.log();
  const nlohmann::json report = nlohmann::json::parse(ended_log.substr(ended_log.find("{\n")));
  EXPECT_EQ(report["status"], "completed") << ended_log;
  EXPECT_EQ(report["tasks"].size(), static_cast<size_t>(kTasks)) << ended_log;
}

// A node that stalls (SIGSTOP: every thread of it, its heartbeat too) while it holds candidate
// slots whose candidates are in flight, and goes on after another node has taken one of them
// over: what it finishes of that slot is refused by the fence of its writes (the lease's claim is
// no longer its own), so that it stores no candidate twice; it leaves the slot, saying so, and
// the run completes with every task's every replay item evaluated exactly once.
TEST_P(JoinOnEachStore, AStalledNodeStoresNothingOfASlotTakenOverFromIt) {
  set_up_store();
  if (IsSkipped() || HasFatalFailure())
    return;

  const std::map<std::string, std::string> environment = {{"KFORGE_GPU_WORKER", worker_}};
  Node first(start_arguments(), environment, workspace_.path() / "first.log");
  ASSERT_TRUE(wait_until(120, [&] {
    return integer("SELECT count(*) FROM slot_leases") == kSlots || !first.running();
  })) << first.log();
  const std::string run_text = std::to_string(integer("SELECT max(id) FROM runs"));
  const std::string first_node = text("SELECT node FROM runs WHERE id = " + run_text);
  // A slot the first node holds whose candidate it has not stored yet (in flight).
  const std::string in_flight =
      "SELECT min(s.slot) FROM slot_leases s WHERE s.run_id = " + run_text + " AND s.node = '" +
      first_node + "' AND s.status = 'open' AND NOT EXISTS (SELECT 1 FROM candidates c WHERE " +
      "c.run_id = s.run_id AND c.task_id = s.task_id AND c.iteration = s.item)";
  const std::string stored_by =
      "SELECT count(*) FROM evaluations WHERE node = '" + first_node + "'";
  ASSERT_TRUE(wait_until(240, [&] {
    return (integer(stored_by) >= 1 && integer(in_flight) >= 0) || !first.running();
  })) << first.log();
  ASSERT_TRUE(first.running()) << first.log();
  first.pause();
  const int64_t stalled_slot = integer(in_flight);
  ASSERT_GE(stalled_slot, 0);
  const std::string slot_text = std::to_string(stalled_slot);

  // Another node joins and, once the stalled node's leases expire, takes its slots over; then
  // the stalled node goes on, its candidates in flight finished.
  Node second(node_arguments({"optimize", "--join", run_text, "--json"}), environment,
              workspace_.path() / "second.log");
  const bool taken_over = wait_until(240, [&] {
    return integer("SELECT claims FROM slot_leases WHERE run_id = " + run_text +
                   " AND slot = " + slot_text) >= 2;
  });
  first.go_on();
  ASSERT_TRUE(taken_over) << second.log();

  const int second_exit = second.wait(400);
  const int first_exit = first.wait(400);
  ASSERT_EQ(second_exit, 0) << second.log();
  ASSERT_EQ(first_exit, 0) << first.log();
  EXPECT_NE(second.log().find("taken over from " + first_node + ", whose lease expired"),
            std::string::npos)
      << second.log();
  EXPECT_NE(first.log().find(": the lease expired and another node took the candidate slot "
                             "over; this node left it"),
            std::string::npos)
      << first.log();

  // Nothing stored twice: every replay item of every task once.
  EXPECT_EQ(text("SELECT status FROM runs WHERE id = " + run_text), "completed");
  expect_every_item_evaluated_once(run_text);
  EXPECT_EQ(integer("SELECT count(*) FROM run_tasks WHERE run_id = " + run_text +
                    " AND status = 'completed'"),
            kTasks);
  EXPECT_EQ(integer("SELECT count(*) FROM slot_leases WHERE run_id = " + run_text +
                    " AND status = 'done' AND node IS NULL"),
            kSlots);
}

// `kforge tune --join`: two nodes share one tuning run of the whole space (17 points), points
// taken by lease; the first is killed with SIGKILL while it evaluates a point, whose lease
// expires and which the other node then evaluates (or finds stored) and tells. Every point is
// told once, evaluated at most once, and the best is the space's optimum, as one node finds it.
TEST_P(JoinOnEachStore, TuneNodesShareARunAndTakeOverTheKilledOnesPoint) {
  set_up_store();
  if (IsSkipped() || HasFatalFailure())
    return;
  // BLOCK 128 to 1024 within 4096 elements a block: 17 points, the emulated optimum (256, 4)
  // among them (tune_test.cpp's emulated_cost).
  constexpr int kPoints = 17;
  const fs::path candidate = workspace_.path() / "tiled.cu";
  testing::write_text(candidate,
                      testing::tiled_candidate("[\"BLOCK >= 128\", \"BLOCK * ITEMS <= 4096\"]"));

  // A point takes 1.5 s on the emulated GPU, so that the first node is still at work when the
  // second has started (its workers and reference runner take seconds on a loaded machine).
  const std::map<std::string, std::string> environment = {
      {"KFORGE_GPU_WORKER", worker_ + " --latency-ms 1500"}};
  Node first(node_arguments({"tune", candidate.string(), "--task", "tiny/t0", "--fraction", "1",
                             "--strategy", "random", "--json"}),
             environment, workspace_.path() / "first.log");
  ASSERT_TRUE(wait_until(120, [&] {
    return integer("SELECT count(*) FROM point_leases") > 0 || !first.running();
  })) << first.log();
  ASSERT_TRUE(first.running()) << first.log();
  const std::string run = std::to_string(integer("SELECT max(id) FROM runs WHERE kind = 'tune'"));
  const std::string first_node = text("SELECT node FROM runs WHERE id = " + run);
  Node second(node_arguments({"tune", "--join", run, "--json"}), environment,
              workspace_.path() / "second.log");

  // Killed while it holds a point, once both nodes have stored evaluations of the run.
  const std::string held_by_first = "SELECT max(point) FROM point_leases WHERE run_id = " + run +
                                    " AND status = 'open' AND node = '" + first_node + "'";
  const std::string stored_by =
      "SELECT count(*) FROM evaluations WHERE run_id = " + run + " AND node ";
  ASSERT_TRUE(wait_until(300,
                         [&] {
                           return !first.running() ||
                                  (integer(held_by_first) >= 0 &&
                                   integer(stored_by + "= '" + first_node + "'") >= 1 &&
                                   integer(stored_by + "<> '" + first_node + "'") >= 1);
                         }))
      << first.log() << second.log();
  ASSERT_TRUE(first.running()) << first.log();
  first.kill_hard();
  const int64_t killed_point = integer(held_by_first);
  ASSERT_GE(killed_point, 0);
  const int64_t stored_by_first = integer(stored_by + "= '" + first_node + "'");

  ASSERT_EQ(second.wait(400), 0) << second.log();
  const std::string log = second.log();
  EXPECT_NE(log.find("point " + std::to_string(killed_point) + ": taken over from " + first_node +
                     ", whose lease expired"),
            std::string::npos)
      << log;
  // The report on stdout, after the progress lines on stderr (one file for both).
  ASSERT_NE(log.find("\n{"), std::string::npos) << log;
  const nlohmann::json report = nlohmann::json::parse(log.substr(log.find("\n{") + 1));
  EXPECT_EQ(report["status"], "completed");
  ASSERT_EQ(report["points"].size(), static_cast<size_t>(kPoints)) << report.dump();
  EXPECT_EQ(report["best"]["defines"], (nlohmann::json{{"BLOCK", 256}, {"ITEMS", 4}}));
  std::set<std::string> told;
  for (const nlohmann::json& point : report["points"])
    EXPECT_TRUE(told.insert(point["defines"].dump()).second) << point.dump();

  // Every point handed out once, told once (its lease done); the killed one claimed again.
  EXPECT_EQ(text("SELECT status FROM runs WHERE id = " + run), "completed");
  EXPECT_EQ(integer("SELECT count(*) FROM point_leases WHERE run_id = " + run +
                    " AND status = 'done' AND node IS NULL"),
            kPoints);
  EXPECT_EQ(integer("SELECT claims FROM point_leases WHERE run_id = " + run +
                    " AND point = " + std::to_string(killed_point)),
            2);
  // Each point evaluated at most once (the killed node's point once more only if it had not
  // stored it), every evaluation a point of the run; both nodes stored some, and what the
  // killed one stored is kept.
  EXPECT_EQ(integer("SELECT count(*) FROM (SELECT defines FROM candidates WHERE run_id = " + run +
                    " GROUP BY defines HAVING count(*) > 1) twice"),
            0);
  EXPECT_EQ(integer("SELECT count(*) FROM evaluations WHERE run_id = " + run), kPoints);
  EXPECT_EQ(integer(stored_by + "= '" + first_node + "'"), stored_by_first);
  EXPECT_GE(integer(stored_by + "<> '" + first_node + "'"), 1);

  // A finished tuning run cannot be joined.
  ProcessResult late = kforge({"tune", "--join", run});
  EXPECT_NE(late.exit_code, 0);
  EXPECT_EQ(late.standard_error, "kforge: error: run " + run + " has already completed (--join)\n");
}

TEST_F(JoinTest, TuneJoinErrorsAreOneLine) {
  db_ = (workspace_.path() / "kforge.db").string();
  auto one_line = [](const ProcessResult& result, const std::string& text) {
    EXPECT_NE(result.exit_code, 0);
    EXPECT_EQ(result.standard_error.rfind("kforge: error: ", 0), 0u) << result.standard_error;
    EXPECT_NE(result.standard_error.find(text), std::string::npos) << result.standard_error;
    EXPECT_EQ(result.standard_error.find('\n'), result.standard_error.size() - 1)
        << result.standard_error;
  };
  one_line(kforge({"tune", "--join", "42"}), "no tuning run 42 in the store");
  one_line(kforge({"tune", "--join", "42", "--resume", "42"}), "--join works beside");
  one_line(kforge({"tune", "x.cu", "--join", "42"}),
           "--join takes the candidate, task, strategy and budgets from the run: give a "
           "candidate file only to start a run (--join)");
  one_line(kforge({"tune", "--join", "42", "--task", "tiny/t0"}), "give --task only");
  one_line(kforge({"tune", "--join", "42", "--max-evals", "3"}), "give --max-evals only");
  one_line(kforge({"tune", "--join", "42", "--strategy", "random"}), "give --strategy only");
}

TEST_F(JoinTest, HelpNamesJoinAndTheLeaseKey) {
  ProcessResult help = testing::run_kforge({"optimize", "--help"}, workspace_.path());
  ASSERT_EQ(help.exit_code, 0) << help.standard_error;
  EXPECT_NE(help.standard_output.find("--join"), std::string::npos) << help.standard_output;
  EXPECT_NE(help.standard_output.find("store.lease_s"), std::string::npos) << help.standard_output;
}

TEST_F(JoinTest, JoinErrorsAreOneLine) {
  use_postgres();
  if (IsSkipped())
    return;
  auto one_line = [](const ProcessResult& result, const std::string& start) {
    EXPECT_NE(result.exit_code, 0);
    EXPECT_EQ(result.standard_error.rfind("kforge: error: " + start, 0), 0u)
        << result.standard_error;
    EXPECT_EQ(result.standard_error.find('\n'), result.standard_error.size() - 1)
        << result.standard_error;
  };
  one_line(kforge({"optimize", "--join", "42"}), "no optimize run 42 in the store");
  one_line(kforge({"optimize", "--join", "42", "--resume", "42"}), "--join works beside");
  one_line(kforge({"optimize", "tiny/t0", "--join", "42"}),
           "--join continues the run's own tasks: name none");

  // A run nobody works on any more (its only node stopped by Ctrl-C) is resumed, not joined.
  ProcessResult imported = kforge({"tasks", "import", "problems", "--suite", "tiny"});
  ASSERT_EQ(imported.exit_code, 0) << imported.standard_error;
  std::string stopped_log;
  {
    Node stopped(node_arguments({"optimize", "tiny/t0", "--agent", "replay", "--from",
                                 (workspace_.path() / "candidates").string()}),
                 {{"KFORGE_GPU_WORKER", worker_}}, workspace_.path() / "stopped.log");
    // Stopped once a lane holds a candidate slot (its Ctrl-C handler is in place by then).
    ASSERT_TRUE(wait_until(240, [&] {
      return integer("SELECT count(*) FROM slot_leases WHERE node IS NOT NULL") > 0 ||
             !stopped.running();
    })) << stopped.log();
    ASSERT_TRUE(stopped.running()) << stopped.log();
    stopped.interrupt();
    EXPECT_EQ(stopped.wait(120), 130) << stopped.log();
    stopped_log = stopped.log();
  }
  const std::string run = std::to_string(integer("SELECT max(id) FROM runs"));
  ASSERT_EQ(text("SELECT status FROM runs WHERE id = " + run), "interrupted") << stopped_log;
  one_line(kforge({"optimize", "--join", run}),
           "run " + run +
               " is interrupted: no node works on it to join; continue it with "
               "`kforge optimize --resume " +
               run + "`");
  one_line(kforge({"tune", "--join", run}), "run " + run + " is not a tuning run");

  // A node whose candidate files are not the run's numbers other slots: refused (the run set
  // running again by hand, as if its node still worked on it).
  connect().execute("UPDATE runs SET status = 'running' WHERE id = " + run);
  testing::write_text(workspace_.path() / "candidates" / "relu_extra.cu",
                      testing::emulated_candidate("relu_extra"));
  one_line(kforge({"optimize", "--join", run}),
           "the tasks and candidates this node loads are not the run's (" +
               std::to_string(kCandidates) + " candidate slots, this node has " +
               std::to_string(kCandidates + 1) + ")");
  connect().execute("UPDATE runs SET status = 'interrupted' WHERE id = " + run);

  // A store of an older schema is not migrated under the nodes that may work in it.
  {
    sql::Connection db = connect();
    db.execute(
        "DROP TABLE slot_leases; DROP TABLE point_leases; DROP TABLE leases; "
        "DELETE FROM kforge_schema; INSERT INTO kforge_schema VALUES (7)");
  }
  one_line(kforge({"optimize", "--join", run}), "the store has schema version 7, older than");
  // Any other command migrates it.
  ProcessResult migrated = kforge({"runs"});
  EXPECT_EQ(migrated.exit_code, 0) << migrated.standard_error;
  EXPECT_EQ(integer("SELECT max(version) FROM kforge_schema"), Store::latest_schema_version());
}

}  // namespace
}  // namespace kforge

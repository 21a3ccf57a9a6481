// The Slurm launch recipe (scripts/scale-out/kforge-array.sbatch, docs/scale-out.md) submitted
// as it is, with sbatch, to a real single-node Slurm that the test starts itself
// (tests/support/slurm_cluster.hpp): an array job of two tasks, each a kforge node on its own
// (emulated) GPU, writing to one store, a SQLite file in the submit folder or a PostgreSQL
// database (the tests' server, tests/support/postgres_server.hpp). The store then holds the
// completed work. Without Slurm (or not root) or without PostgreSQL, the tests skip, saying why.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "datasets/postgres.hpp"
#include "harness/util/files.hpp"
#include "tests/support/emulated_gpu_environment.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/slurm_cluster.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/tiny_workspace.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;

constexpr int kCandidates = 3;

enum class StoreKind { kSqlite, kPostgres };

class SlurmLaunch : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    if (std::string why = testing::SlurmCluster::unavailable(); !why.empty())
      GTEST_SKIP() << "no single-node Slurm: " << why;
    const fs::path root = workspace_.path();
    if (GetParam() == StoreKind::kSqlite) {
      url_ = (root / "kforge.db").string();
    } else {
      std::string why_not;
      server_ = testing::PostgresServer::shared(&why_not);
      if (server_ == nullptr)
        GTEST_SKIP() << "no PostgreSQL server for the tests: " << why_not;
      url_ = server_->create_database();
    }

    testing::write_two_tiny_tasks(root);
    ProcessResult imported =
        run_kforge({"--db", url_, "tasks", "import", "problems", "--suite", "tiny"}, root);
    ASSERT_EQ(imported.exit_code, 0) << imported.standard_error;
    fs::create_directories(root / "candidates");
    for (int index = 0; index < kCandidates; ++index) {
      std::string kernel = "relu_" + std::to_string(index);
      testing::write_text(root / "candidates" / (kernel + ".cu"),
                          testing::emulated_candidate(kernel));
    }
  }

  sql::Connection open_store() const {
    if (GetParam() == StoreKind::kSqlite)
      return sql::Connection(url_, false);
    return sql::Connection(sql::open_postgres(url_, {.retry_seconds = 10}));
  }

  // Submits the recipe from the workspace as an array job of `tasks` array tasks; the settings
  // are the environment sbatch passes on (as a user's would be). Returns the job id.
  std::string submit(int tasks, const std::map<std::string, std::string>& settings,
                     int latency_ms = 0) {
    std::string failure;
    if (cluster_ == nullptr)
      cluster_ = testing::SlurmCluster::start(&failure);
    if (cluster_ == nullptr) {
      ADD_FAILURE() << "Slurm is installed but did not start: " << failure;
      return "";
    }
    std::map<std::string, std::string> environment = testing::emulated_gpu_environment();
    environment["KFORGE_GPU_WORKER"] += " --latency-ms " + std::to_string(latency_ms);
    environment["KFORGE"] = testing::kforge_binary().string();
    environment["KFORGE_PYTHON"] = "/usr/bin/python3";
    environment["KFORGE_DB"] = url_;
    environment["KFORGE_CONFIG"] = (workspace_.path() / "kforge.toml").string();
    environment["KFORGE_TASKS"] = "tiny/tiny_a tiny/tiny_b";
    environment["KFORGE_ARGS"] =
        "--agent replay --from " + (workspace_.path() / "candidates").string();
    for (const auto& [name, value] : settings)
      environment[name] = value;
    // The node has two CPUs: the recipe's --cpus-per-task=8 is a GPU node's, overridden here
    // on the command line as a site would.
    ProcessResult submitted = cluster_->command(
        "sbatch",
        {"--parsable", "--array=0-" + std::to_string(tasks - 1), "--cpus-per-task=1", "--time=10",
         (testing::source_dir() / "scripts/scale-out/kforge-array.sbatch").string()},
        60, environment, workspace_.path());
    EXPECT_TRUE(submitted.succeeded()) << submitted.standard_error;
    std::string job(strings::trim(submitted.standard_output));
    EXPECT_FALSE(job.empty());
    return job;
  }

  // Waits for the job; returns each array task's JobState, by task index.
  std::map<int, std::string> finish(const std::string& job, int seconds = 400) {
    if (job.empty())
      return {};
    EXPECT_TRUE(cluster_->wait_for(job, seconds))
        << "the job did not finish in " << seconds << " s\n"
        << cluster_->job_record(job);
    std::map<int, std::string> states;
    for (const std::string& line : strings::split(cluster_->job_record(job), '\n')) {
      size_t task = line.find("ArrayTaskId="), state = line.find("JobState=");
      if (task == std::string::npos || state == std::string::npos)
        continue;
      int index = std::atoi(line.c_str() + task + 12);
      states[index] = line.substr(state + 9, line.find(' ', state) - state - 9);
    }
    return states;
  }

  std::string output_of(const std::string& job, int task) {
    fs::path path = workspace_.path() / ("kforge-" + job + "_" + std::to_string(task) + ".out");
    return fs::exists(path) ? files::read(path) : "(no output file " + path.string() + ")";
  }

  struct StoredRun {
    int64_t id = 0;
    std::string status, tasks, node;
    int64_t evaluations = 0;
    int64_t evaluating_nodes = 0;  // the processes that stored its evaluations
  };
  std::vector<StoredRun> optimize_runs() {
    sql::Connection db = open_store();
    auto query = db.prepare(
        "SELECT r.id, r.status, r.request, r.node, "
        "(SELECT count(*) FROM evaluations e WHERE e.run_id = r.id), "
        "(SELECT count(DISTINCT e.node) FROM evaluations e WHERE e.run_id = r.id) "
        "FROM runs r WHERE r.kind = 'optimize' ORDER BY r.id");
    std::vector<StoredRun> runs;
    while (query.step()) {
      runs.push_back({query.integer(0), query.text(1),
                      nlohmann::json::parse(query.text(2))["tasks"].dump(), query.text(3),
                      query.integer(4), query.integer(5)});
    }
    return runs;
  }

  testing::PostgresServer* server_ = nullptr;
  std::string url_;
  testing::TemporaryDirectory workspace_;
  std::unique_ptr<testing::SlurmCluster> cluster_;
};

TEST_P(SlurmLaunch, ArrayTasksEachRunTheirShareIntoOneStore) {
  std::string job = submit(2, {{"KFORGE_MODE", "split"}});
  ASSERT_FALSE(job.empty());
  std::map<int, std::string> states = finish(job);
  for (int task : {0, 1}) {
    EXPECT_EQ(states[task], "COMPLETED") << output_of(job, task);
    // Each array task had a GPU of its own (gres: CUDA_VISIBLE_DEVICES set by Slurm).
    EXPECT_NE(output_of(job, task).find("kforge array task " + std::to_string(task)),
              std::string::npos)
        << output_of(job, task);
  }
  std::set<std::string> gpus;
  for (int task : {0, 1}) {
    std::string output = output_of(job, task);
    size_t at = output.find(", GPU ");
    if (at != std::string::npos)
      gpus.insert(output.substr(at + 6, output.find('\n', at) - at - 6));
  }
  EXPECT_EQ(gpus, (std::set<std::string>{"0", "1"}));

  // Task i went to array task i: two runs of one task each, both completed, every candidate
  // evaluated, written by two different processes.
  std::vector<StoredRun> runs = optimize_runs();
  ASSERT_EQ(runs.size(), 2u);
  std::set<std::string> tasks, nodes;
  for (const StoredRun& run : runs) {
    EXPECT_EQ(run.status, "completed") << run.id;
    EXPECT_EQ(run.evaluations, kCandidates) << run.id;
    tasks.insert(run.tasks);
    nodes.insert(run.node);
  }
  EXPECT_EQ(tasks, (std::set<std::string>{"[\"tiny/tiny_a\"]", "[\"tiny/tiny_b\"]"}));
  EXPECT_EQ(nodes.size(), 2u);
}

// Node 0 cannot make the run (a task that does not exist): the other node stops at once with a
// line saying so, rather than waiting for a run that will not come; both tasks fail.
TEST_P(SlurmLaunch, WhenTheFirstArrayTaskMakesNoRunTheOthersStop) {
  auto started = std::chrono::steady_clock::now();
  std::string job = submit(2, {{"KFORGE_MODE", "join"},
                               {"KFORGE_TASKS", "tiny/no_such_task"},
                               {"KFORGE_JOIN_WAIT_S", "300"}});
  ASSERT_FALSE(job.empty());
  std::map<int, std::string> states = finish(job);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(200));
  EXPECT_EQ(states[0], "FAILED") << output_of(job, 0);
  EXPECT_EQ(states[1], "FAILED") << output_of(job, 1);
  EXPECT_NE(output_of(job, 0).find("kforge: error:"), std::string::npos) << output_of(job, 0);
  EXPECT_NE(
      output_of(job, 1).find("no run to join: node 0 stopped (exit status 1) before making a run"),
      std::string::npos)
      << output_of(job, 1);
  EXPECT_TRUE(optimize_runs().empty());
}

// The whole recipe: array task 0 makes the run and hands its id over in the job's folder on the
// shared file system, task 1 joins it (`kforge optimize --join`), and the one run completes
// with every candidate of both tasks evaluated once, by both nodes (each evaluation's timing
// takes a second on the emulated GPU, so that node 0 is still on its first task when node 1
// joins). Then node 0 started again finds the run handed over and, the run being complete,
// does nothing.
TEST_P(SlurmLaunch, ArrayTasksShareOneRun) {
  std::string job = submit(2, {{"KFORGE_MODE", "join"}}, 1000);
  ASSERT_FALSE(job.empty());
  std::map<int, std::string> states = finish(job);
  for (int task = 0; task < 2; ++task)
    EXPECT_EQ(states[task], "COMPLETED") << output_of(job, task);
  std::vector<StoredRun> runs = optimize_runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "completed");
  EXPECT_EQ(runs[0].tasks, "[\"tiny/tiny_a\",\"tiny/tiny_b\"]");
  EXPECT_EQ(runs[0].evaluations, 2 * kCandidates);
  fs::path handover = workspace_.path() / ("kforge-" + job) / "run";
  ASSERT_TRUE(fs::exists(handover)) << output_of(job, 0);
  EXPECT_EQ(strings::trim(files::read(handover)), std::to_string(runs[0].id));
  EXPECT_NE(output_of(job, 1).find("joining run " + std::to_string(runs[0].id)), std::string::npos)
      << output_of(job, 1);
  EXPECT_EQ(runs[0].evaluating_nodes, 2) << output_of(job, 0) << output_of(job, 1);

  // Node 0 started again (a requeued array task) joins the run it made rather than making
  // another; the run has completed, so it has nothing to do and succeeds.
  std::string again =
      submit(1, {{"KFORGE_MODE", "join"}, {"KFORGE_HANDOVER", handover.parent_path().string()}});
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(finish(again)[0], "COMPLETED") << output_of(again, 0);
  EXPECT_NE(output_of(again, 0).find("run " + std::to_string(runs[0].id) +
                                     " has completed: nothing left to join"),
            std::string::npos)
      << output_of(again, 0);
  EXPECT_EQ(optimize_runs().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Stores, SlurmLaunch,
                         ::testing::Values(StoreKind::kSqlite, StoreKind::kPostgres),
                         [](const ::testing::TestParamInfo<StoreKind>& info) {
                           return info.param == StoreKind::kSqlite ? "SQLite" : "PostgreSQL";
                         });

}  // namespace
}  // namespace kforge

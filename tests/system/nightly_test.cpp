// `kforge nightly` end to end: the real binary, a real store, the real reference runner and
// NVRTC, and the GPU emulated by tests/support/emulated_gpu_worker.py (the real worker protocol;
// nothing it reports is a measurement). The library is two shipped kernels of two small tasks,
// each evaluated on the emulated GPU and promoted by `kforge promote` (the PyTorch baselines a
// GPU would time added to the evaluation's record, as promote_test does), so their manifests
// record their verdict and timing on this GPU. On the second night the worker runs one kernel
// slower and the other incorrectly (--behave), as a changed driver would.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "datasets/records.hpp"
#include "datasets/sqlite.hpp"
#include "harness/evaluation/stored_evaluation.hpp"
#include "harness/util/files.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/fake_llm_server.hpp"
#include "tests/support/test_support.hpp"

extern char** environ;

namespace kforge {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string worker(const std::string& arguments = "") {
  return "/usr/bin/python3 " +
         (testing::source_dir() / "tests/support/emulated_gpu_worker.py").string() +
         (arguments.empty() ? "" : " " + arguments);
}

class NightlyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_config("tasks = \"tiny/relu\"\n");
    // Two small tasks, and one shipped kernel for each: `relu` for tiny/relu, `relu_twin` for
    // tiny/relu2.
    testing::write_text(dir_ / "tasks/relu.py", testing::kTinyReluTask);
    testing::write_text(dir_ / "tasks/relu2.py", testing::kTinyReluTask);
    ProcessResult imported = kforge({"tasks", "import", "tasks", "--suite", "tiny"});
    ASSERT_EQ(imported.exit_code, 0) << imported.standard_error;
    ship("tiny/relu", "relu", "fast");
    ship("tiny/relu2", "relu_twin", "twin");
    write_seeds(2);
  }

  // The workspace's kforge.toml: the fixture's settings, with `nightly` lines in [nightly].
  void write_config(const std::string& nightly) {
    testing::write_text(dir_ / "kforge.toml",
                        "python = \"/usr/bin/python3\"\n"
                        "[library]\ndir = \"lib\"\n"
                        "[verify]\nseeds = 2\n"
                        "[timing]\ninput_sets = 2\nwarmup = 1\nmin_samples = 4\n"
                        "max_samples = 4\nbaselines = false\n"
                        "[nightly]\n" +
                            nightly + "report_dir = \"reports\"\n");
  }

  // Evaluates the kernel `kernel` for `task` on the emulated GPU (`kforge eval`), adds the
  // PyTorch baselines a GPU would have timed to that evaluation's record (written by the
  // evaluator's row writer), and promotes it into lib/ as `variant`: a shipped kernel whose
  // manifest records its verdict and timing on this GPU.
  void ship(const std::string& task, const std::string& kernel, const std::string& variant) {
    const fs::path source = dir_ / ("candidates/" + variant + ".cu");
    testing::write_text(source, testing::emulated_candidate(kernel));
    ProcessResult eval = kforge({"eval", source.string(), "--task", task, "--json"});
    ASSERT_EQ(eval.exit_code, 0) << eval.standard_error;
    const int64_t candidate_id = json::parse(eval.standard_output)["candidate_id"];
    {
      std::unique_ptr<Store> store = Store::open(dir_ / "kforge.db", false);
      const CandidateRow candidate = *find_candidate(*store, candidate_id);
      const StoredEvaluation evaluated = stored_evaluations_of(*store, candidate).back();
      ASSERT_EQ(evaluated.record.verdict, Verdict::kCorrect) << evaluated.record.detail;
      EvaluationRecord record = evaluated.record;
      const double median = record.timing->statistics.median_us;
      record.evidence.baselines = BaselinesRecord{.eager_us = median * 2,
                                                  .compile_us = median * 1.8,
                                                  .torch_version = record.environment.torch,
                                                  .gpu = record.gpu,
                                                  .shape = "benchmark",
                                                  .dtype = "float32"};
      record.speedup_eager = 2.0;
      record.speedup_compile = 1.8;
      EvaluationRow row = evaluation_row(record, std::nullopt, evaluated.build);
      row.harness_version = evaluated.harness_version;
      insert_evaluation(*store, row);
    }
    ProcessResult promoted = kforge({"promote", std::to_string(candidate_id), "--library", "lib",
                                     "--variant", variant, "--json"});
    ASSERT_EQ(promoted.exit_code, 0) << promoted.standard_output << promoted.standard_error;
  }

  // The search's seed kernels for tiny/relu: `count` of them.
  void write_seeds(int count) {
    seed_count_ = count;
    for (int index = 0; index < count; ++index)
      testing::write_text(
          dir_ / ("seeds/relu/seed_" + std::to_string(index) + ".cu"),
          testing::emulated_candidate("relu") + "// seed " + std::to_string(index) + "\n");
  }

  ProcessResult kforge(const std::vector<std::string>& arguments,
                       const std::string& worker_arguments = "relu_twin=relu",
                       const std::string& driver = "emulated") {
    std::map<std::string, std::string> environment = {
        {"KFORGE_SEEDS_DIR", (dir_ / "seeds").string()},
        {"KFORGE_GPU_WORKER", worker("--driver " + driver + " --behave " + worker_arguments)}};
    return testing::run_kforge(arguments, dir_.path(), environment, 600);
  }

  std::vector<std::string> query_column(const std::string& sql) const {
    sql::Connection db((dir_ / "kforge.db").string(), false);
    auto query = db.prepare(sql);
    std::vector<std::string> values;
    while (query.step())
      values.push_back(query.text(0));
    return values;
  }

  static const json& step(const json& report, const std::string& name) {
    for (const json& entry : report["steps"])
      if (entry["name"] == name)
        return entry;
    static const json none;
    return none;
  }

  testing::TemporaryDirectory dir_;
  int seed_count_ = 0;
};

TEST_F(NightlyTest, SecondNightFindsTheSlowerAndTheIncorrectKernel) {
  ProcessResult first = kforge({"nightly", "--json"});
  ASSERT_EQ(first.exit_code, 0) << first.standard_error << first.standard_output;
  const json night1 = json::parse(first.standard_output);
  EXPECT_EQ(night1["outcome"], "completed");
  std::vector<std::string> names;
  for (const json& entry : night1["steps"])
    names.push_back(entry["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"environment", "baselines", "reverify", "tune",
                                             "optimize", "promote", "report"}));
  EXPECT_EQ(step(night1, "reverify")["status"], "done") << night1.dump(2);
  EXPECT_EQ(step(night1, "optimize")["status"], "done") << night1.dump(2);
  EXPECT_EQ(step(night1, "tune")["status"], "skipped");
  EXPECT_TRUE(night1["regressions"].empty());
  // The search's best for tiny/relu is correct; promotion refuses it (no baselines here).
  ASSERT_EQ(night1["improvements"].size(), 1u) << night1.dump(2);
  EXPECT_EQ(night1["improvements"][0]["task"], "tiny/relu");
  EXPECT_FALSE(night1["improvements"][0]["promoted"].get<bool>());

  // Night two: the driver changed, `relu` runs three times slower, `relu_twin` writes nothing.
  ProcessResult second =
      kforge({"nightly", "--json"}, "relu=slow_relu,relu_twin=unwritten", "999.1");
  ASSERT_EQ(second.exit_code, 1) << second.standard_error << second.standard_output;
  const json night2 = json::parse(second.standard_output);
  EXPECT_NE(night2["night"], night1["night"]);
  EXPECT_EQ(night2["exit_code"], 1);
  ASSERT_EQ(night2["regressions"].size(), 2u) << night2.dump(2);
  const json& slower = night2["regressions"][0];
  EXPECT_EQ(slower["kernel"], "tiny.relu/fast");
  EXPECT_EQ(slower["task"], "tiny/relu");
  EXPECT_EQ(slower["kind"], "slower");
  EXPECT_EQ(slower["verdict_after"], "correct");
  EXPECT_GT(slower["median_us_after"].get<double>(),
            slower["median_us_before"].get<double>() + slower["spread_us"].get<double>());
  const json& incorrect = night2["regressions"][1];
  EXPECT_EQ(incorrect["kernel"], "tiny.relu2/twin");
  EXPECT_EQ(incorrect["kind"], "verdict_changed");
  EXPECT_EQ(incorrect["verdict_before"], "correct");
  EXPECT_EQ(incorrect["verdict_after"], "incorrect");
  // The environment diff names the driver, and the baselines step acted on it.
  bool driver_seen = false;
  for (const json& change : night2["environment"])
    if (change["key"] == "driver") {
      EXPECT_EQ(change["before"], "emulated");
      EXPECT_EQ(change["after"], "999.1");
      driver_seen = true;
    }
  EXPECT_TRUE(driver_seen) << night2["environment"].dump();
  EXPECT_EQ(step(night2, "baselines")["status"], "done") << night2.dump(2);
  // Two nights of history for the task.
  ASSERT_EQ(night2["history"].size(), 1u);
  EXPECT_EQ(night2["history"][0]["points"].size(), 2u) << night2["history"].dump();

  // The report file holds the same document, and the store is intact.
  const fs::path report = dir_ / "reports" / (night2["night"].get<std::string>() + ".json");
  ASSERT_TRUE(fs::exists(report));
  const json stored = json::parse(files::read(report));
  EXPECT_EQ(stored["regressions"], night2["regressions"]);
  EXPECT_EQ(stored["steps"], night2["steps"]);
  EXPECT_EQ(query_column("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
  EXPECT_EQ(query_column("SELECT status FROM nights ORDER BY id"),
            (std::vector<std::string>{"completed", "completed"}));
  EXPECT_EQ(query_column("SELECT count(*) FROM night_steps GROUP BY night_id"),
            (std::vector<std::string>{"7", "7"}));
}

// A task whose only candidates are correct but were timed without PyTorch baselines: promotion
// refuses it for the rule it breaks (no speedup over eager), not as "no correct candidate", which
// the overhead benchmark's report said of 100 correct kernels.
TEST_F(NightlyTest, ACorrectCandidateWithoutASpeedupIsRefusedForThatReason) {
  testing::write_text(dir_ / "tasks/relu3.py", testing::kTinyReluTask);
  ASSERT_EQ(kforge({"tasks", "import", "tasks", "--suite", "tiny"}).exit_code, 0);
  testing::write_text(dir_ / "seeds/relu3/seed.cu", testing::emulated_candidate("relu"));
  write_config("tasks = \"tiny/relu3\"\nlibrary = false\n");
  ProcessResult night = kforge({"nightly", "--json"});
  ASSERT_EQ(night.exit_code, 0) << night.standard_error << night.standard_output;
  const json report = json::parse(night.standard_output);
  EXPECT_EQ(step(report, "optimize")["status"], "done") << report.dump(2);
  const std::string promotion = step(report, "promote")["detail"];
  EXPECT_NE(promotion.find("tiny/relu3: its latest evaluation"), std::string::npos) << promotion;
  EXPECT_NE(promotion.find("has no speedup over eager"), std::string::npos) << promotion;
  EXPECT_EQ(promotion.find("no correct candidate"), std::string::npos) << promotion;
}

TEST_F(NightlyTest, OnRegressionRunsWithTheReportPath) {
  ASSERT_EQ(kforge({"-q", "nightly"}).exit_code, 0);
  ProcessResult second = kforge({"-q", "nightly", "--on-regression",
                                 "echo \"$KFORGE_NIGHT_REGRESSIONS $KFORGE_NIGHT_REPORT\" > hook"},
                                "relu_twin=unwritten");
  ASSERT_EQ(second.exit_code, 1) << second.standard_error;
  const std::string hook = files::read(dir_ / "hook");
  EXPECT_EQ(hook.substr(0, 2), "1 ") << hook;
  EXPECT_NE(hook.find((dir_ / "reports").string()), std::string::npos) << hook;
  EXPECT_NE(second.standard_output.find("REGRESSION tiny.relu2/twin"), std::string::npos)
      << second.standard_output;
}

TEST_F(NightlyTest, BadConfigurationIsOneLineAndExitTwo) {
  testing::write_text(dir_ / "bad.toml", "[nightly]\nagents = \"sometimes\"\n");
  ProcessResult bad_name = kforge({"nightly", "--config", "bad.toml"});
  EXPECT_EQ(bad_name.exit_code, 2);
  EXPECT_EQ(bad_name.standard_error,
            "kforge: error: nightly.agents = 'sometimes' is not one of: tune, llm, both, none "
            "(bad.toml)\n")
      << bad_name.standard_error;

  testing::write_text(dir_ / "unknown.toml", "[nightly]\nwall_time = 10\n");
  ProcessResult unknown = kforge({"nightly", "--config", "unknown.toml"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.standard_error.find("nightly.wall_time_s"), std::string::npos)
      << unknown.standard_error;
  EXPECT_EQ(std::count(unknown.standard_error.begin(), unknown.standard_error.end(), '\n'), 1);

  ProcessResult missing = kforge({"nightly", "--config", "absent.toml"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(std::count(missing.standard_error.begin(), missing.standard_error.end(), '\n'), 1);

  ProcessResult range = kforge({"nightly", "--wall-time=-5"});
  EXPECT_EQ(range.exit_code, 2);
  EXPECT_NE(range.standard_error.find("nightly.wall_time_s"), std::string::npos);
  // Nothing ran: no night in the store.
  EXPECT_TRUE(!fs::exists(dir_ / "kforge.db") ||
              query_column("SELECT count(*) FROM nights") == std::vector<std::string>{"0"});
}

TEST_F(NightlyTest, SecondConcurrentNightlyIsRefusedAndAStaleLockIsTaken) {
  // A lock file a killed nightly left behind: its holder line stays, its flock went with it.
  testing::write_text(dir_ / "kforge.db.nightly.lock", "pid 999999 on elsewhere since then\n");
  ASSERT_EQ(kforge({"-q", "nightly", "--tasks", ""}).exit_code, 0);

  // Held now, as a running nightly holds it.
  const int descriptor = ::open((dir_ / "kforge.db.nightly.lock").c_str(), O_RDWR);
  ASSERT_GE(descriptor, 0);
  ASSERT_EQ(::flock(descriptor, LOCK_EX | LOCK_NB), 0);
  ProcessResult refused = kforge({"-q", "nightly"});
  ::close(descriptor);
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.standard_error.find("another kforge nightly is running on this store"),
            std::string::npos)
      << refused.standard_error;
  EXPECT_EQ(query_column("SELECT count(*) FROM nights"), std::vector<std::string>{"1"});
}

// The LLM after the search, through the loopback server; then an LLM outage, which costs the
// LLM part of the night and nothing else. The fake server's candidate (kernel `scale_rows`) runs
// as an honest ReLU on the emulated GPU.
TEST_F(NightlyTest, LlmAgentSpendsTokensAndAnOutageCostsOnlyItsPart) {
  testing::FakeLlmServer server;
  auto config = [&](const std::string& base_url) {
    testing::write_text(dir_ / "llm.toml",
                        "[nightly]\nagents = \"llm\"\nlibrary = false\n"
                        "[llm]\nprovider = \"openai\"\nbase_url = \"" +
                            base_url + "\"\nmodel = \"ok\"\nsamples = 1\nretries = 0\n");
  };
  config(server.base_url());
  ProcessResult night =
      kforge({"nightly", "--json", "--config", "llm.toml"}, "relu_twin=relu,scale_rows=relu");
  ASSERT_EQ(night.exit_code, 0) << night.standard_error;
  const json report = json::parse(night.standard_output);
  EXPECT_EQ(step(report, "optimize")["status"], "done") << report.dump(2);
  EXPECT_GT(report["llm"]["prompt_tokens"].get<int64_t>(), 0) << report["llm"].dump();
  EXPECT_GT(report["llm"]["completion_tokens"].get<int64_t>(), 0);
  EXPECT_TRUE(report["failures"].empty()) << report["failures"].dump();
  EXPECT_EQ(query_column("SELECT count(*) FROM runs WHERE kind = 'nightly-llm'"),
            std::vector<std::string>{"1"});

  // Nothing listens on port 1: the endpoint is unreachable, as in an outage.
  config("http://127.0.0.1:1/v1");
  ProcessResult outage =
      kforge({"nightly", "--json", "--config", "llm.toml"}, "relu_twin=relu,scale_rows=relu");
  ASSERT_EQ(outage.exit_code, 0) << outage.standard_error;
  const json outage_report = json::parse(outage.standard_output);
  EXPECT_EQ(step(outage_report, "optimize")["status"], "done") << outage_report.dump(2);
  ASSERT_FALSE(outage_report["failures"].empty());
  EXPECT_EQ(outage_report["failures"][0]["subject"], "llm");
  // The search ran all the same.
  EXPECT_EQ(query_column("SELECT count(*) FROM runs WHERE kind = 'nightly-search'"),
            (std::vector<std::string>{"2"}));
  ASSERT_EQ(outage_report["history"].size(), 1u) << outage_report.dump(2);
  EXPECT_EQ(outage_report["history"][0]["points"].size(), 2u) << outage_report.dump(2);
}

// Without a GPU the re-verification is a failure of the night (nothing is claimed about the
// kernels); the rest of the night runs (compile-only candidates) and the exit code stays 0.
TEST_F(NightlyTest, MissingGpuCostsOnlyTheReverification) {
  ProcessResult night = testing::run_kforge({"nightly", "--json"}, dir_.path(),
                                            {{"KFORGE_SEEDS_DIR", (dir_ / "seeds").string()}}, 600);
  ASSERT_EQ(night.exit_code, 0) << night.standard_error;
  const json report = json::parse(night.standard_output);
  EXPECT_EQ(step(report, "reverify")["status"], "failed") << report.dump(2);
  EXPECT_EQ(step(report, "optimize")["status"], "done") << report.dump(2);
  ASSERT_FALSE(report["failures"].empty());
  EXPECT_EQ(report["failures"][0]["subject"], "gpu");
  EXPECT_TRUE(report["regressions"].empty());
  for (const json& change : report["environment"])
    if (change["key"] == "gpu") {
      EXPECT_EQ(change["after"], "none");
    }
}

// A kernel that hangs on tonight's GPU is stopped by the worker's watchdog: verdict `timeout`,
// a regression, and the night goes on to the other kernel.
TEST_F(NightlyTest, HungKernelIsATimeoutRegression) {
  testing::write_text(dir_ / "short.toml", "[gpu]\nrun_limit_s = 5\ntime_limit_s = 5\n");
  ProcessResult night = kforge({"nightly", "--json", "--config", "short.toml", "--tasks", ""},
                               "relu=hang,relu_twin=relu");
  ASSERT_EQ(night.exit_code, 1) << night.standard_error;
  const json report = json::parse(night.standard_output);
  ASSERT_EQ(report["regressions"].size(), 1u) << report.dump(2);
  EXPECT_EQ(report["regressions"][0]["kernel"], "tiny.relu/fast");
  EXPECT_EQ(report["regressions"][0]["kind"], "verdict_changed");
  EXPECT_EQ(report["regressions"][0]["verdict_after"], "timeout");
  EXPECT_EQ(step(report, "reverify")["status"], "done");  // the twin was re-verified after it
}

TEST_F(NightlyTest, KilledNightContinuesWithoutRepeatingFinishedWork) {
  // Enough seeds that the optimize step is still running when the test kills the night.
  write_seeds(6);
  const std::map<std::string, std::string> environment = {
      {"KFORGE_SEEDS_DIR", (dir_ / "seeds").string()},
      // Each evaluation takes half a second more, so that the optimize step is still running
      // when the store first shows one of its evaluations (candidates are evaluated in flight).
      {"KFORGE_GPU_WORKER", worker("--behave relu_twin=relu --latency-ms 500")}};
  const pid_t pid = testing::spawn_kforge({"--workspace", dir_.path().string(), "-q", "nightly"},
                                          environment, dir_ / "killed.log");
  // Kill it once the optimize step has stored at least one evaluation of its own.
  bool killed_mid_optimize = false;
  for (int wait = 0; wait < 1200 && !killed_mid_optimize; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    if (!fs::exists(dir_ / "kforge.db"))
      continue;
    try {
      const auto evaluated = query_column(
          "SELECT count(*) FROM evaluations JOIN runs ON runs.id = evaluations.run_id "
          "WHERE runs.kind = 'nightly-search'");
      if (!evaluated.empty() && evaluated[0] != "0") {
        ::kill(pid, SIGKILL);
        killed_mid_optimize = true;
      }
    } catch (const std::exception&) {
      // The store is being created or migrated: look again.
    }
  }
  ::waitpid(pid, nullptr, 0);
  ASSERT_TRUE(killed_mid_optimize) << files::read(dir_ / "killed.log");
  ASSERT_EQ(query_column("SELECT status FROM nights"), std::vector<std::string>{"running"});
  ASSERT_EQ(query_column("SELECT status FROM night_steps WHERE name = 'optimize'"),
            std::vector<std::string>{"running"});

  ProcessResult rerun = testing::run_kforge({"nightly", "--json"}, dir_.path(), environment, 600);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.standard_error;
  const json report = json::parse(rerun.standard_output);
  EXPECT_EQ(report["outcome"], "completed");
  // The same night, continued; steps finished before the kill ran once, optimize twice.
  EXPECT_EQ(query_column("SELECT count(*) FROM nights"), std::vector<std::string>{"1"});
  EXPECT_EQ(query_column("SELECT name || ':' || runs FROM night_steps WHERE name IN "
                         "('environment', 'reverify', 'optimize') ORDER BY position"),
            (std::vector<std::string>{"environment:1", "reverify:1", "optimize:2"}));
  // Every shipped kernel re-verified once, every seed evaluated once.
  EXPECT_EQ(query_column("SELECT count(*) FROM evaluations JOIN runs ON runs.id = "
                         "evaluations.run_id WHERE runs.kind = 'nightly-reverify'"),
            std::vector<std::string>{"2"});
  EXPECT_EQ(query_column("SELECT count(*) FROM evaluations JOIN runs ON runs.id = "
                         "evaluations.run_id WHERE runs.kind = 'nightly-search'"),
            std::vector<std::string>{std::to_string(seed_count_)});
  EXPECT_EQ(query_column("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

TEST_F(NightlyTest, BudgetsStopTheNightCleanly) {
  write_seeds(6);
  ProcessResult night = kforge({"nightly", "--json", "--max-evaluations", "3"});
  ASSERT_EQ(night.exit_code, 0) << night.standard_error;
  const json report = json::parse(night.standard_output);
  EXPECT_EQ(report["outcome"], "budget_reached");
  EXPECT_EQ(step(report, "optimize")["status"], "stopped") << report.dump(2);
  EXPECT_EQ(step(report, "promote")["status"], "stopped");
  EXPECT_EQ(query_column("SELECT status FROM nights"), std::vector<std::string>{"budget_reached"});

  // A wall-time budget spent by the first step: the rest is `stopped`, the report is written.
  // The environment step's Python takes 2 s to start here, so that the step outlasts the 1 s
  // budget on an idle machine too (it took about 1.1 s without the wait: a coin toss).
  const fs::path slow_python = dir_ / "slow-python";
  testing::write_text(slow_python, "#!/bin/sh\nsleep 2\nexec /usr/bin/python3 \"$@\"\n");
  fs::permissions(slow_python, fs::perms::owner_all);
  ProcessResult short_night =
      kforge({"--python", slow_python.string(), "nightly", "--json", "--wall-time", "1"});
  ASSERT_EQ(short_night.exit_code, 0) << short_night.standard_error;
  const json stopped = json::parse(short_night.standard_output);
  EXPECT_EQ(stopped["outcome"], "budget_reached");
  EXPECT_EQ(step(stopped, "environment")["status"], "done");
  EXPECT_EQ(step(stopped, "reverify")["status"], "stopped") << stopped.dump(2);
  EXPECT_NE(step(stopped, "reverify")["detail"].get<std::string>().find("wall-time budget"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "reports" / (stopped["night"].get<std::string>() + ".json")));
  EXPECT_EQ(query_column("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

// The LLM budgets: a night of the LLM agent over two tasks stops once its tokens, or its cost,
// are spent (checked after each attempt): the first task's answers spend the budget, the
// second task gets no LLM request, the optimize step is `stopped` with the reason, the night's
// outcome is budget_reached, and the report counts what the stopped task spent.
TEST_F(NightlyTest, TokenAndCostBudgetsStopTheLlmPart) {
  testing::write_text(dir_ / "tasks/relu3.py", testing::kTinyReluTask);
  ProcessResult imported = kforge({"tasks", "import", "tasks", "--suite", "tiny"});
  ASSERT_EQ(imported.exit_code, 0) << imported.standard_error;
  testing::FakeLlmServer server;
  testing::write_text(dir_ / "llm.toml",
                      "[nightly]\nagents = \"llm\"\nlibrary = false\n"
                      "tasks = \"tiny/relu,tiny/relu3\"\n"
                      "[llm]\nprovider = \"openai\"\nbase_url = \"" +
                          server.base_url() +
                          "\"\nmodel = \"ok\"\nsamples = 2\nretries = 0\n"
                          // A dollar a token: one answer spends more than the cost budget.
                          "price_input_per_mtok = 1000000\nprice_output_per_mtok = 1000000\n");
  auto llm_attempts = [&](const std::string& task) {
    return query_column(
        "SELECT count(*) FROM candidates c JOIN tasks t ON t.id = c.task_id "
        "WHERE t.name = '" +
        task + "' AND c.run_id = (SELECT max(id) FROM runs WHERE kind = 'nightly-llm')")[0];
  };
  for (const std::vector<std::string>& budget :
       {std::vector<std::string>{"--max-tokens", "1"}, {"--max-cost", "0.5"}}) {
    SCOPED_TRACE(budget[0]);
    // The LLM's answers are cached in the workspace; each night asks afresh, and pays.
    fs::remove_all(dir_ / ".kforge/llm");
    std::vector<std::string> arguments = {"nightly", "--json", "--config", "llm.toml"};
    arguments.insert(arguments.end(), budget.begin(), budget.end());
    ProcessResult night = kforge(arguments, "relu_twin=relu,scale_rows=relu");
    ASSERT_EQ(night.exit_code, 0) << night.standard_error;
    const json report = json::parse(night.standard_output);
    EXPECT_EQ(report["outcome"], "budget_reached") << report.dump(2);
    const json& optimize = step(report, "optimize");
    EXPECT_EQ(optimize["status"], "stopped") << report.dump(2);
    const std::string detail = optimize["detail"].get<std::string>();
    EXPECT_NE(detail.find(budget[0] == "--max-tokens" ? "1 tokens is spent" : "cost budget"),
              std::string::npos)
        << detail;
    EXPECT_NE(detail.find("after 0 of 2 tasks"), std::string::npos) << detail;
    EXPECT_GT(report["llm"]["prompt_tokens"].get<int64_t>(), 0) << report["llm"].dump();
    EXPECT_GT(report["llm"]["completion_tokens"].get<int64_t>(), 0) << report["llm"].dump();
    if (budget[0] == "--max-cost") {
      EXPECT_GT(report["llm"]["cost_usd"].get<double>(), 0.5) << report["llm"].dump();
    }
    EXPECT_NE(llm_attempts("tiny/relu"), "0");
    EXPECT_EQ(llm_attempts("tiny/relu3"), "0");
  }
  EXPECT_EQ(query_column("PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

}  // namespace
}  // namespace kforge

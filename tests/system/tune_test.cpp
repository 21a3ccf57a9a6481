// `kforge tune FILE --task T` through the real binary: real NVRTC compiles, a real store, real
// references, and tests/support/emulated_gpu_worker.py as the GPU (KFORGE_GPU_WORKER), whose
// `tiled_relu` behaviour times a launch by its block size and elements per thread, so the space
// has one known optimum. The tuner must find it within its budget, never compile a point its
// constraints exclude, never evaluate a point twice (the cache), resume a run killed with
// kill -9 without repeating a point, and refuse bad input with one line.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "datasets/sqlite.hpp"
#include "harness/util/files.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/tiny_workspace.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;
using testing::tiled_candidate;

const char* kConstraints = "[\"BLOCK * ITEMS <= 4096\"]";

// The emulated worker's time for a point at the benchmark shape (64 x 100 = 6400 elements),
// relative to an honest kernel's: tiled_relu_time in tests/support/emulated_gpu_worker.py.
double emulated_cost(int64_t block, int64_t items) {
  const double elements = 6400;
  double grid = std::ceil(elements / static_cast<double>(block * items));
  double per_thread = std::max(1.0, elements / (grid * static_cast<double>(block)));
  return 1.0 + 0.3 * std::fabs(std::log2(block / 256.0)) +
         0.2 * std::fabs(std::log2(per_thread / 4.0));
}

class TuneTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    workspace_ = new testing::TemporaryDirectory();
    ProcessResult imported = testing::import_tiny_relu_workspace(workspace_->path());
    ASSERT_EQ(imported.exit_code, 0) << imported.standard_error;
    testing::write_text(workspace_->path() / "tiled.cu", tiled_candidate(kConstraints));
  }
  static void TearDownTestSuite() { delete workspace_; }

  static std::string worker() {
    return "/usr/bin/python3 " +
           (testing::source_dir() / "tests/support/emulated_gpu_worker.py").string();
  }

  static ProcessResult tune(std::vector<std::string> arguments, bool with_worker = true) {
    arguments.insert(arguments.begin(), "tune");
    std::map<std::string, std::string> environment;
    if (with_worker)
      environment["KFORGE_GPU_WORKER"] = worker();
    return run_kforge(arguments, workspace_->path(), environment, 600);
  }

  static nlohmann::json tune_json(std::vector<std::string> arguments) {
    arguments.push_back("--json");
    ProcessResult result = tune(arguments);
    EXPECT_EQ(result.exit_code, 0) << result.standard_error;
    return nlohmann::json::parse(result.standard_output);
  }

  static int64_t count(const std::string& sql) {
    sql::Connection db((workspace_->path() / "kforge.db").string(), false);
    auto query = db.prepare(sql);
    return query.step() ? query.integer(0) : -1;
  }

  static std::string text(const std::string& sql) {
    sql::Connection db((workspace_->path() / "kforge.db").string(), false);
    auto query = db.prepare(sql);
    return query.step() ? query.text(0) : "";
  }

  // One line on stderr, `kforge: error: ...` naming `needle`, a non-zero exit.
  static void expect_one_line_error(const ProcessResult& result, const std::string& needle) {
    EXPECT_NE(result.exit_code, 0) << result.standard_error;
    std::string last = result.standard_error;
    // Progress lines (the task's analysis) may come first; the error is the last line.
    size_t start = last.rfind('\n', last.size() >= 2 ? last.size() - 2 : 0);
    if (start != std::string::npos)
      last = last.substr(start + 1);
    EXPECT_EQ(last.rfind("kforge: error: ", 0), 0u) << result.standard_error;
    EXPECT_EQ(std::count(last.begin(), last.end(), '\n'), 1) << result.standard_error;
    EXPECT_NE(last.find(needle), std::string::npos) << result.standard_error;
  }

  // The newest running tuning run (its rows matching `where`, an SQL condition after AND) once
  // it has `evaluations` evaluations stored, for a test that kills it then; -1 after 240 s.
  static int64_t running_run_with_evaluations(const std::string& where, int64_t evaluations) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
    while (std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      try {
        const int64_t run =
            count("SELECT max(id) FROM runs WHERE kind = 'tune' AND status = 'running' " + where);
        if (run > 0 && count("SELECT count(*) FROM evaluations WHERE run_id = " +
                             std::to_string(run)) >= evaluations)
          return run;
      } catch (const std::exception&) {
        // The store is being written: look again.
      }
    }
    return -1;
  }

  static testing::TemporaryDirectory* workspace_;
};

testing::TemporaryDirectory* TuneTest::workspace_ = nullptr;

TEST_F(TuneTest, FindsTheEmulatedOptimumWithinTheBudgetAndStoresEveryPoint) {
  // The optimum by the worker's model: the valid point of least cost.
  std::pair<int64_t, int64_t> optimum;
  double least = 1e9;
  for (int64_t block : {32, 64, 128, 256, 512, 1024})
    for (int64_t items : {1, 2, 4, 8, 16})
      if (block * items <= 4096 && emulated_cost(block, items) < least) {
        least = emulated_cost(block, items);
        optimum = {block, items};
      }
  ASSERT_EQ(optimum, (std::pair<int64_t, int64_t>{256, 4}));

  nlohmann::json report = tune_json({"tiled.cu", "--task", "tiny/tiny_relu", "--max-evals", "8"});
  EXPECT_EQ(report["space"]["product"], 30);
  EXPECT_EQ(report["space"]["points"], 27);
  EXPECT_EQ(report["budget"], 8);
  EXPECT_EQ(report["status"], "completed");
  EXPECT_EQ(report["strategy"], "auto");
  ASSERT_EQ(report["points"].size(), 8u);
  EXPECT_EQ(report["evaluated"], 8);
  ASSERT_TRUE(report["best"].is_object()) << report.dump();
  EXPECT_EQ(report["best"]["defines"]["BLOCK"], optimum.first) << report["top"].dump();
  EXPECT_EQ(report["best"]["defines"]["ITEMS"], optimum.second) << report["top"].dump();
  EXPECT_EQ(report["best"]["verdict"], "correct");
  // The top table is fastest first.
  for (size_t i = 1; i < report["top"].size(); ++i)
    EXPECT_LE(report["top"][i - 1]["time_us"].get<double>(),
              report["top"][i]["time_us"].get<double>());

  // Every point is a stored candidate and evaluation of the run, origin tune, each once.
  std::string run = std::to_string(report["run_id"].get<int64_t>());
  EXPECT_EQ(text("SELECT kind || ' ' || strategy || ' ' || status FROM runs WHERE id = " + run),
            "tune auto completed");
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE origin = 'tune' AND run_id = " + run), 8);
  EXPECT_EQ(count("SELECT count(*) FROM evaluations WHERE run_id = " + run), 8);
  EXPECT_EQ(count("SELECT count(DISTINCT defines) FROM candidates WHERE run_id = " + run), 8);
  EXPECT_EQ(count("SELECT count(*) FROM evaluations WHERE verdict = 'correct' AND run_id = " + run),
            8);
  // The constraint excluded points are never compiled: none is in the store.
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE json_extract(defines, '$.BLOCK') * "
                  "json_extract(defines, '$.ITEMS') > 4096"),
            0);
}

// A point over a launch limit (a block of 2048 threads, over CUDA's 1024 in x) gets the plan_error
// a bind after compiling would give, naming the limit, but NVRTC never sees it: its evaluation has
// no compile and no compile cache entry is made for it. The points within the limits are
// compiled and timed as ever.
TEST_F(TuneTest, APointOverALaunchLimitIsInvalidWithoutACompile) {
  std::string source = tiled_candidate("[\"BLOCK * ITEMS <= 4096\", \"BLOCK >= 1024\"]", "limits");
  const std::string values = "512, 1024]";
  ASSERT_NE(source.find(values), std::string::npos);
  source.replace(source.find(values), values.size(), "512, 1024, 2048]");
  testing::write_text(workspace_->path() / "limits.cu", source);
  auto compile_entries = [] {
    int64_t entries = 0;
    const fs::path cache = workspace_->path() / ".kforge/compile";
    if (fs::exists(cache))
      for (const auto& file : fs::recursive_directory_iterator(cache))
        entries += file.path().filename() == "result.json" ? 1 : 0;
    return entries;
  };
  const int64_t before = compile_entries();

  // BLOCK 1024 x ITEMS 1, 2, 4 and BLOCK 2048 x ITEMS 1, 2: every point of the space.
  nlohmann::json report = tune_json(
      {"limits.cu", "--task", "tiny/tiny_relu", "--strategy", "random", "--max-evals", "5"});
  EXPECT_EQ(report["space"]["points"], 5);
  ASSERT_EQ(report["points"].size(), 5u) << report.dump();
  for (const nlohmann::json& point : report["points"]) {
    if (point["defines"]["BLOCK"] == 2048) {
      EXPECT_EQ(point["verdict"], "plan_error") << point.dump();
      EXPECT_EQ(point["reason"], "at_benchmark_shape") << point.dump();
    } else {
      EXPECT_EQ(point["verdict"], "correct") << point.dump();
    }
  }
  const std::string run = std::to_string(report["run_id"].get<int64_t>());
  const std::string of_block =
      "SELECT count(*) FROM evaluations e JOIN candidates c ON c.id = "
      "e.candidate_id WHERE e.run_id = " +
      run + " AND CAST(json_extract(c.defines, '$.BLOCK') AS INTEGER) ";
  // Stored as bind failures whose compile stage was skipped, the limit and the values named.
  EXPECT_EQ(count(of_block +
                  "= 2048 AND e.verdict = 'plan_error' AND e.reason = 'at_benchmark_shape' AND "
                  "e.compile IS NULL AND json_extract(e.stages, '$[1].name') = 'compile' AND "
                  "json_extract(e.stages, '$[1].status') = 'skipped' AND "
                  "json_extract(e.stages, '$[2].name') = 'bind' AND "
                  "json_extract(e.stages, '$[2].detail') LIKE "
                  "'at the benchmark shape: %kernel ''tiled_relu'' block[0] \"BLOCK\": is 2048, "
                  "over the limit of 1024 for block dimension x'"),
            2);
  EXPECT_EQ(count(of_block + "= 1024 AND e.verdict = 'correct' AND e.compile IS NOT NULL AND "
                             "json_extract(e.stages, '$[1].status') = 'ok'"),
            3);
  // Only the three points within the limits were compiled.
  EXPECT_EQ(compile_entries() - before, 3);
}

// The two budgets besides --max-evals: --time is checked between points, so a thousandth of a
// second ends the run after its first point; --fraction is of the valid space, rounded up.
TEST_F(TuneTest, TheTimeAndFractionBudgetsEndTheRun) {
  testing::write_text(workspace_->path() / "budgets.cu", tiled_candidate(kConstraints, "budgets"));
  nlohmann::json timed = tune_json({"budgets.cu", "--task", "tiny/tiny_relu", "--strategy",
                                    "random", "--seed", "3", "--time", "0.001"});
  EXPECT_EQ(timed["budget"], 27);  // no --max-evals or --fraction: min(100, the space)
  EXPECT_EQ(timed["points"].size(), 1u) << timed.dump();
  EXPECT_EQ(timed["evaluated"], 1);
  // ceil(0.1 * 27) = 3 points; the same seed asks the timed run's point first, from the store.
  nlohmann::json part = tune_json({"budgets.cu", "--task", "tiny/tiny_relu", "--strategy", "random",
                                   "--seed", "3", "--fraction", "0.1"});
  EXPECT_EQ(part["budget"], 3);
  EXPECT_EQ(part["points"].size(), 3u) << part.dump();
  EXPECT_EQ(part["cached"], 1);
  EXPECT_EQ(part["evaluated"], 2);
}

// --promote hands the run's best point to `kforge promote`: its decision, promoted or refused
// by a rule, is recorded for that candidate and printed with the report; a refusal exits 1, as
// `kforge promote` does.
TEST_F(TuneTest, PromoteHandsTheBestPointToPromote) {
  testing::write_text(workspace_->path() / "promote.cu", tiled_candidate(kConstraints, "promote"));
  ProcessResult result = tune({"promote.cu", "--task", "tiny/tiny_relu", "--strategy", "random",
                               "--max-evals", "2", "--promote", "--json"});
  const nlohmann::json report = nlohmann::json::parse(result.standard_output);
  ASSERT_TRUE(report["best"].is_object()) << report.dump();
  ASSERT_TRUE(report["promotion"].is_object()) << report.dump();
  const nlohmann::json& promotion = report["promotion"];
  const int64_t best = report["best"]["candidate_id"];
  EXPECT_EQ(promotion["candidate_id"], best);
  EXPECT_EQ(result.exit_code, promotion["decision"] == "promoted" ? 0 : 1) << result.standard_error;
  EXPECT_EQ(count("SELECT count(*) FROM promotions WHERE candidate_id = " + std::to_string(best) +
                  " AND decision = '" + promotion["decision"].get<std::string>() + "'"),
            1);
  if (promotion["decision"] == "promoted") {
    EXPECT_TRUE(fs::exists(fs::path(promotion["library_path"].get<std::string>()) / "kernel.cu"))
        << promotion.dump();
  }
  // With --replay there is no run to promote from: a usage error, one line.
  ProcessResult replay = tune({"--replay", "space.json", "--promote"});
  EXPECT_NE(replay.exit_code, 0);
  EXPECT_EQ(replay.standard_error,
            "kforge: usage error: --promote: --promote goes with a tuning run, not --replay (see "
            "kforge --help)\n");
}

TEST_F(TuneTest, APointAlreadyEvaluatedIsNeverRunAgain) {
  testing::write_text(workspace_->path() / "cached.cu", tiled_candidate(kConstraints, "cache"));
  nlohmann::json first = tune_json({"cached.cu", "--task", "tiny/tiny_relu", "--max-evals", "3",
                                    "--seed", "4", "--strategy", "random"});
  EXPECT_EQ(first["evaluated"], 3);
  int64_t candidates = count("SELECT count(*) FROM candidates");
  int64_t evaluations = count("SELECT count(*) FROM evaluations");
  // The same run again: every point comes from the store, nothing is compiled or run.
  nlohmann::json second = tune_json({"cached.cu", "--task", "tiny/tiny_relu", "--max-evals", "3",
                                     "--seed", "4", "--strategy", "random"});
  EXPECT_EQ(second["evaluated"], 0);
  EXPECT_EQ(second["cached"], 3);
  EXPECT_EQ(second["best"]["defines"], first["best"]["defines"]);
  EXPECT_EQ(second["best"]["evaluation_id"], first["best"]["evaluation_id"]);
  EXPECT_EQ(count("SELECT count(*) FROM candidates"), candidates);
  EXPECT_EQ(count("SELECT count(*) FROM evaluations"), evaluations);
  // A larger budget evaluates only the new points.
  nlohmann::json third = tune_json({"cached.cu", "--task", "tiny/tiny_relu", "--max-evals", "5",
                                    "--seed", "4", "--strategy", "random"});
  EXPECT_EQ(third["cached"], 3);
  EXPECT_EQ(third["evaluated"], 2);
  EXPECT_EQ(count("SELECT count(*) FROM candidates"), candidates + 2);
}

TEST_F(TuneTest, AKilledRunResumesWithoutRepeatingAPoint) {
  testing::write_text(workspace_->path() / "killed.cu", tiled_candidate(kConstraints, "killed"));
  pid_t child = ::fork();
  if (child == 0) {
    ::setpgid(0, 0);
    if (::chdir(workspace_->path().c_str()) != 0)
      ::_exit(126);
    ::setenv("KFORGE_GPU_WORKER", worker().c_str(), 1);
    std::vector<std::string> words = {testing::kforge_binary().string(),
                                      "--quiet",
                                      "tune",
                                      "killed.cu",
                                      "--task",
                                      "tiny/tiny_relu",
                                      "--strategy",
                                      "random",
                                      "--max-evals",
                                      "6",
                                      "--seed",
                                      "9"};
    std::vector<char*> argv;
    for (std::string& word : words)
      argv.push_back(word.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ASSERT_GT(child, 0);
  // Wait until two points of the run are stored, then kill it in the middle of the next.
  const int64_t run = running_run_with_evaluations("", 2);
  ::kill(-child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_GT(run, 0);
  std::string id = std::to_string(run);
  int64_t before = count("SELECT count(*) FROM evaluations WHERE run_id = " + id);
  EXPECT_GE(before, 2);
  EXPECT_LT(before, 6);
  EXPECT_EQ(text("SELECT status FROM runs WHERE id = " + id), "running");
  EXPECT_EQ(text("PRAGMA integrity_check"), "ok");

  nlohmann::json report = tune_json({"--resume", id});
  EXPECT_EQ(report["run_id"], run);
  EXPECT_EQ(report["status"], "completed");
  EXPECT_EQ(report["points"].size(), 6u);
  EXPECT_EQ(text("SELECT status FROM runs WHERE id = " + id), "completed");
  // Six points, each evaluated exactly once across the kill: no defines twice in the store.
  EXPECT_EQ(count("SELECT count(*) FROM evaluations WHERE run_id = " + id), 6);
  EXPECT_EQ(count("SELECT count(*) FROM (SELECT defines FROM candidates WHERE run_id = " + id +
                  " GROUP BY defines HAVING count(*) > 1)"),
            0);
  std::set<std::string> seen;
  for (const auto& point : report["points"])
    EXPECT_TRUE(seen.insert(point["defines"].dump()).second) << point.dump();
  // The same strategy and seed uninterrupted asks the same six points (all from the store now).
  testing::write_text(workspace_->path() / "killed.cu", tiled_candidate(kConstraints, "killed"));
  nlohmann::json straight = tune_json({"killed.cu", "--task", "tiny/tiny_relu", "--strategy",
                                       "random", "--max-evals", "6", "--seed", "9"});
  EXPECT_EQ(straight["evaluated"], 0);
  for (size_t i = 0; i < 6; ++i)
    EXPECT_EQ(straight["points"][i]["defines"], report["points"][i]["defines"]);
}

// A run whose strategy has told every point of its space before the budget is told ends
// `completed` (the runs table's CHECK allows no other word for it), its summary saying the space
// was exhausted. One kforge never gets there (the budget is at most the space), so the test
// writes such a checkpoint: a finished run's strategy has told all three points, its point list
// loses the last one, and the resumed run must find nothing left to ask.
TEST_F(TuneTest, ARunThatExhaustsItsSpaceEndsCompleted) {
  testing::write_text(workspace_->path() / "exhaust.cu",
                      tiled_candidate("[\"BLOCK * ITEMS <= 4096\", \"BLOCK >= 1024\"]", "exhaust"));
  nlohmann::json first = tune_json(
      {"exhaust.cu", "--task", "tiny/tiny_relu", "--strategy", "random", "--max-evals", "3"});
  ASSERT_EQ(first["space"]["points"], 3) << first.dump();
  ASSERT_EQ(first["points"].size(), 3u) << first.dump();
  EXPECT_FALSE(first.contains("exhausted")) << first.dump();
  const std::string id = std::to_string(first["run_id"].get<int64_t>());
  {
    sql::Connection db((workspace_->path() / "kforge.db").string(), false);
    db.execute("UPDATE run_tasks SET state = json_remove(state, '$.points[2]') WHERE run_id = " +
               id);
  }
  ASSERT_EQ(
      count("SELECT json_array_length(state, '$.points') FROM run_tasks WHERE run_id = " + id), 2);
  ASSERT_EQ(count("SELECT json_array_length(state, '$.strategy.told') FROM run_tasks WHERE "
                  "run_id = " +
                  id),
            3);

  ProcessResult resumed = tune({"--resume", id, "--json"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.standard_error;
  const nlohmann::json report = nlohmann::json::parse(resumed.standard_output);
  EXPECT_EQ(report["status"], "completed");
  EXPECT_EQ(report["exhausted"], true);
  EXPECT_EQ(report["points"].size(), 2u);
  EXPECT_EQ(text("SELECT status FROM runs WHERE id = " + id), "completed");
  EXPECT_EQ(text("SELECT json_extract(summary, '$.exhausted') FROM runs WHERE id = " + id), "1");
  EXPECT_EQ(text("SELECT json_extract(summary, '$.status') FROM runs WHERE id = " + id),
            "completed");
  EXPECT_FALSE(text("SELECT finished_at FROM runs WHERE id = " + id).empty());
  EXPECT_EQ(count("SELECT count(*) FROM evaluations WHERE run_id = " + id), 3);  // none again
  EXPECT_EQ(text("PRAGMA integrity_check"), "ok");
  // A node that would join it is told why there is nothing to do.
  expect_one_line_error(tune({"--join", id}), "has already told every point of its space");
}

TEST_F(TuneTest, BadSpacesAndRequestsAreOneLineAndStoreNothing) {
  int64_t runs = count("SELECT count(*) FROM runs WHERE kind = 'tune'");
  testing::write_text(workspace_->path() / "unknown.cu",
                      tiled_candidate("[\"BLOK * ITEMS <= 4096\"]"));
  expect_one_line_error(tune({"unknown.cu", "--task", "tiny/tiny_relu"}),
                        "unknown define 'BLOK'; did you mean 'BLOCK'?");
  testing::write_text(workspace_->path() / "syntax.cu", tiled_candidate("[\"BLOCK =< 64\"]"));
  expect_one_line_error(tune({"syntax.cu", "--task", "tiny/tiny_relu"}), "constraint 1");
  testing::write_text(workspace_->path() / "tensor.cu",
                      tiled_candidate("[\"y.shape[0] % ITEMS == 0\"]"));
  expect_one_line_error(tune({"tensor.cu", "--task", "tiny/tiny_relu"}),
                        "reads the size of 'y', which task tiny/tiny_relu does not have");
  testing::write_text(workspace_->path() / "empty.cu",
                      tiled_candidate("[\"BLOCK * ITEMS > 16384\"]"));
  expect_one_line_error(tune({"empty.cu", "--task", "tiny/tiny_relu"}),
                        "no point of the tuning space satisfies its constraints");
  expect_one_line_error(tune({"tiled.cu", "--task", "tiny/tiny_relu", "--strategy", "bogus"}),
                        "unknown tuning strategy 'bogus'");
  expect_one_line_error(tune({"tiled.cu", "--task", "tiny/tiny_relu"}, false),
                        "so no point could be timed");
  expect_one_line_error(tune({"--resume", "999999"}), "there is no tuning run 999999");
  expect_one_line_error(tune({"--task", "tiny/tiny_relu"}), "give a candidate file");
  EXPECT_EQ(count("SELECT count(*) FROM runs WHERE kind = 'tune'"), runs);
  // A constraint over a tensor's size is checked against the task at every shape: one that holds
  // everywhere keeps all 27 points.
  testing::write_text(
      workspace_->path() / "shape.cu",
      tiled_candidate("[\"BLOCK * ITEMS <= 4096\", \"x.numel > 0 || BLOCK == 0\"]", "shape"));
  nlohmann::json report = tune_json({"shape.cu", "--task", "tiny/tiny_relu", "--max-evals", "1"});
  EXPECT_EQ(report["space"]["points"], 27);
}

// `--start`: the caller's points are evaluated first, in the order given, a define left out at
// its default, each marked `given` (in the report, the checkpoint and the progress lines), told
// to the strategy as start points; the strategy's points follow, none of them a given one again.
TEST_F(TuneTest, GivenStartPointsAreEvaluatedFirstInTheirOrder) {
  testing::write_text(workspace_->path() / "given.cu", tiled_candidate(kConstraints, "given"));
  ProcessResult result =
      tune({"given.cu", "--task", "tiny/tiny_relu", "--max-evals", "5", "--strategy", "random",
            "--seed", "2", "--start", "BLOCK=1024,ITEMS=4", "--start", "ITEMS=2", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  nlohmann::json report = nlohmann::json::parse(result.standard_output);
  ASSERT_EQ(report["points"].size(), 5u) << report.dump();
  const nlohmann::json first = {{"BLOCK", 1024}, {"ITEMS", 4}};
  const nlohmann::json second = {{"BLOCK", 128}, {"ITEMS", 2}};  // BLOCK's default: 128
  EXPECT_EQ(report["points"][0]["defines"], first);
  EXPECT_EQ(report["points"][1]["defines"], second);
  for (size_t i = 0; i < 5; ++i) {
    const nlohmann::json& point = report["points"][i];
    EXPECT_EQ(point["origin"], i < 2 ? "given" : "strategy") << point.dump();
    if (i >= 2) {
      EXPECT_NE(point["defines"], first);
      EXPECT_NE(point["defines"], second);
    }
  }
  EXPECT_EQ(std::count(report["points"].begin(), report["points"].end(), report["points"][0]), 1);
  EXPECT_NE(result.standard_error.find("BLOCK=1024 ITEMS=4 (given)"), std::string::npos)
      << result.standard_error;
  // The run's request keeps the points as given, as a resumed or joined run reads them.
  const std::string run = std::to_string(report["run_id"].get<int64_t>());
  EXPECT_EQ(nlohmann::json::parse(text("SELECT request FROM runs WHERE id = " + run))["start"],
            nlohmann::json::array({first, {{"ITEMS", 2}}}));
}

// Bad --start points are refused before anything is stored: a point outside the space (a value
// not declared, a define the kernel has not, a broken constraint, the same point twice, more
// points than the budget) is one line naming the point; text that is not NAME=VALUE, or --start
// where no run starts, is a usage error.
TEST_F(TuneTest, BadStartPointsAreOneLineAndStoreNothing) {
  const int64_t runs = count("SELECT count(*) FROM runs");
  const int64_t candidates = count("SELECT count(*) FROM candidates");
  auto with_start = [](std::vector<std::string> starts, const std::string& max_evals = "4") {
    std::vector<std::string> arguments = {"tiled.cu", "--task", "tiny/tiny_relu", "--max-evals",
                                          max_evals};
    for (const std::string& start : starts) {
      arguments.push_back("--start");
      arguments.push_back(start);
    }
    return tune(arguments);
  };
  expect_one_line_error(with_start({"BLOCK=1024,ITEMS=8"}),
                        "\"BLOCK * ITEMS <= 4096\" (start point 1 {\"BLOCK\":1024,\"ITEMS\":8})");
  expect_one_line_error(with_start({"BLOCK=256", "BLOCK=96"}), "(start point 2 ");
  expect_one_line_error(with_start({"WARPS=2"}), "WARPS");
  expect_one_line_error(with_start({"ITEMS=4", "ITEMS=4,BLOCK=128"}), "the same point as point 1");
  expect_one_line_error(with_start({"ITEMS=2", "ITEMS=4"}, "1"),
                        "2 start points, but a budget of 1 points");
  for (const std::vector<std::string>& usage :
       {std::vector<std::string>{"tiled.cu", "--task", "tiny/tiny_relu", "--start", "BLOCK"},
        std::vector<std::string>{"tiled.cu", "--task", "tiny/tiny_relu", "--start", "BLOCK=1.5"},
        std::vector<std::string>{"tiled.cu", "--task", "tiny/tiny_relu", "--start",
                                 "BLOCK=64,BLOCK=32"},
        std::vector<std::string>{"--resume", "1", "--start", "BLOCK=64"},
        std::vector<std::string>{"--replay", "space.json", "--start", "BLOCK=64"}}) {
    ProcessResult result = tune(usage);
    EXPECT_EQ(result.exit_code, 2) << result.standard_error;
    EXPECT_NE(result.standard_error.find("kforge: usage error: --start"), std::string::npos)
        << result.standard_error;
  }
  ProcessResult joined = tune({"--join", "1", "--start", "BLOCK=64"});
  EXPECT_NE(joined.exit_code, 0);
  EXPECT_NE(joined.standard_error.find("give --start only to start a run"), std::string::npos)
      << joined.standard_error;
  EXPECT_EQ(count("SELECT count(*) FROM runs"), runs);
  EXPECT_EQ(count("SELECT count(*) FROM candidates"), candidates);
}

// A run killed after its first given point resumes with the rest of them, still first and still
// `given`: the points live in the run's request, not only in the process that started it.
TEST_F(TuneTest, AResumedRunEvaluatesTheRestOfItsGivenPointsFirst) {
  testing::write_text(workspace_->path() / "given_killed.cu",
                      tiled_candidate(kConstraints, "given, killed"));
  const fs::path log = workspace_->path() / "given_killed.log";
  pid_t child = testing::spawn_kforge(
      {"--workspace", workspace_->path().string(), "tune",
       (workspace_->path() / "given_killed.cu").string(), "--task", "tiny/tiny_relu", "--max-evals",
       "5", "--strategy", "random", "--start", "BLOCK=64,ITEMS=1", "--start", "BLOCK=512,ITEMS=8",
       "--start", "BLOCK=32,ITEMS=16"},
      {{"KFORGE_GPU_WORKER", worker()}}, log);
  ASSERT_GT(child, 0);
  const int64_t run = running_run_with_evaluations("AND request LIKE '%given, killed%'", 1);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_GT(run, 0) << files::read(log);
  const std::string id = std::to_string(run);
  EXPECT_LT(count("SELECT count(*) FROM evaluations WHERE run_id = " + id), 3)
      << "the run evaluated every given point before it was killed: nothing left to show";

  nlohmann::json report = tune_json({"--resume", id});
  ASSERT_EQ(report["points"].size(), 5u) << report.dump();
  const std::vector<nlohmann::json> given = {{{"BLOCK", 64}, {"ITEMS", 1}},
                                             {{"BLOCK", 512}, {"ITEMS", 8}},
                                             {{"BLOCK", 32}, {"ITEMS", 16}}};
  for (size_t i = 0; i < 5; ++i) {
    const nlohmann::json& point = report["points"][i];
    EXPECT_EQ(point["origin"], i < 3 ? "given" : "strategy") << point.dump();
    if (i < 3)
      EXPECT_EQ(point["defines"], given[i]) << point.dump();
  }
}

// A library kernel (a seed, its manifest written by `kforge library seed-manifests`) tuned for
// this GPU: the best point is recorded in its manifest under "tuned"."<arch>", the rest of the
// manifest unchanged.
TEST_F(TuneTest, LibraryTuneRecordsTheBestPointPerArchitecture) {
  fs::path lib = workspace_->path() / "lib";
  fs::create_directories(lib / "seeds/relu/tiled");
  testing::write_text(lib / "seeds/relu/tiled/kernel.cu", tiled_candidate(kConstraints, "lib"));
  ProcessResult written =
      run_kforge({"library", "seed-manifests", "--library", lib.string()}, workspace_->path());
  ASSERT_EQ(written.exit_code, 0) << written.standard_error;
  fs::path manifest_path = lib / "seeds/relu/tiled/manifest.json";
  std::string name = "seeds/relu/tiled";
  nlohmann::json before = nlohmann::json::parse(files::read(manifest_path));

  ProcessResult result =
      run_kforge({"library", "tune", name, "--library", lib.string(), "--max-evals", "2", "--json"},
                 workspace_->path(), {{"KFORGE_GPU_WORKER", worker()}}, 600);
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  nlohmann::json report = nlohmann::json::parse(result.standard_output);
  EXPECT_EQ(report["recorded"], true);
  EXPECT_EQ(report["points"].size(), 2u);
  nlohmann::json after = nlohmann::json::parse(files::read(manifest_path));
  const std::string arch = report["arch"];
  ASSERT_TRUE(after["tuned"].contains(arch)) << after.dump(2);
  EXPECT_EQ(after["tuned"][arch]["defines"], report["best"]["defines"]);
  EXPECT_EQ(after["tuned"][arch]["run_id"], report["run_id"]);
  EXPECT_EQ(after["tuned"][arch]["gpu"], "kforge emulated GPU (tests only)");
  after.erase("tuned");
  EXPECT_EQ(after, before);  // the fallback defines and everything else are unchanged
}

// `library seed-manifests` run again leaves a manifest that would not change as it is (its date
// too), keeps the points `library tune` recorded while the kernel's source is the one they were
// measured on, and drops them with the rewrite when the source changes.
TEST_F(TuneTest, SeedManifestsKeepTunedPointsAndLeaveUnchangedManifestsAlone) {
  const fs::path lib = workspace_->path() / "kept-lib";
  const fs::path kernel = lib / "seeds/relu/tiled/kernel.cu";
  const fs::path manifest_path = lib / "seeds/relu/tiled/manifest.json";
  fs::create_directories(kernel.parent_path());
  testing::write_text(kernel, tiled_candidate(kConstraints, "kept"));
  auto seed_manifests = [&] {
    ProcessResult result = run_kforge(
        {"library", "seed-manifests", "--library", lib.string(), "--json"}, workspace_->path());
    EXPECT_EQ(result.exit_code, 0) << result.standard_error;
    return nlohmann::json::parse(result.standard_output);
  };
  const nlohmann::json name = nlohmann::json::array({"seeds/relu/tiled"});
  EXPECT_EQ(seed_manifests()["written"], name);
  ProcessResult tuned = run_kforge({"library", "tune", "seeds/relu/tiled", "--library",
                                    lib.string(), "--max-evals", "1", "--json"},
                                   workspace_->path(), {{"KFORGE_GPU_WORKER", worker()}}, 600);
  ASSERT_EQ(tuned.exit_code, 0) << tuned.standard_error;
  const std::string after_tune = files::read(manifest_path);
  ASSERT_TRUE(nlohmann::json::parse(after_tune).contains("tuned")) << after_tune;

  nlohmann::json again = seed_manifests();
  EXPECT_EQ(again["unchanged"], name) << again.dump();
  EXPECT_EQ(again["written"], nlohmann::json::array()) << again.dump();
  EXPECT_EQ(files::read(manifest_path), after_tune);  // the same bytes: date and tuned points kept

  testing::write_text(kernel, tiled_candidate(kConstraints, "kept, then edited"));
  EXPECT_EQ(seed_manifests()["written"], name);
  nlohmann::json rewritten = nlohmann::json::parse(files::read(manifest_path));
  EXPECT_FALSE(rewritten.contains("tuned")) << "points measured on another source were kept";
  EXPECT_NE(rewritten["kernel"]["source_hash"],
            nlohmann::json::parse(after_tune)["kernel"]["source_hash"]);
}

// The night's tune step: a shipped kernel with a define space and no tuned point for this
// architecture is tuned within the night's evaluation budget, its best point recorded in the
// manifest and shown in the report's tuning progress; the next night leaves it alone.
TEST_F(TuneTest, NightlyTunesLibraryKernelsNotYetTunedForTheArchitecture) {
  // A seed's manifest written by `library seed-manifests`, shipped as the variant relu/tiled
  // (the night re-verifies and tunes shipped variants, not seeds).
  const fs::path lib = workspace_->path() / "night-lib";
  fs::create_directories(lib / "seeds/relu/tiled");
  testing::write_text(lib / "seeds/relu/tiled/kernel.cu", tiled_candidate(kConstraints, "night"));
  ProcessResult written =
      run_kforge({"library", "seed-manifests", "--library", lib.string()}, workspace_->path());
  ASSERT_EQ(written.exit_code, 0) << written.standard_error;
  fs::create_directories(lib / "relu");
  fs::rename(lib / "seeds/relu/tiled", lib / "relu/tiled");
  testing::write_text(workspace_->path() / "night.toml",
                      "[library]\ndir = \"night-lib\"\n"
                      "[nightly]\nagents = \"tune\"\nmax_evaluations = 3\n"
                      "report_dir = \"night-reports\"\n");
  auto night = [&] {
    ProcessResult result = run_kforge({"-q", "nightly", "--config", "night.toml", "--json"},
                                      workspace_->path(), {{"KFORGE_GPU_WORKER", worker()}}, 600);
    EXPECT_EQ(result.exit_code, 0) << result.standard_error << result.standard_output;
    return nlohmann::json::parse(result.standard_output);
  };
  auto tune_step = [](const nlohmann::json& report) {
    for (const nlohmann::json& step : report["steps"])
      if (step["name"] == "tune")
        return step;
    return nlohmann::json();
  };

  const nlohmann::json first = night();
  EXPECT_EQ(tune_step(first)["status"], "done") << first.dump(2);
  ASSERT_EQ(first["tuning"].size(), 1u) << first.dump(2);
  const nlohmann::json& progress = first["tuning"][0];
  EXPECT_EQ(progress["kernel"], "relu/tiled");
  // The re-verification spent one evaluation of the three; the tuner had the other two.
  EXPECT_EQ(progress["evaluations"], 2);
  ASSERT_TRUE(progress["best_us"].is_number()) << first.dump(2);
  const nlohmann::json manifest =
      nlohmann::json::parse(files::read(lib / "relu/tiled/manifest.json"));
  const std::string arch = progress["arch"];
  ASSERT_TRUE(manifest["tuned"].contains(arch)) << manifest.dump(2);

  const int64_t tune_points = count("SELECT COUNT(*) FROM candidates WHERE origin = 'tune'");
  const nlohmann::json second = night();
  EXPECT_EQ(tune_step(second)["status"], "skipped") << second.dump(2);
  EXPECT_NE(tune_step(second)["detail"].get<std::string>().find("1 tuned before"),
            std::string::npos)
      << second.dump(2);
  EXPECT_TRUE(second["tuning"].empty());
  EXPECT_EQ(count("SELECT COUNT(*) FROM candidates WHERE origin = 'tune'"), tune_points);
}

TEST_F(TuneTest, HelpNamesTheBudgetsAndStrategies) {
  ProcessResult result = run_kforge({"tune", "--help"}, workspace_->path());
  EXPECT_EQ(result.exit_code, 0);
  for (const char* word : {"--max-evals", "--fraction", "--time", "--resume", "--strategy",
                           "--json", "--promote", "annealing", "tpe"})
    EXPECT_NE(result.standard_output.find(word), std::string::npos) << word;
}

}  // namespace
}  // namespace kforge

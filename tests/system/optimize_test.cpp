// `kforge optimize`, `runs` and `show` through the real binary, against the real fake LLM
// server (tests/support/fake_llm_server.py) on loopback, on a real workspace and store. No GPU
// here: a candidate that compiles and binds ends `compiled`, the best verdict this machine has.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "datasets/sqlite.hpp"
#include "harness/util/files.hpp"
#include "harness/util/subprocess.hpp"
#include "tests/support/fake_llm_server.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;

constexpr const char* kSecret = "sk-test-optimize-secret-1234";

class OptimizeTest : public ::testing::Test {
 protected:
  // One workspace and one server for the suite: the task's reference analysis (Python + torch)
  // is paid once. Each test looks only at its own run's rows.
  static void SetUpTestSuite() {
    workspace_ = new testing::TemporaryDirectory();
    server_ = new testing::FakeLlmServer({"--key", kSecret});
    // No retries: a 429 is recorded at once instead of after backoff.
    testing::write_text(workspace_->path() / "kforge.toml", "[llm]\nretries = 0\n");
  }
  static void TearDownTestSuite() {
    delete server_;
    delete workspace_;
  }

  static std::vector<std::string> llm_arguments(const std::string& model,
                                                std::vector<std::string> extra = {}) {
    std::vector<std::string> arguments = {"--python",     "/usr/bin/python3",  "optimize",
                                          "builtin/relu", "--agent",           "llm",
                                          "--base-url",   server_->base_url(), "--model",
                                          model,          "--api-key-env",     "KFORGE_TEST_KEY"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    return arguments;
  }

  static ProcessResult kforge(const std::vector<std::string>& arguments,
                              std::map<std::string, std::string> environment = {}) {
    environment["KFORGE_TEST_KEY"] = kSecret;
    return run_kforge(arguments, workspace_->path(), environment, 120);
  }

  static nlohmann::json run_json(const std::vector<std::string>& arguments) {
    ProcessResult result = kforge(arguments);
    EXPECT_EQ(result.exit_code, 0) << result.standard_error << result.standard_output;
    return nlohmann::json::parse(result.standard_output);
  }

  // Starts kforge in the background, in a process group of its own (as a shell job is), and
  // returns its pid.
  static pid_t start_kforge(const std::vector<std::string>& arguments) {
    pid_t child = ::fork();
    if (child == 0) {
      ::setpgid(0, 0);
      if (::chdir(workspace_->path().c_str()) != 0)
        ::_exit(126);
      ::setenv("KFORGE_TEST_KEY", kSecret, 1);
      std::vector<std::string> words = {testing::kforge_binary().string(), "--quiet"};
      words.insert(words.end(), arguments.begin(), arguments.end());
      std::vector<char*> argv;
      for (std::string& word : words)
        argv.push_back(word.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return child;
  }

  // Waits until the run with `model` has stored at least `candidates` candidates; its id, or -1.
  static int64_t wait_for_candidates(const std::string& model, int64_t candidates) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      // The child creates and migrates the store itself: until it has, there is nothing to see.
      try {
        int64_t run = count("SELECT max(id) FROM runs WHERE model = '" + model + "'");
        if (run > 0 && count("SELECT count(*) FROM candidates WHERE run_id = " +
                             std::to_string(run)) >= candidates)
          return run;
      } catch (const std::exception&) {
      }
    }
    return -1;
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

  static testing::TemporaryDirectory* workspace_;
  static testing::FakeLlmServer* server_;
};

testing::TemporaryDirectory* OptimizeTest::workspace_ = nullptr;
testing::FakeLlmServer* OptimizeTest::server_ = nullptr;

std::string run_filter(int64_t run_id) {
  return " run_id = " + std::to_string(run_id);
}

TEST_F(OptimizeTest, LlmRunStoresEveryExchangeCandidateAndEvaluation) {
  nlohmann::json report =
      run_json(llm_arguments("ok/store", {"--strategy", "sample", "--samples", "2", "--iterations",
                                          "2", "--concurrency", "2", "--json"}));
  int64_t run = report["run_id"].get<int64_t>();
  ASSERT_EQ(report["tasks"].size(), 1u);
  const nlohmann::json& task = report["tasks"][0];
  EXPECT_EQ(task["task"], "builtin/relu");
  EXPECT_EQ(task["attempts"], 4);
  EXPECT_EQ(task["verdicts"]["compiled"], 4);
  EXPECT_EQ(task["best"]["verdict"], "compiled");
  EXPECT_GT(task["input_tokens"].get<int64_t>(), 0);
  EXPECT_FALSE(task["stop_reason"].get<std::string>().empty());

  EXPECT_EQ(text("SELECT status FROM runs WHERE id = " + std::to_string(run)), "completed");
  EXPECT_EQ(text("SELECT kind FROM runs WHERE id = " + std::to_string(run)), "optimize");
  EXPECT_EQ(count("SELECT count(*) FROM llm_exchanges WHERE status = 'ok' AND" + run_filter(run)),
            4);
  // Every ask once, each candidate linked to its exchange, each evaluated.
  EXPECT_EQ(count("SELECT count(DISTINCT json_extract(request, '$.ask_id')) FROM llm_exchanges "
                  "WHERE" +
                  run_filter(run)),
            4);
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE origin = 'llm' AND llm_exchange_id IS "
                  "NOT NULL AND" +
                  run_filter(run)),
            4);
  EXPECT_EQ(
      count("SELECT count(*) FROM evaluations WHERE verdict = 'compiled' AND" + run_filter(run)),
      4);
  EXPECT_EQ(text("SELECT status FROM run_tasks WHERE" + run_filter(run)), "completed");
  // The key went to the server (else 401) but never into the store.
  EXPECT_EQ(
      count("SELECT count(*) FROM llm_exchanges WHERE instr(request, '" + std::string(kSecret) +
            "') > 0 OR instr(coalesce(error, ''), '" + kSecret + "') > 0"),
      0);

  // runs lists it; show gives the attempt with its conversation.
  nlohmann::json runs = run_json({"runs", "--json"});
  bool listed = false;
  for (const nlohmann::json& row : runs["runs"])
    listed = listed || (row["id"] == run && row["candidates"] == 4 && row["status"] == "completed");
  EXPECT_TRUE(listed) << runs.dump();
  int64_t best = task["best"]["candidate_id"].get<int64_t>();
  nlohmann::json shown = run_json({"show", std::to_string(best), "--json"});
  EXPECT_EQ(shown["origin"], "llm");
  EXPECT_EQ(shown["evaluations"][0]["verdict"], "compiled");
  EXPECT_NE(shown["exchange"]["response"].get<std::string>().find("kforge:launch"),
            std::string::npos);
  EXPECT_FALSE(shown["exchange"]["request"]["body"]["messages"].empty());
  ProcessResult human = kforge({"show", std::to_string(best)});
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_NE(human.standard_output.find("=== conversation"), std::string::npos);
}

TEST_F(OptimizeTest, AnthropicProtocolRunIsStoredUnderItsProvider) {
  nlohmann::json report =
      run_json(llm_arguments("ok/anthropic", {"--provider", "anthropic", "--samples", "1",
                                              "--iterations", "1", "--json"}));
  int64_t run = report["run_id"].get<int64_t>();
  EXPECT_EQ(report["tasks"][0]["verdicts"]["compiled"], 1) << report.dump();
  EXPECT_EQ(count("SELECT count(*) FROM llm_exchanges WHERE provider = 'anthropic' AND "
                  "json_extract(request, '$.url') LIKE '%/messages' AND" +
                  run_filter(run)),
            1);
}

TEST_F(OptimizeTest, SummaryTableAndPlainProgressLines) {
  ProcessResult result = kforge(
      llm_arguments("ok/summary", {"--strategy", "refine", "--samples", "1", "--iterations", "2"}));
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  EXPECT_NE(result.standard_output.find("completed"), std::string::npos);
  EXPECT_NE(result.standard_output.find("builtin/relu"), std::string::npos);
  EXPECT_NE(result.standard_output.find("compiled 2"), std::string::npos) << result.standard_output;
  // Not a terminal: one plain progress line per attempt, no cursor control.
  EXPECT_NE(result.standard_error.find("2 attempts"), std::string::npos) << result.standard_error;
  EXPECT_EQ(result.standard_error.find("\033["), std::string::npos);
}

TEST_F(OptimizeTest, MisbehavingModelsEndAsRecordedOutcomes) {
  struct Case {
    std::string model;
    std::string exchange_status;
    std::string verdict;
  };
  for (const Case& c : {Case{"nocode/misbehave", "no_candidate", "no_candidate"},
                        Case{"malformed/misbehave", "malformed", "llm_error"},
                        Case{"429/misbehave", "rate_limited", "llm_error"}}) {
    SCOPED_TRACE(c.model);
    nlohmann::json report =
        run_json(llm_arguments(c.model, {"--samples", "1", "--iterations", "1", "--json"}));
    int64_t run = report["run_id"].get<int64_t>();
    EXPECT_EQ(report["status"], "completed");
    EXPECT_EQ(report["tasks"][0]["verdicts"][c.verdict], 1) << report.dump();
    EXPECT_TRUE(report["tasks"][0]["best"].is_null());
    EXPECT_EQ(count("SELECT count(*) FROM llm_exchanges WHERE status = '" + c.exchange_status +
                    "' AND" + run_filter(run)),
              1);
    EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE" + run_filter(run)), 0);
  }
}

TEST_F(OptimizeTest, BadKeyStopsTheRunWithOneLine) {
  ProcessResult result =
      kforge(llm_arguments("401/fatal", {"--samples", "1", "--iterations", "1"}));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.standard_error.find("kforge: error: the LLM request failed (auth_failed)"),
            std::string::npos)
      << result.standard_error;
  EXPECT_EQ(result.standard_error.find(kSecret), std::string::npos);
  EXPECT_EQ(text("SELECT status FROM runs ORDER BY id DESC LIMIT 1"), "failed");
}

// The CLI reads the key from the variable named (nothing below it reads the environment): an
// unset variable is one line naming it.
TEST_F(OptimizeTest, AnUnsetKeyVariableIsOneLineNamingIt) {
  std::vector<std::string> arguments = llm_arguments("ok");
  arguments.back() = "KFORGE_TEST_UNSET_KEY_VARIABLE";  // --api-key-env's value
  arguments.insert(arguments.end(), {"--samples", "1"});
  ProcessResult result = kforge(arguments);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.standard_error,
            "kforge: error: the environment variable KFORGE_TEST_UNSET_KEY_VARIABLE that should "
            "hold the API key is not set (llm.api_key_env)\n");
}

nlohmann::json requests_received(const testing::FakeLlmServer& server) {
  return server.requests();
}

TEST_F(OptimizeTest, LlmStartsFromTheEngineersCandidateAndHint) {
  testing::TemporaryDirectory folder;
  std::string kernel = files::read(testing::source_dir() / "tests/system/data/eval/relu_ok.cu") +
                       "// engineer's marker 7f3a\n";
  testing::write_text(folder / "mine.cu", kernel);
  const std::string hint = "Use float4 loads; keep BLOCK at 256.";
  nlohmann::json report = run_json(llm_arguments(
      "ok/start", {"--from", (folder / "mine.cu").string(), "--hint", hint, "--strategy", "refine",
                   "--samples", "1", "--iterations", "1", "--json"}));
  int64_t run = report["run_id"].get<int64_t>();
  EXPECT_EQ(report["tasks"][0]["status"], "completed") << report.dump();

  // The first request the server saw for this run: the task, then the engineer's kernel as the
  // answer before, then its result and the hint.
  nlohmann::json first;
  for (const nlohmann::json& seen : requests_received(*server_)) {
    if (seen["model"] == "ok/start") {
      first = seen["body"];
      break;
    }
  }
  ASSERT_TRUE(first.contains("messages")) << first.dump();
  const nlohmann::json& messages = first["messages"];
  ASSERT_EQ(messages.size(), 4u) << messages.dump(1);  // system, task, kernel, result + hint
  EXPECT_EQ(messages[2]["role"], "assistant");
  EXPECT_NE(messages[2]["content"].get<std::string>().find("engineer's marker 7f3a"),
            std::string::npos);
  EXPECT_NE(messages[2]["content"].get<std::string>().find("mine.cu"), std::string::npos);
  std::string result_turn = messages[3]["content"].get<std::string>();
  EXPECT_NE(result_turn.find("compiled"), std::string::npos) << result_turn;
  EXPECT_NE(result_turn.find(hint), std::string::npos) << result_turn;

  // The store: the kernel evaluated first (origin human, in the run), the model's candidate its
  // child, and the stored conversation holding both the kernel and the hint.
  int64_t human = count("SELECT id FROM candidates WHERE origin = 'human' AND" + run_filter(run));
  ASSERT_GT(human, 0);
  EXPECT_EQ(text("SELECT source FROM candidates WHERE id = " + std::to_string(human)), kernel);
  EXPECT_EQ(text("SELECT verdict FROM evaluations WHERE candidate_id = " + std::to_string(human)),
            "compiled");
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE origin = 'llm' AND parent_id = " +
                  std::to_string(human) + " AND" + run_filter(run)),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM llm_exchanges WHERE instr(request, 'marker 7f3a') > 0 "
                  "AND instr(request, '" +
                  hint + "') > 0 AND" + run_filter(run)),
            1);
  EXPECT_EQ(text("SELECT json_extract(request, '$.start.hint') FROM runs WHERE id = " +
                 std::to_string(run)),
            hint);

  // A hint alone ends the first prompt; --hint with the replay agent and --from with a folder
  // are one-line errors.
  nlohmann::json alone =
      run_json(llm_arguments("ok/hint", {"--hint", hint, "--strategy", "sample", "--samples", "1",
                                         "--iterations", "1", "--json"}));
  EXPECT_EQ(alone["tasks"][0]["status"], "completed") << alone.dump();
  for (const nlohmann::json& seen : requests_received(*server_)) {
    if (seen["model"] == "ok/hint") {
      ASSERT_EQ(seen["body"]["messages"].size(), 2u);
      EXPECT_NE(seen["body"]["messages"][1]["content"].get<std::string>().find(hint),
                std::string::npos);
    }
  }
  ProcessResult replay = kforge({"--python", "/usr/bin/python3", "optimize", "builtin/relu",
                                 "--agent", "replay", "--hint", hint});
  EXPECT_EQ(replay.exit_code, 1);
  EXPECT_NE(replay.standard_error.find("kforge: error: --hint is an instruction for the llm agent"),
            std::string::npos)
      << replay.standard_error;
  std::vector<std::string> two_tasks =
      llm_arguments("ok/start", {"--from", (folder / "mine.cu").string()});
  two_tasks.insert(two_tasks.begin() + 4, "builtin/softmax");
  ProcessResult both = kforge(two_tasks);
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_NE(both.standard_error.find("--from starts one task"), std::string::npos)
      << both.standard_error;
  ProcessResult folder_from = kforge(llm_arguments("ok/start", {"--from", folder.path().string()}));
  EXPECT_EQ(folder_from.exit_code, 1);
  EXPECT_NE(folder_from.standard_error.find("names one .cu file"), std::string::npos)
      << folder_from.standard_error;
}

TEST_F(OptimizeTest, ReplayEvaluatesEveryFileOfAFolder) {
  testing::TemporaryDirectory folder;
  fs::path data = testing::source_dir() / "tests/system/data/eval";
  fs::create_directories(folder / "nested");
  fs::copy_file(data / "relu_ok.cu", folder / "a_ok.cu");
  fs::copy_file(data / "relu_compile_error.cu", folder / "nested/b_broken.cu");
  testing::write_text(folder / "notes.txt", "not a kernel");
  nlohmann::json report =
      run_json({"--python", "/usr/bin/python3", "optimize", "builtin/relu", "--agent", "replay",
                "--from", folder.path().string(), "--json"});
  int64_t run = report["run_id"].get<int64_t>();
  EXPECT_EQ(report["tasks"][0]["attempts"], 2);
  EXPECT_EQ(report["tasks"][0]["verdicts"]["compiled"], 1);
  EXPECT_EQ(report["tasks"][0]["verdicts"]["compile_error"], 1);
  EXPECT_EQ(report["tasks"][0]["best"]["verdict"], "compiled");
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE origin = 'replay' AND" + run_filter(run)),
            2);
  EXPECT_EQ(count("SELECT count(*) FROM llm_exchanges WHERE" + run_filter(run)), 0);

  // Re-evaluating a stored run's candidates: origin replay, parent the stored candidate.
  nlohmann::json again =
      run_json({"--python", "/usr/bin/python3", "optimize", "builtin/relu", "--agent", "replay",
                "--from-run", std::to_string(run), "--json"});
  int64_t rerun = again["run_id"].get<int64_t>();
  EXPECT_EQ(again["tasks"][0]["attempts"], 2);
  EXPECT_EQ(count("SELECT count(*) FROM candidates c JOIN candidates p ON p.id = c.parent_id "
                  "WHERE p.run_id = " +
                  std::to_string(run) + " AND c.run_id = " + std::to_string(rerun)),
            2);
}

TEST_F(OptimizeTest, ReplayDefaultsToTheSeedKernels) {
  testing::TemporaryDirectory seeds;
  fs::create_directories(seeds / "relu/simple");
  fs::copy_file(testing::source_dir() / "tests/system/data/eval/relu_ok.cu",
                seeds / "relu/simple/kernel.cu");
  ProcessResult result = kforge(
      {"--python", "/usr/bin/python3", "optimize", "builtin/relu", "--agent", "replay", "--json"},
      {{"KFORGE_SEEDS_DIR", seeds.path().string()}});
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  nlohmann::json report = nlohmann::json::parse(result.standard_output);
  int64_t run = report["run_id"].get<int64_t>();
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE origin = 'seed' AND" + run_filter(run)),
            1);

  ProcessResult missing =
      kforge({"--python", "/usr/bin/python3", "optimize", "builtin/relu", "--agent", "replay"},
             {{"KFORGE_SEEDS_DIR", (seeds / "nowhere").string()}});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.standard_error.find("no seed kernels"), std::string::npos);
}

// kill -9 in the middle of a run, then --resume: the store is intact, nothing is redone, and
// the run completes with every ask answered exactly once.
TEST_F(OptimizeTest, KilledRunResumesWithoutDuplicates) {
  // The first three requests take 5 s each; later ones are answered at once.
  std::vector<std::string> arguments = llm_arguments(
      "slowx3/crash",
      {"--strategy", "sample", "--samples", "2", "--iterations", "2", "--concurrency", "2"});
  pid_t child = start_kforge(arguments);
  ASSERT_GT(child, 0);
  // Wait until the first answers are stored, then kill it while the next ones are in flight.
  int64_t run = wait_for_candidates("slowx3/crash", 2);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_GT(run, 0);
  EXPECT_EQ(text("SELECT status FROM runs WHERE id = " + std::to_string(run)), "running");
  int64_t stored_before = count("SELECT count(*) FROM candidates WHERE" + run_filter(run));
  EXPECT_GE(stored_before, 2);
  EXPECT_LT(stored_before, 4);
  EXPECT_EQ(text("PRAGMA integrity_check"), "ok");

  nlohmann::json report = run_json(
      {"--python", "/usr/bin/python3", "optimize", "--resume", std::to_string(run), "--json"});
  EXPECT_EQ(report["run_id"], run);
  EXPECT_EQ(report["status"], "completed");
  EXPECT_EQ(report["tasks"][0]["attempts"], 4) << report.dump();
  EXPECT_EQ(text("SELECT status FROM runs WHERE id = " + std::to_string(run)), "completed");
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE" + run_filter(run)), 4);
  // No ask was answered twice, and nothing was stored twice.
  EXPECT_EQ(count("SELECT count(*) FROM llm_exchanges WHERE" + run_filter(run)), 4);
  EXPECT_EQ(count("SELECT count(DISTINCT json_extract(request, '$.ask_id')) FROM llm_exchanges "
                  "WHERE" +
                  run_filter(run)),
            4);
  EXPECT_EQ(count("SELECT count(*) FROM (SELECT candidate_id FROM evaluations WHERE" +
                  run_filter(run) + " GROUP BY candidate_id HAVING count(*) > 1)"),
            0);
  EXPECT_EQ(text("PRAGMA integrity_check"), "ok");

  ProcessResult again = kforge({"optimize", "--resume", std::to_string(run)});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.standard_error.find("already completed"), std::string::npos);
}

// Ctrl-C (SIGINT to the whole process group, as a terminal sends it): the LLM requests in
// flight are cancelled rather than waited for, what is stored stays, the run is marked
// interrupted, kforge exits with 130, and --resume completes it without duplicates.
TEST_F(OptimizeTest, InterruptedRunStopsAtOnceAndResumes) {
  std::vector<std::string> arguments = llm_arguments(
      "slowx3/interrupt",
      {"--strategy", "sample", "--samples", "2", "--iterations", "2", "--concurrency", "2"});
  pid_t child = start_kforge(arguments);
  ASSERT_GT(child, 0);
  int64_t run = wait_for_candidates("slowx3/interrupt", 2);
  ASSERT_GT(run, 0);
  auto interrupted_at = std::chrono::steady_clock::now();
  ::kill(-child, SIGINT);
  int status = 0;
  ::waitpid(child, &status, 0);
  // The slow answers take 5 s; a cancelled request does not wait for them.
  EXPECT_LT(std::chrono::steady_clock::now() - interrupted_at, std::chrono::seconds(4));
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 130);
  std::string id = std::to_string(run);
  EXPECT_EQ(text("SELECT status FROM runs WHERE id = " + id), "interrupted");
  EXPECT_EQ(text("SELECT status FROM run_tasks WHERE run_id = " + id), "interrupted");
  int64_t stored_before = count("SELECT count(*) FROM candidates WHERE" + run_filter(run));
  EXPECT_GE(stored_before, 2);
  EXPECT_LT(stored_before, 4);
  // Cancelled requests are not stored: every stored exchange is a real answer.
  EXPECT_EQ(count("SELECT count(*) FROM llm_exchanges WHERE status <> 'ok' AND" + run_filter(run)),
            0);
  // The compile workers ignored the group's SIGINT: nothing stored was judged by a dead worker.
  EXPECT_EQ(
      count("SELECT count(*) FROM evaluations WHERE verdict <> 'compiled' AND" + run_filter(run)),
      0);
  EXPECT_EQ(text("PRAGMA integrity_check"), "ok");

  nlohmann::json report =
      run_json({"--python", "/usr/bin/python3", "optimize", "--resume", id, "--json"});
  EXPECT_EQ(report["status"], "completed");
  EXPECT_EQ(report["tasks"][0]["attempts"], 4) << report.dump();
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE" + run_filter(run)), 4);
  EXPECT_EQ(count("SELECT count(DISTINCT json_extract(request, '$.ask_id')) FROM llm_exchanges "
                  "WHERE" +
                  run_filter(run)),
            4);
  EXPECT_EQ(text("PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace kforge

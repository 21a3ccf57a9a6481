// The optimize loop with real parts: a real store, the real compile pool (the kforge binary as
// its worker), the built-in relu task analysed by the real reference runner, and a real
// provider talking to the fake LLM server on 127.0.0.1.
#include "harness/optimize/optimize_loop.hpp"

#include <gtest/gtest.h>

#include "agents/llm_agent.hpp"
#include "datasets/exchange_records.hpp"
#include "datasets/records.hpp"
#include "harness/evaluation/evaluator.hpp"
#include "harness/task_import.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/workspace.hpp"
#include "sandbox/compile_pool.hpp"
#include "tests/support/fake_llm_server.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

class OptimizeLoopTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory_ = new testing::TemporaryDirectory();
    server_ = new testing::FakeLlmServer();
    workspace_ = new Workspace(WorkspaceOptions{.root = directory_->path()});
    workspace_->config().set("python", "/usr/bin/python3");
    task_ = new Task(load_task(*workspace_, "builtin/relu"));
    CompilePoolOptions options;
    options.workers = 1;
    options.cache_dir = workspace_->cache_dir("compile");
    options.worker_program = testing::kforge_binary();
    pool_ = new CompilePool(options);
  }
  static void TearDownTestSuite() {
    delete pool_;
    delete task_;
    delete workspace_;
    delete server_;
    delete directory_;
  }

  static std::unique_ptr<agents::Provider> provider(const std::string& model) {
    agents::ProviderSettings settings;
    settings.base_url = server_->base_url();
    settings.model = model;
    settings.retries = 0;
    settings.timeout = std::chrono::seconds(20);
    return agents::make_provider(settings);
  }
  static std::shared_ptr<const agents::PromptBuilder> prompts() {
    return std::make_shared<agents::PromptBuilder>(
        agents::PromptLibrary::load(),
        agents::TaskView{task_->name, task_->source, task_->analysis->benchmark.to_json()},
        agents::GpuTarget{"GPU", "sm_90", 132, 3000, 232448});
  }
  static agents::StrategySettings sample(int64_t samples, int64_t iterations) {
    agents::StrategySettings settings;
    settings.samples = samples;
    settings.budgets.iterations = iterations;
    return settings;
  }
  static int64_t new_run() {
    return insert_run(workspace_->store(), RunRow{.kind = "optimize", .agent = "llm"});
  }
  static int64_t count(const std::string& sql) {
    auto query = workspace_->store().db().prepare(sql);
    return query.step() ? query.integer(0) : -1;
  }

  static testing::TemporaryDirectory* directory_;
  static testing::FakeLlmServer* server_;
  static Workspace* workspace_;
  static Task* task_;
  static CompilePool* pool_;
};

testing::TemporaryDirectory* OptimizeLoopTest::directory_ = nullptr;
testing::FakeLlmServer* OptimizeLoopTest::server_ = nullptr;
Workspace* OptimizeLoopTest::workspace_ = nullptr;
Task* OptimizeLoopTest::task_ = nullptr;
CompilePool* OptimizeLoopTest::pool_ = nullptr;

TEST_F(OptimizeLoopTest, FatalLlmErrorStopsTheTaskAndIsStoredNotTold) {
  Evaluator evaluator(workspace_->store(), *pool_, EvaluatorOptions{});
  int64_t run = new_run();
  OptimizeLoop loop(workspace_->store(), evaluator, run, {});
  auto failing = provider("404/loop");
  TaskOutcome outcome = loop.run_llm(*task_, *failing, sample(1, 1), prompts());
  EXPECT_EQ(outcome.status, RunStatus::kFailed);
  EXPECT_NE(outcome.error.find("unknown_model"), std::string::npos) << outcome.error;
  EXPECT_EQ(outcome.progress.attempts, 0);
  EXPECT_EQ(
      count("SELECT count(*) FROM llm_exchanges WHERE status = 'unknown_model' AND run_id = " +
            std::to_string(run)),
      1);
  auto state = load_task_state(workspace_->store(), run, task_->id);
  ASSERT_TRUE(state);
  EXPECT_EQ(count("SELECT count(*) FROM run_tasks WHERE status = 'failed' AND run_id = " +
                  std::to_string(run)),
            1);
}

TEST_F(OptimizeLoopTest, AnswersWithoutCodeAreToldAndStoredWithoutCandidates) {
  Evaluator evaluator(workspace_->store(), *pool_, EvaluatorOptions{});
  int64_t run = new_run();
  std::vector<int64_t> seen;
  OptimizeLoop loop(workspace_->store(), evaluator, run,
                    [&seen](const TaskProgress& progress) { seen.push_back(progress.attempts); });
  auto prose = provider("nocode/loop");
  TaskOutcome outcome = loop.run_llm(*task_, *prose, sample(2, 1), prompts());
  EXPECT_EQ(outcome.status, RunStatus::kCompleted);
  EXPECT_EQ(outcome.progress.attempts, 2);
  EXPECT_EQ(outcome.progress.verdicts["no_candidate"], 2);
  EXPECT_FALSE(outcome.progress.best_candidate_id);
  EXPECT_EQ(seen.back(), 2);
  EXPECT_EQ(count("SELECT count(*) FROM llm_exchanges WHERE status = 'no_candidate' AND run_id = " +
                  std::to_string(run)),
            2);
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE run_id = " + std::to_string(run)), 0);
}

// A stored exchange whose status no kforge writes (the column has no CHECK) stops a resume with
// an Error naming the text and the exchange, rather than being told as some other failure.
TEST_F(OptimizeLoopTest, ResumeRefusesAnExchangeOfAnUnknownStatus) {
  Store& store = workspace_->store();
  int64_t run = new_run();
  auto strategy = agents::make_strategy(sample(2, 1), prompts());
  std::vector<agents::Ask> asks = strategy->ask(0);
  ASSERT_EQ(asks.size(), 2u);
  save_task_state(store, run, task_->id,
                  {{"agent", "llm"},
                   {"strategy", strategy->state()},
                   {"candidates", nlohmann::json::object()},
                   {"elapsed_s", 1.0}},
                  RunStatus::kRunning);
  ExchangeRow row;
  row.run_id = run;
  row.task_id = task_->id;
  row.provider = "openai";
  row.model = "ok/resume";
  row.request["ask_id"] = asks[0].id;
  row.status = "exploded";
  const int64_t exchange = insert_exchange(store, row);

  Evaluator evaluator(store, *pool_, EvaluatorOptions{});
  OptimizeLoop loop(store, evaluator, run, {});
  auto second = provider("ok/resume");
  try {
    loop.run_llm(*task_, *second, sample(5, 5), prompts());
    FAIL() << "an exchange of an unknown status was told";
  } catch (const Error& error) {
    EXPECT_EQ(error.message(), "unknown LLM exchange status 'exploded'");
    EXPECT_EQ(error.where(), "llm_exchanges row " + std::to_string(exchange));
  }
  EXPECT_EQ(second->totals().requests, 0);
}

// A process died after asking twice and storing one answer: the continuation tells the stored
// answer from the store (evaluating its candidate, which the dead process never did) and sends
// only the other ask.
TEST_F(OptimizeLoopTest, ResumeTellsStoredAnswersAndSendsOnlyTheRest) {
  Store& store = workspace_->store();
  int64_t run = new_run();
  auto first = provider("ok/resume");
  auto strategy = agents::make_strategy(sample(2, 1), prompts());
  std::vector<agents::Ask> asks = strategy->ask(0);
  ASSERT_EQ(asks.size(), 2u);
  save_task_state(store, run, task_->id,
                  {{"agent", "llm"},
                   {"strategy", strategy->state()},
                   {"candidates", nlohmann::json::object()},
                   {"elapsed_s", 1.0}},
                  RunStatus::kRunning);
  agents::Proposal answered = agents::propose(*first, asks[0]);
  ASSERT_TRUE(answered.source);
  ExchangeRow row;
  row.run_id = run;
  row.task_id = task_->id;
  row.provider = "openai";
  row.model = "ok/resume";
  row.request = answered.response.request_json;
  row.request["ask_id"] = asks[0].id;
  row.response = answered.response.text;
  row.status = "ok";
  insert_exchange(store, row);

  Evaluator evaluator(store, *pool_, EvaluatorOptions{});
  OptimizeLoop loop(store, evaluator, run, {});
  auto second = provider("ok/resume");
  TaskOutcome outcome = loop.run_llm(*task_, *second, sample(5, 5), prompts());
  EXPECT_EQ(outcome.status, RunStatus::kCompleted);
  EXPECT_EQ(outcome.progress.attempts, 2);  // the stored strategy's settings, not the new ones
  EXPECT_EQ(outcome.progress.verdicts["compiled"], 2);
  EXPECT_EQ(second->totals().requests, 1);  // only the unanswered ask went out
  EXPECT_EQ(count("SELECT count(*) FROM llm_exchanges WHERE run_id = " + std::to_string(run)), 2);
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE llm_exchange_id IS NOT NULL AND "
                  "run_id = " +
                  std::to_string(run)),
            2);
  ASSERT_TRUE(outcome.progress.best_candidate_id);
  EXPECT_EQ(outcome.progress.best_verdict, Verdict::kCompiled);

  // Once complete, running it again does nothing more.
  auto third = provider("ok/resume");
  TaskOutcome again = loop.run_llm(*task_, *third, sample(1, 1), prompts());
  EXPECT_EQ(again.progress.attempts, 2);
  EXPECT_EQ(third->totals().requests, 0);
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE run_id = " + std::to_string(run)), 2);
}

// `optimize --from FILE.cu --hint TEXT`: the engineer's candidate is evaluated once, before the
// first ask; a run that failed after it continues without evaluating it again, and the model's
// candidate is its child, asked from a conversation that holds the kernel and the hint.
TEST_F(OptimizeLoopTest, TheEngineersStartIsEvaluatedOnceAcrossAResume) {
  Store& store = workspace_->store();
  int64_t run = new_run();
  std::string in_run = " AND run_id = " + std::to_string(run);
  Evaluator evaluator(store, *pool_, EvaluatorOptions{});
  OptimizeLoop loop(store, evaluator, run, {});
  LlmStart start{
      .candidate = ReplayItem{.source = files::read(testing::source_dir() /
                                                    "tests/system/data/eval/relu_ok.cu") +
                                        "// start marker\n",
                              .file_name = "mine.cu",
                              .origin = "human"},
      .hint = "vectorise the loads"};
  auto failing = provider("404/start");
  TaskOutcome failed = loop.run_llm(*task_, *failing, sample(1, 1), prompts(), start);
  EXPECT_EQ(failed.status, RunStatus::kFailed);
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE origin = 'human'" + in_run), 1);

  auto working = provider("ok/start");
  TaskOutcome resumed = loop.run_llm(*task_, *working, sample(1, 1), prompts(), start);
  EXPECT_EQ(resumed.status, RunStatus::kCompleted);
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE origin = 'human'" + in_run), 1);
  EXPECT_EQ(count("SELECT count(*) FROM candidates c JOIN candidates p ON p.id = c.parent_id "
                  "WHERE p.origin = 'human' AND c.origin = 'llm' AND c.run_id = " +
                  std::to_string(run)),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM llm_exchanges WHERE status = 'ok' AND instr(request, "
                  "'start marker') > 0 AND instr(request, 'vectorise the loads') > 0" +
                  in_run),
            1);
}

TEST_F(OptimizeLoopTest, ReplayFilesAreSortedAndMissingPathsNamed) {
  testing::TemporaryDirectory folder;
  std::filesystem::create_directories(folder / "b");
  testing::write_text(folder / "b/two.cu", "// two");
  testing::write_text(folder / "a.cu", "// one");
  testing::write_text(folder / "readme.md", "not a kernel");
  std::vector<ReplayItem> items = replay_files(folder.path(), "replay");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].file_name, "a.cu");
  EXPECT_EQ(items[1].file_name, "b/two.cu");
  EXPECT_EQ(items[1].source, "// two");
  EXPECT_THROW(replay_files(folder / "missing", "replay"), Error);
  testing::TemporaryDirectory empty;
  EXPECT_THROW(replay_files(empty.path(), "replay"), Error);
}

// A task's outcome, as its last checkpoint keeps it, reads back as it was; anything else is no
// outcome.
TEST(TaskOutcomeTest, ReadsBackWhatToJsonWrote) {
  TaskOutcome outcome;
  outcome.status = RunStatus::kFailed;
  outcome.stop_reason = "stopped: the key was refused";
  outcome.error = "the key was refused";
  outcome.progress.task = "tiny/relu";
  outcome.progress.attempts = 3;
  outcome.progress.verdicts = {{"correct", 2}, {"incorrect", 1}};
  outcome.progress.best_candidate_id = 17;
  outcome.progress.best_verdict = Verdict::kCorrect;
  outcome.progress.best_speedup = 1.5;
  outcome.progress.input_tokens = 1200;
  outcome.progress.output_tokens = 300;
  outcome.progress.cost_usd = 0.25;
  outcome.progress.elapsed_s = 4.5;
  std::optional<TaskOutcome> read = TaskOutcome::from_json(outcome.to_json());
  ASSERT_TRUE(read);
  EXPECT_EQ(read->to_json(), outcome.to_json());
  EXPECT_EQ(read->progress.best_verdict, Verdict::kCorrect);

  TaskOutcome without_best;
  without_best.progress.task = "tiny/relu";
  read = TaskOutcome::from_json(without_best.to_json());
  ASSERT_TRUE(read);
  EXPECT_FALSE(read->progress.best_candidate_id);

  for (const char* bad :
       {"null", "[]", "{}", R"({"task": "t"})", R"({"task": "t", "status": "sleeping"})"})
    EXPECT_FALSE(TaskOutcome::from_json(nlohmann::json::parse(bad))) << bad;
}

}  // namespace
}  // namespace kforge

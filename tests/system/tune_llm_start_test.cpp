// `kforge tune --llm-start N` through the real binary: the LLM is tests/support/fake_llm_server.py
// on 127.0.0.1 speaking the OpenAI protocol (the [llm] keys of kforge.toml, the key from the
// environment), answering with a chosen text (--answer); the GPU is the emulated worker, as in
// tune_test.cpp. The points the model proposes are evaluated first and marked as the LLM's in the
// report, the checkpoint and the store (their candidates link the exchange); points outside the
// space are dropped with the reason; a garbage answer, a failed request or a timeout leave the
// strategy to start alone, said in one line; and a resumed run never asks the model again.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "datasets/sqlite.hpp"
#include "harness/util/files.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/fake_llm_server.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/tiny_workspace.hpp"

namespace kforge {
namespace {

using nlohmann::json;
using testing::run_kforge;
using testing::tiled_candidate;

constexpr const char* kSecret = "sk-test-tune-llm-start-5678";
const char* kConstraints = "[\"BLOCK * ITEMS <= 4096\"]";

class TuneLlmStartTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    workspace_ = new testing::TemporaryDirectory();
    ProcessResult imported = testing::import_tiny_relu_workspace(workspace_->path());
    ASSERT_EQ(imported.exit_code, 0) << imported.standard_error;
    base_config_ = new std::string(files::read(workspace_->path() / "kforge.toml"));
  }
  static void TearDownTestSuite() {
    delete base_config_;
    delete workspace_;
  }

  // A fake server whose ok answers are `answer`, and a kforge.toml whose [llm] keys name it with
  // `model` (which chooses the server's behaviour) and `extra` keys.
  static std::unique_ptr<testing::FakeLlmServer> llm(const std::string& answer,
                                                     const std::string& model,
                                                     const std::string& extra = "") {
    const auto answer_file = workspace_->path() / ("answer-" + model + ".md");
    testing::write_text(answer_file, answer);
    auto server = std::make_unique<testing::FakeLlmServer>(
        std::vector<std::string>{"--key", kSecret, "--answer", answer_file.string()});
    testing::write_text(workspace_->path() / "kforge.toml",
                        *base_config_ + "[llm]\nbase_url = \"" + server->base_url() +
                            "\"\nmodel = \"" + model +
                            "\"\napi_key_env = \"KFORGE_TEST_KEY\"\nretries = 0\n" + extra);
    return server;
  }

  static std::string worker() {
    return "/usr/bin/python3 " +
           (testing::source_dir() / "tests/support/emulated_gpu_worker.py").string();
  }

  static ProcessResult tune(std::vector<std::string> arguments, bool with_key = true) {
    arguments.insert(arguments.begin(), "tune");
    std::map<std::string, std::string> environment = {{"KFORGE_GPU_WORKER", worker()}};
    if (with_key)
      environment["KFORGE_TEST_KEY"] = kSecret;
    return run_kforge(arguments, workspace_->path(), environment, 600);
  }

  // The run's report (--json), and its stderr in `errors`.
  static json tune_json(std::vector<std::string> arguments, std::string* errors = nullptr,
                        bool with_key = true) {
    arguments.push_back("--json");
    ProcessResult result = tune(arguments, with_key);
    EXPECT_EQ(result.exit_code, 0) << result.standard_error;
    if (errors)
      *errors = result.standard_error;
    return json::parse(result.standard_output);
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

  static std::vector<std::string> lines_with(const std::string& errors, const std::string& needle) {
    std::vector<std::string> found;
    size_t start = 0;
    while (start < errors.size()) {
      size_t end = errors.find('\n', start);
      if (end == std::string::npos)
        end = errors.size();
      std::string line = errors.substr(start, end - start);
      if (line.find(needle) != std::string::npos)
        found.push_back(line);
      start = end + 1;
    }
    return found;
  }

  static testing::TemporaryDirectory* workspace_;
  static std::string* base_config_;
};

testing::TemporaryDirectory* TuneLlmStartTest::workspace_ = nullptr;
std::string* TuneLlmStartTest::base_config_ = nullptr;

TEST_F(TuneLlmStartTest, TheModelsPointsAreEvaluatedFirstAndMarkedAsItsOwn) {
  testing::write_text(workspace_->path() / "first.cu", tiled_candidate(kConstraints, "first"));
  auto server =
      llm("Four elements per thread in blocks of 256 keep every SM busy; 64 x 2 is the runner-up.\n"
          "```json\n[{\"BLOCK\": 256, \"ITEMS\": 4}, {\"BLOCK\": 64, \"ITEMS\": 2}]\n```\n",
          "ok/first");
  std::string errors;
  json report = tune_json({"first.cu", "--task", "tiny/tiny_relu", "--strategy", "random", "--seed",
                           "5", "--max-evals", "4", "--llm-start", "3"},
                          &errors);
  ASSERT_EQ(report["status"], "completed") << report.dump();
  const json& start = report["llm_start"];
  ASSERT_TRUE(start.is_object()) << report.dump();
  EXPECT_EQ(start["asked"], 3);
  EXPECT_EQ(start["outcome"], "proposed");
  EXPECT_EQ(start["note"], "the model proposed 2 points, 2 in the space");
  EXPECT_TRUE(start["dropped"].empty()) << start.dump();
  ASSERT_TRUE(start["exchange_id"].is_number()) << start.dump();
  const int64_t exchange = start["exchange_id"];

  // The model's two points first, in its order, then the strategy's; all distinct.
  ASSERT_EQ(report["points"].size(), 4u) << report.dump();
  EXPECT_EQ(report["points"][0]["defines"], json::parse(R"({"BLOCK": 256, "ITEMS": 4})"));
  EXPECT_EQ(report["points"][1]["defines"], json::parse(R"({"BLOCK": 64, "ITEMS": 2})"));
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(report["points"][i]["origin"], i < 2 ? "llm" : "strategy") << i;
    EXPECT_EQ(report["points"][i]["verdict"], "correct") << report["points"][i].dump();
  }
  EXPECT_NE(report["points"][2]["defines"], report["points"][0]["defines"]);
  EXPECT_NE(report["points"][3]["defines"], report["points"][1]["defines"]);
  // 256 x 4 is the emulated optimum: found at once.
  EXPECT_EQ(report["best"]["defines"], report["points"][0]["defines"]);
  EXPECT_EQ(report["best"]["origin"], "llm");
  EXPECT_EQ(lines_with(errors,
                       "LLM start: the model proposed 2 points, 2 in the space, "
                       "evaluated first (exchange " +
                           std::to_string(exchange) + ")")
                .size(),
            1u)
      << errors;

  // One request, carrying the key, the kernel, its space and the task.
  json requests = server->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["headers"]["authorization"], std::string("Bearer ") + kSecret);
  const std::string body = requests[0]["body"].dump();
  for (const char* expected : {"tiny/tiny_relu", "tiled_relu", "BLOCK * ITEMS <= 4096",
                               "- ITEMS: 1, 2, 4, 8, 16 (default 1)", "up to 3 points"})
    EXPECT_NE(body.find(expected), std::string::npos) << expected;

  // The store: the exchange of the run, its model on the run; the model's points' candidates
  // link it, the strategy's do not; all of origin tune.
  const std::string run = std::to_string(report["run_id"].get<int64_t>());
  EXPECT_EQ(text("SELECT model FROM runs WHERE id = " + run), "ok/first");
  EXPECT_EQ(count("SELECT count(*) FROM llm_exchanges WHERE run_id = " + run), 1);
  EXPECT_EQ(text("SELECT status || ' ' || json_extract(request, '$.ask_id') FROM llm_exchanges "
                 "WHERE id = " +
                 std::to_string(exchange)),
            "ok tune-llm-start");
  EXPECT_NE(text("SELECT response FROM llm_exchanges WHERE id = " + std::to_string(exchange))
                .find("[{\"BLOCK\": 256, \"ITEMS\": 4}"),
            std::string::npos);
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE origin = 'tune' AND run_id = " + run), 4);
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE run_id = " + run +
                  " AND llm_exchange_id = " + std::to_string(exchange)),
            2);
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE run_id = " + run +
                  " AND llm_exchange_id = " + std::to_string(exchange) +
                  " AND ((json_extract(defines, '$.BLOCK') = 256 AND "
                  "json_extract(defines, '$.ITEMS') = 4) OR (json_extract(defines, '$.BLOCK') = "
                  "64 AND json_extract(defines, '$.ITEMS') = 2))"),
            2);
  // The checkpoint keeps the start and each point's origin.
  EXPECT_EQ(text("SELECT json_extract(state, '$.llm_start.outcome') || ' ' || "
                 "json_extract(state, '$.points[0].origin') || ' ' || "
                 "json_extract(state, '$.points[3].origin') FROM run_tasks WHERE run_id = " +
                 run),
            "proposed llm strategy");

  // The human report says where the points came from.
  ProcessResult human = tune({"--resume", run});
  ASSERT_EQ(human.exit_code, 0) << human.standard_error;
  EXPECT_NE(human.standard_output.find("LLM start: 3 points asked for: the model proposed 2 "
                                       "points, 2 in the space (exchange " +
                                       std::to_string(exchange) + ")"),
            std::string::npos)
      << human.standard_output;
  EXPECT_NE(human.standard_output.find("BLOCK=256 ITEMS=4 (LLM)"), std::string::npos)
      << human.standard_output;
}

TEST_F(TuneLlmStartTest, PointsOutsideTheSpaceAreDroppedEachWithItsReason) {
  testing::write_text(workspace_->path() / "dropped.cu", tiled_candidate(kConstraints, "dropped"));
  auto server =
      llm("```json\n[{\"BLOCK\": 384, \"ITEMS\": 1}, {\"BLOK\": 256, \"ITEMS\": 1},\n"
          " {\"BLOCK\": 1024, \"ITEMS\": 8}, {\"BLOCK\": 128}, \"fast\",\n"
          " {\"BLOCK\": 512, \"ITEMS\": 2}]\n```\n",
          "ok/dropped");
  // --time 0.001 ends this invocation after its first point: the model's one valid point.
  std::string errors;
  json report = tune_json({"dropped.cu", "--task", "tiny/tiny_relu", "--strategy", "random",
                           "--max-evals", "6", "--llm-start", "6", "--time", "0.001"},
                          &errors);
  const json& start = report["llm_start"];
  EXPECT_EQ(start["outcome"], "proposed") << start.dump();
  EXPECT_EQ(start["note"], "the model proposed 6 points, 1 in the space");
  ASSERT_EQ(start["defines"].size(), 1u) << start.dump();
  EXPECT_EQ(start["defines"][0], json::parse(R"({"BLOCK": 512, "ITEMS": 2})"));
  ASSERT_EQ(start["dropped"].size(), 5u) << start.dump();
  const std::vector<std::string> reasons = {
      "define BLOCK = 384 is not one of its values (32, 64, 128, 256, 512, 1024)",
      "unknown define 'BLOK'; did you mean 'BLOCK'? (allowed: BLOCK, ITEMS)",
      "breaks constraint 1 \"BLOCK * ITEMS <= 4096\"", "gives no value for define ITEMS",
      "not an object giving each define a value"};
  for (size_t i = 0; i < reasons.size(); ++i) {
    EXPECT_EQ(start["dropped"][i]["index"], i);
    EXPECT_EQ(start["dropped"][i]["reason"], reasons[i]);
    // One warning line each, naming the point and the reason.
    EXPECT_EQ(
        lines_with(errors, "LLM start: dropped point " + std::to_string(i + 1) + " " +
                               start["dropped"][i]["point"].get<std::string>() + ": " + reasons[i])
            .size(),
        1u)
        << errors;
  }
  ASSERT_EQ(report["points"].size(), 1u) << report.dump();
  EXPECT_EQ(report["points"][0]["defines"], json::parse(R"({"BLOCK": 512, "ITEMS": 2})"));
  EXPECT_EQ(report["points"][0]["origin"], "llm");
  EXPECT_EQ(report["status"], "completed");
  // Nothing outside the space was compiled: the only candidate is the valid point.
  const std::string run = std::to_string(report["run_id"].get<int64_t>());
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE run_id = " + run), 1);
  EXPECT_EQ(server->requests().size(), 1u);
}

TEST_F(TuneLlmStartTest, AGarbageAnswerAFailedRequestOrATimeoutLeaveTheStrategyAlone) {
  struct Case {
    std::string model, extra, outcome, note_start, exchange_status;
  };
  const std::vector<Case> cases = {
      {"ok/garbage", "", "no_points", "the answer holds no JSON list of points", "no_candidate"},
      {"500/failed", "", "failed", "the LLM request failed (server_error): ", "server_error"},
      {"slow/late", "timeout_s = 1\n", "failed", "the LLM request failed (timeout): ", "timeout"},
  };
  for (const Case& chosen : cases) {
    SCOPED_TRACE(chosen.model);
    const std::string file = "alone-" + chosen.outcome + chosen.exchange_status + ".cu";
    testing::write_text(workspace_->path() / file, tiled_candidate(kConstraints, file));
    auto server = llm("I cannot say without profiling it. Try [some block sizes] and see.",
                      chosen.model, chosen.extra);
    std::string errors;
    json report = tune_json({file, "--task", "tiny/tiny_relu", "--strategy", "random", "--seed",
                             "2", "--max-evals", "2", "--llm-start", "2"},
                            &errors);
    const json& start = report["llm_start"];
    EXPECT_EQ(start["outcome"], chosen.outcome) << start.dump();
    const std::string note = start["note"];
    EXPECT_EQ(note.rfind(chosen.note_start, 0), 0u) << note;
    EXPECT_TRUE(start["defines"].empty());
    // The strategy's two points, the run completed; one line said so.
    EXPECT_EQ(report["status"], "completed");
    ASSERT_EQ(report["points"].size(), 2u) << report.dump();
    for (const json& point : report["points"])
      EXPECT_EQ(point["origin"], "strategy");
    std::vector<std::string> said = lines_with(errors, "LLM start: ");
    ASSERT_EQ(said.size(), 1u) << errors;
    EXPECT_EQ(said[0], "LLM start: " + note + "; the strategy starts alone");
    // The exchange is kept, with what went wrong.
    const std::string run = std::to_string(report["run_id"].get<int64_t>());
    EXPECT_EQ(text("SELECT status FROM llm_exchanges WHERE run_id = " + run),
              chosen.exchange_status);
    EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE llm_exchange_id IS NOT NULL AND "
                    "run_id = " +
                    run),
              0);
  }
}

TEST_F(TuneLlmStartTest, AResumedRunNeverAsksTheModelAgain) {
  testing::write_text(workspace_->path() / "resumed.cu", tiled_candidate(kConstraints, "resumed"));
  auto server =
      llm("```json\n[{\"BLOCK\": 128, \"ITEMS\": 8}, {\"BLOCK\": 32, \"ITEMS\": 16}]\n```",
          "ok/resumed");
  // One point per invocation (--time 0.001, kept in the run's request).
  json first = tune_json({"resumed.cu", "--task", "tiny/tiny_relu", "--strategy", "random",
                          "--max-evals", "3", "--llm-start", "2", "--time", "0.001"});
  ASSERT_EQ(first["points"].size(), 1u) << first.dump();
  const std::string run = std::to_string(first["run_id"].get<int64_t>());
  EXPECT_EQ(server->requests().size(), 1u);

  // Resumed twice, without the key in the environment: the model's second point, then the
  // strategy's; the model is not asked again, nor is a provider made.
  json second = tune_json({"--resume", run}, nullptr, /*with_key=*/false);
  json third = tune_json({"--resume", run}, nullptr, /*with_key=*/false);
  EXPECT_EQ(server->requests().size(), 1u);
  EXPECT_EQ(count("SELECT count(*) FROM llm_exchanges WHERE run_id = " + run), 1);
  ASSERT_EQ(third["points"].size(), 3u) << third.dump();
  EXPECT_EQ(third["status"], "completed");
  EXPECT_EQ(third["points"][0]["defines"], json::parse(R"({"BLOCK": 128, "ITEMS": 8})"));
  EXPECT_EQ(third["points"][1]["defines"], json::parse(R"({"BLOCK": 32, "ITEMS": 16})"));
  EXPECT_EQ(third["points"][0]["origin"], "llm");
  EXPECT_EQ(third["points"][1]["origin"], "llm");
  EXPECT_EQ(third["points"][2]["origin"], "strategy");
  EXPECT_EQ(third["llm_start"], first["llm_start"]);
  EXPECT_EQ(second["llm_start"], first["llm_start"]);
  // Each point evaluated once; the model's two link the one exchange.
  EXPECT_EQ(count("SELECT count(*) FROM evaluations WHERE run_id = " + run), 3);
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE run_id = " + run +
                  " AND llm_exchange_id = " + first["llm_start"]["exchange_id"].dump()),
            2);
}

// Bad input is one line before anything is stored: a start without a model configured, or with
// the key's variable unset.
TEST_F(TuneLlmStartTest, AStartWithoutAUsableProviderIsOneLineAndStoresNothing) {
  testing::write_text(workspace_->path() / "refused.cu", tiled_candidate(kConstraints, "refused"));
  auto server = llm("[]", "ok/refused");
  const int64_t runs = count("SELECT count(*) FROM runs");
  ProcessResult no_key =
      tune({"refused.cu", "--task", "tiny/tiny_relu", "--llm-start", "2"}, /*with_key=*/false);
  EXPECT_NE(no_key.exit_code, 0);
  EXPECT_NE(no_key.standard_error.find("kforge: error: the environment variable KFORGE_TEST_KEY "
                                       "that should hold the API key is not set "
                                       "(llm.api_key_env)\n"),
            std::string::npos)
      << no_key.standard_error;
  testing::write_text(workspace_->path() / "kforge.toml", *base_config_);
  ProcessResult no_model = tune({"refused.cu", "--task", "tiny/tiny_relu", "--llm-start", "2"});
  EXPECT_NE(no_model.exit_code, 0);
  EXPECT_NE(no_model.standard_error.find("kforge: error: "), std::string::npos)
      << no_model.standard_error;
  EXPECT_EQ(std::count(no_model.standard_error.begin(), no_model.standard_error.end(), '\n'), 1)
      << no_model.standard_error;
  EXPECT_EQ(count("SELECT count(*) FROM runs"), runs);
  EXPECT_EQ(server->requests().size(), 0u);
}

// The LLM flags override kforge.toml's [llm] keys for the start's one request, as optimize's do,
// and --prompts replaces the start's templates file by file.
TEST_F(TuneLlmStartTest, FlagsOverrideTheLlmKeysAndPromptsReplaceTheTemplates) {
  testing::write_text(workspace_->path() / "flags.cu", tiled_candidate(kConstraints, "flags"));
  auto server = llm("```json\n[{\"BLOCK\": 128, \"ITEMS\": 2}]\n```\n", "ok/flags");
  // kforge.toml names another endpoint and model: the flags win.
  testing::write_text(workspace_->path() / "kforge.toml",
                      *base_config_ +
                          "[llm]\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"ok/toml\"\n"
                          "api_key_env = \"KFORGE_UNSET_KEY\"\nretries = 0\n");
  const auto prompts = workspace_->path() / "tune-prompts";
  testing::write_text(prompts / "tune_start.md",
                      files::read(testing::source_dir() / "agents/prompts/tune_start.md") +
                          "\nThe points must suit a tiled ReLU (override marker 7731).\n");
  json report =
      tune_json({"flags.cu", "--task", "tiny/tiny_relu", "--max-evals", "2", "--llm-start", "2",
                 "--base-url", server->base_url(), "--model", "ok/flags", "--api-key-env",
                 "KFORGE_TEST_KEY", "--prompts", prompts.string()});
  ASSERT_EQ(report["status"], "completed") << report.dump();
  EXPECT_EQ(report["llm_start"]["outcome"], "proposed") << report.dump();
  json requests = server->requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string body = requests[0]["body"].dump();
  EXPECT_NE(body.find("override marker 7731"), std::string::npos) << body;
  EXPECT_NE(body.find("tiny/tiny_relu"), std::string::npos) << body;  // the template's own text
  EXPECT_EQ(requests[0]["body"]["model"], "ok/flags");
  EXPECT_EQ(text("SELECT model FROM runs WHERE id = " + report["run_id"].dump()), "ok/flags");

  // A folder that does not exist is one line, before anything is stored.
  const int64_t runs = count("SELECT count(*) FROM runs");
  ProcessResult missing = tune({"flags.cu", "--task", "tiny/tiny_relu", "--llm-start", "2",
                                "--base-url", server->base_url(), "--model", "ok/flags",
                                "--api-key-env", "KFORGE_TEST_KEY", "--prompts", "no-such-folder"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.standard_error,
            "kforge: error: the prompt template folder does not exist (no-such-folder)\n");
  EXPECT_EQ(count("SELECT count(*) FROM runs"), runs);
  EXPECT_EQ(server->requests().size(), 1u);
}

// Where no model is asked (no --llm-start, a resumed run, --replay), the LLM flags and --prompts
// are refused, one line, rather than ignored.
TEST_F(TuneLlmStartTest, LlmFlagsWithoutAnLlmStartAreRefused) {
  testing::write_text(workspace_->path() / "plain.cu", tiled_candidate(kConstraints, "plain"));
  const int64_t runs = count("SELECT count(*) FROM runs");
  struct Case {
    std::vector<std::string> arguments;
    std::string flag;
  };
  const std::vector<Case> cases = {
      {{"plain.cu", "--task", "tiny/tiny_relu", "--model", "ok/x"}, "--model"},
      {{"plain.cu", "--task", "tiny/tiny_relu", "--prompts", "."}, "--prompts"},
      {{"--resume", "1", "--base-url", "http://127.0.0.1:9/v1"}, "--base-url"},
      {{"--replay", "space.json", "--temperature", "0.5"}, "--temperature"},
  };
  for (const Case& refused : cases) {
    ProcessResult result = tune(refused.arguments);
    EXPECT_EQ(result.exit_code, 2) << result.standard_error;
    EXPECT_EQ(result.standard_error,
              "kforge: usage error: " + refused.flag +
                  ": only an LLM start asks a model, once, when a run starts: give " +
                  refused.flag + " with --llm-start N (see kforge --help)\n");
  }
  EXPECT_EQ(count("SELECT count(*) FROM runs"), runs);
}

TEST_F(TuneLlmStartTest, HelpNamesTheOption) {
  ProcessResult result = run_kforge({"tune", "--help"}, workspace_->path());
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.standard_output.find("--llm-start"), std::string::npos);
  EXPECT_NE(result.standard_output.find("[llm]"), std::string::npos);
  for (const char* flag : {"--prompts", "--model", "--base-url", "--provider", "--api-key-env"})
    EXPECT_NE(result.standard_output.find(flag), std::string::npos) << flag;
}

}  // namespace
}  // namespace kforge

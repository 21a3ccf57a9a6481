// `kforge mcp` driven over its pipes: JSON-RPC lines in on stdin, answers read from stdout, the
// real binary on a real store, the GPU emulated by tests/support/emulated_gpu_worker.py (it
// speaks the real worker protocol and runs a candidate by its kernel's name). A good session,
// malformed and wrong messages that must each get the protocol's error while the server goes
// on, and a cancelled call. tests/system/mcp_sdk/ drives the same server with the official MCP
// Python SDK.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "harness/util/files.hpp"
#include "harness/util/strings.hpp"
#include "harness/util/subprocess.hpp"
#include "tests/support/emulated_gpu_environment.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/test_cache.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

using nlohmann::json;
using testing::emulated_candidate;
using testing::kTinyReluTask;

class McpServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    workspace_ = new testing::TemporaryDirectory();
    std::filesystem::create_directories(workspace_->path() / "problems");
    testing::write_text(workspace_->path() / "problems/tiny_relu.py", kTinyReluTask);
    testing::write_text(workspace_->path() / "kforge.toml",
                        "python = \"/usr/bin/python3\"\n"
                        "[verify]\nseeds = 2\n"
                        "[timing]\ninput_sets = 2\nwarmup = 1\nmin_samples = 4\n"
                        "max_samples = 4\n[gpu]\nrun_limit_s = 20\n");
    ProcessResult imported =
        testing::run_kforge({"tasks", "import", "problems", "--suite", "tiny"}, workspace_->path());
    ASSERT_EQ(imported.exit_code, 0) << imported.standard_error;
  }
  static void TearDownTestSuite() { delete workspace_; }

  struct Session {
    ProcessResult process;
    std::vector<json> messages;  // every stdout line, parsed

    const json* answer(int id) const {
      for (const json& message : messages) {
        if (message.contains("id") && message["id"] == id)
          return &message;
      }
      return nullptr;
    }
    size_t position(int id) const {
      for (size_t i = 0; i < messages.size(); ++i) {
        if (messages[i].contains("id") && messages[i]["id"] == id)
          return i;
      }
      return messages.size();
    }
  };

  // Runs `kforge mcp` with `lines` on its stdin (then end of input) and parses what it wrote.
  static Session session(const std::vector<std::string>& lines) {
    ProcessSpec spec;
    spec.program = testing::kforge_binary();
    spec.arguments = {"mcp"};
    spec.environment_overrides = testing::emulated_gpu_environment();
    spec.working_directory = workspace_->path();
    spec.time_limit = std::chrono::minutes(5);
    for (const std::string& line : lines)
      spec.standard_input += line + "\n";
    Session result{.process = run_process(spec)};
    std::istringstream output(result.process.standard_output);
    std::string line;
    while (std::getline(output, line)) {
      json message = json::parse(line, nullptr, false);
      EXPECT_FALSE(message.is_discarded()) << "stdout carries only JSON-RPC lines: " << line;
      if (!message.is_discarded())
        result.messages.push_back(message);
    }
    return result;
  }

  static std::string initialize(const std::string& version = "2025-06-18") {
    return json{{"jsonrpc", "2.0"},
                {"id", 0},
                {"method", "initialize"},
                {"params",
                 {{"protocolVersion", version},
                  {"capabilities", json::object()},
                  {"clientInfo", {{"name", "system-test"}, {"version", "1.0"}}}}}}
        .dump();
  }
  static std::string call(int id, const std::string& tool, const json& arguments,
                          const json& meta = nullptr) {
    json params = {{"name", tool}, {"arguments", arguments}};
    if (!meta.is_null())
      params["_meta"] = meta;
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", params}}
        .dump();
  }
  static std::string request(int id, const std::string& method, const json& params = {}) {
    json message = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
    if (!params.is_null())
      message["params"] = params;
    return message.dump();
  }

  static testing::TemporaryDirectory* workspace_;
};

testing::TemporaryDirectory* McpServer::workspace_ = nullptr;

TEST_F(McpServer, EvaluatesListsAndReadsInOneSessionAndStoresWhatItJudged) {
  Session result = session({
      initialize(),
      R"({"jsonrpc": "2.0", "method": "notifications/initialized"})",
      request(1, "tools/list"),
      call(2, "evaluate", {{"task", "tiny/tiny_relu"}, {"source", emulated_candidate("relu")}},
           {{"progressToken", "relu-progress"}}),
      request(3, "ping"),
      call(4, "evaluate",
           {{"task", "tiny/tiny_relu"}, {"source", emulated_candidate("unwritten")}}),
      call(5, "list_tasks", {{"suite", "tiny"}}),
      request(6, "resources/list"),
      request(7, "resources/read", {{"uri", "kforge://docs/candidate-format"}}),
      request(8, "resources/read", {{"uri", "kforge://tasks/tiny/tiny_relu"}}),
  });
  ASSERT_EQ(result.process.exit_code, 0) << result.process.standard_error;

  const json* initialized = result.answer(0);
  ASSERT_TRUE(initialized) << result.process.standard_output;
  EXPECT_EQ((*initialized)["result"]["protocolVersion"], "2025-06-18");
  EXPECT_TRUE((*initialized)["result"]["capabilities"].contains("tools"));
  EXPECT_EQ((*initialized)["result"]["serverInfo"]["name"], "kforge");

  const json* tools = result.answer(1);
  ASSERT_TRUE(tools);
  std::set<std::string> names;
  for (const json& tool : (*tools)["result"]["tools"]) {
    names.insert(tool["name"].get<std::string>());
    EXPECT_EQ(tool["inputSchema"]["type"], "object") << tool.dump();
  }
  for (const char* name : {"list_tasks", "show_task", "import_task", "evaluate", "compare",
                           "best_candidates", "candidate_history", "promote", "profile", "tune"})
    EXPECT_TRUE(names.count(name)) << name;

  const json* good = result.answer(2);
  ASSERT_TRUE(good) << result.process.standard_output;
  EXPECT_EQ((*good)["result"]["isError"], false);
  const json& judged = (*good)["result"]["structuredContent"];
  EXPECT_EQ(judged["verdict"], "correct") << judged.dump();
  // No speedup: the emulated GPU's torch has no CUDA to time baselines on (the record says so).
  EXPECT_TRUE(judged.contains("speedup_eager")) << judged.dump();
  EXPECT_TRUE(judged["median_us"].is_number()) << judged.dump();
  const int64_t good_id = judged["candidate_id"].get<int64_t>();
  EXPECT_GT(good_id, 0);
  // The ping sent after the evaluation was answered before it: the server kept reading.
  EXPECT_LT(result.position(3), result.position(2));
  // Progress for the call that asked for it, growing, before its answer.
  std::vector<double> progress;
  for (size_t i = 0; i < result.position(2); ++i) {
    const json& message = result.messages[i];
    if (message.value("method", "") == "notifications/progress" &&
        message["params"]["progressToken"] == "relu-progress")
      progress.push_back(message["params"]["progress"].get<double>());
  }
  ASSERT_GE(progress.size(), 2u) << result.process.standard_output;
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));

  const json* hostile = result.answer(4);
  ASSERT_TRUE(hostile);
  EXPECT_EQ((*hostile)["result"]["isError"], false);
  EXPECT_EQ((*hostile)["result"]["structuredContent"]["verdict"], "incorrect");
  EXPECT_EQ((*hostile)["result"]["structuredContent"]["reason"], "unwritten_output");

  const json* tasks = result.answer(5);
  ASSERT_TRUE(tasks);
  EXPECT_EQ((*tasks)["result"]["structuredContent"]["tasks"][0]["name"], "tiny/tiny_relu");

  const json* resources = result.answer(6);
  ASSERT_TRUE(resources);
  EXPECT_NE((*resources)["result"].dump().find("kforge://tasks/tiny/tiny_relu"), std::string::npos);
  const json* format = result.answer(7);
  ASSERT_TRUE(format);
  EXPECT_NE((*format)["result"]["contents"][0]["text"].get<std::string>().find("kforge:launch"),
            std::string::npos);
  const json* task_source = result.answer(8);
  ASSERT_TRUE(task_source);
  EXPECT_EQ((*task_source)["result"]["contents"][0]["text"], kTinyReluTask);

  // The CLI sees what the agent did: origin mcp, the run's agent names the client.
  ProcessResult shown =
      testing::run_kforge({"show", std::to_string(good_id), "--json"}, workspace_->path());
  ASSERT_EQ(shown.exit_code, 0) << shown.standard_error;
  EXPECT_EQ(json::parse(shown.standard_output)["origin"], "mcp");
  ProcessResult runs = testing::run_kforge({"runs", "--json"}, workspace_->path());
  ASSERT_EQ(runs.exit_code, 0) << runs.standard_error;
  EXPECT_NE(runs.standard_output.find("\"mcp:system-test\""), std::string::npos)
      << runs.standard_output;
  // And the exports: the archive format, filtered to what MCP clients sent.
  const std::filesystem::path exported = workspace_->path() / "mcp-export";
  ProcessResult exporting = testing::run_kforge(
      {"dataset", "export", "--format", "archive", "--origin", "mcp", "--out", exported.string()},
      workspace_->path());
  ASSERT_EQ(exporting.exit_code, 0) << exporting.standard_error;
  std::string rows;
  for (const auto& entry : std::filesystem::directory_iterator(exported)) {
    if (entry.path().extension() == ".jsonl")
      rows += files::read(entry.path());
  }
  EXPECT_NE(rows.find("\"origin\":\"mcp\""), std::string::npos) << rows.substr(0, 2000);
  EXPECT_NE(rows.find("mcp:system-test"), std::string::npos) << rows.substr(0, 2000);
}

TEST_F(McpServer, EveryBadMessageGetsTheProtocolsErrorAndTheServerGoesOn) {
  Session result = session({
      "this is not JSON",
      R"([{"jsonrpc": "2.0", "id": 1, "method": "ping"}])",
      request(2, "tools/list"),  // before initialize
      initialize(),
      R"({"jsonrpc": "2.0", "id": {"an": "object"}, "method": "ping"})",
      R"({"jsonrpc": "1.0", "id": 3, "method": "ping"})",
      request(4, "no/such/method"),
      call(5, "no_such_tool", json::object()),
      call(6, "evaluate", {{"task", 5}}),
      call(7, "evaluate", {{"task", "tiny/tiny_relu"}, {"source", "not CUDA at all"}}),
      call(8, "evaluate", {{"task", "no/such_task"}, {"source", emulated_candidate("relu")}}),
      call(9, "profile", {{"candidate_id", 999999}}),
      request(10, "resources/read", {{"uri", "kforge://tasks/no/such"}}),
      request(11, "ping"),
      call(12, "import_task", {{"name", "broken"}, {"source", "this is not Python ("}}),
      call(13, "import_task", {{"name", "../escape"}, {"source", kTinyReluTask}}),
  });
  ASSERT_EQ(result.process.exit_code, 0) << result.process.standard_error;
  auto error_code = [&](const json& message) {
    return message.contains("error") ? message["error"]["code"].get<int>() : 0;
  };
  ASSERT_GE(result.messages.size(), 3u) << result.process.standard_output;
  EXPECT_EQ(error_code(result.messages[0]), -32700);
  EXPECT_TRUE(result.messages[0]["id"].is_null());
  EXPECT_EQ(error_code(result.messages[1]), -32600);  // a batch
  ASSERT_TRUE(result.answer(2));
  EXPECT_EQ(error_code(*result.answer(2)), -32600);  // not initialized
  ASSERT_TRUE(result.answer(3));
  EXPECT_EQ(error_code(*result.answer(3)), -32600);  // jsonrpc 1.0
  ASSERT_TRUE(result.answer(4));
  EXPECT_EQ(error_code(*result.answer(4)), -32601);
  ASSERT_TRUE(result.answer(5));
  EXPECT_EQ(error_code(*result.answer(5)), -32602);
  EXPECT_NE((*result.answer(5))["error"]["message"].get<std::string>().find("no_such_tool"),
            std::string::npos);
  // Arguments against the schema, at 2025-06-18: invalid params, naming the argument.
  ASSERT_TRUE(result.answer(6));
  EXPECT_EQ(error_code(*result.answer(6)), -32602);
  EXPECT_NE((*result.answer(6))["error"]["message"].get<std::string>().find("arguments.task"),
            std::string::npos);
  // A candidate that never compiles is a verdict, not an error.
  ASSERT_TRUE(result.answer(7));
  EXPECT_EQ((*result.answer(7))["result"]["isError"], false);
  EXPECT_EQ((*result.answer(7))["result"]["structuredContent"]["verdict"], "plan_error");
  // kforge's own errors are tool errors with the one-line message.
  ASSERT_TRUE(result.answer(8));
  EXPECT_EQ((*result.answer(8))["result"]["isError"], true);
  EXPECT_NE(
      (*result.answer(8))["result"]["content"][0]["text"].get<std::string>().find("kforge: error:"),
      std::string::npos);
  ASSERT_TRUE(result.answer(9));
  EXPECT_EQ((*result.answer(9))["result"]["isError"], true);
  EXPECT_NE((*result.answer(9))["result"]["content"][0]["text"].get<std::string>().find(
                "no candidate 999999 in the store"),
            std::string::npos)
      << result.answer(9)->dump();
  ASSERT_TRUE(result.answer(10));
  EXPECT_EQ(error_code(*result.answer(10)), -32002);
  ASSERT_TRUE(result.answer(11));
  EXPECT_EQ((*result.answer(11))["result"], json::object());
  // A program the reference runner cannot load, and a name that is not one: tool errors.
  ASSERT_TRUE(result.answer(12));
  EXPECT_EQ((*result.answer(12))["result"]["isError"], true);
  EXPECT_NE((*result.answer(12))["result"]["content"][0]["text"].get<std::string>().find(
                "import of mcp/broken failed"),
            std::string::npos)
      << result.answer(12)->dump();
  ASSERT_TRUE(result.answer(13));
  EXPECT_EQ((*result.answer(13))["result"]["isError"], true);
  EXPECT_FALSE(std::filesystem::exists(workspace_->path() / ".kforge/mcp/escape"));
}

TEST_F(McpServer, FromRevision20251125BadArgumentsAreAToolErrorTheModelReads) {
  Session result = session({initialize("2025-11-25"), call(1, "compare", {{"a", 1}}),
                            request(2, "initialize", {{"protocolVersion", "2025-11-25"}})});
  ASSERT_EQ(result.process.exit_code, 0) << result.process.standard_error;
  ASSERT_TRUE(result.answer(0));
  EXPECT_EQ((*result.answer(0))["result"]["protocolVersion"], "2025-11-25");
  ASSERT_TRUE(result.answer(1));
  EXPECT_EQ((*result.answer(1))["result"]["isError"], true);
  EXPECT_NE((*result.answer(1))["result"]["content"][0]["text"].get<std::string>().find(
                "arguments.b is required"),
            std::string::npos);
  ASSERT_TRUE(result.answer(2));
  EXPECT_EQ((*result.answer(2))["error"]["code"], -32600);  // initialized once only
}

TEST_F(McpServer, AVersionItDoesNotSpeakGetsItsNewestInstead) {
  Session result = session({initialize("1999-01-01")});
  ASSERT_TRUE(result.answer(0)) << result.process.standard_output;
  EXPECT_EQ((*result.answer(0))["result"]["protocolVersion"], "2025-11-25");
}

// The `hang` kernel never answers: without the cancellation the call would end, after the
// watchdog, in a stored `timeout` verdict and an answer. Cancelled, it gets no answer, nothing
// is stored for it, and the requests after it are served.
TEST_F(McpServer, ACancelledCallIsNotAnsweredAndTheServerGoesOn) {
  Session result = session({
      initialize(),
      call(1, "evaluate", {{"task", "tiny/tiny_relu"}, {"source", emulated_candidate("hang")}},
           {{"progressToken", 1}}),
      R"({"jsonrpc": "2.0", "method": "notifications/cancelled", )"
      R"("params": {"requestId": 1, "reason": "the user changed their mind"}})",
      request(2, "ping"),
      call(3, "best_candidates", {{"task", "tiny/tiny_relu"}}),
  });
  ASSERT_EQ(result.process.exit_code, 0) << result.process.standard_error;
  EXPECT_FALSE(result.answer(1)) << result.process.standard_output;
  ASSERT_TRUE(result.answer(2));
  ASSERT_TRUE(result.answer(3));
  EXPECT_EQ((*result.answer(3))["result"]["isError"], false);
  EXPECT_NE(result.process.standard_error.find("cancelled"), std::string::npos)
      << result.process.standard_error;
  ProcessResult runs = testing::run_kforge({"runs", "--json"}, workspace_->path());
  ASSERT_EQ(runs.exit_code, 0);
  const json listed = json::parse(runs.standard_output);
  for (const json& run : listed["runs"])
    EXPECT_EQ(run["summary"].dump().find("timeout"), std::string::npos) << run.dump();
}

// The official MCP Python SDK's client (PyPI `mcp`, in a virtual environment made by
// tests/system/mcp_sdk/make_venv.sh and kept in the test cache folder) drives the server through
// tests/system/mcp_sdk/drive_kforge.py: the tools and their schemas (the SDK checks every
// structured result against its tool's output schema), a resource, a task imported from source
// text, an honest and a hostile candidate, a long call cancelled while it runs. Skips only when
// PyPI cannot be reached (and no venv is kept from an earlier run).
TEST_F(McpServer, TheOfficialPythonSdkClientUsesEveryPart) {
  const std::filesystem::path scripts = testing::source_dir() / "tests/system/mcp_sdk";
  ProcessResult venv =
      run_process({.program = scripts / "make_venv.sh",
                   .arguments = {(testing::test_cache_folder() / "mcp-sdk").string()},
                   .time_limit = std::chrono::minutes(20)});
  if (venv.exit_code == 77)
    GTEST_SKIP() << "PyPI cannot be reached to install the MCP SDK: " << venv.standard_error;
  ASSERT_TRUE(venv.succeeded()) << venv.describe_end() << "\n" << venv.standard_error;
  std::string output(strings::trim(venv.standard_output));
  const std::filesystem::path python =
      output.substr(output.rfind('\n') == std::string::npos ? 0 : output.rfind('\n') + 1);

  const std::filesystem::path folder = workspace_->path() / "sdk";
  std::filesystem::create_directories(folder);
  for (const char* name : {"relu", "unwritten", "hang"})
    testing::write_text(folder / (std::string(name) + ".cu"), emulated_candidate(name));
  testing::write_text(folder / "task.py", kTinyReluTask);
  ProcessResult driven =
      run_process({.program = python,
                   .arguments = {(scripts / "drive_kforge.py").string(),
                                 testing::kforge_binary().string(), workspace_->path().string(),
                                 (folder / "relu.cu").string(), (folder / "unwritten.cu").string(),
                                 (folder / "hang.cu").string(), (folder / "task.py").string()},
                   .environment_overrides = testing::emulated_gpu_environment(),
                   .time_limit = std::chrono::minutes(8)});
  ASSERT_TRUE(driven.succeeded()) << driven.describe_end() << "\n"
                                  << driven.standard_output << driven.standard_error;
  std::string last(strings::trim(driven.standard_output));
  json seen =
      json::parse(last.substr(last.rfind('\n') == std::string::npos ? 0 : last.rfind('\n') + 1));
  EXPECT_EQ(seen["imported"]["status"], "imported") << seen.dump();
  EXPECT_EQ(seen["evaluations"]["honest"]["verdict"], "correct") << seen.dump();
  EXPECT_EQ(seen["evaluations"]["hostile"]["verdict"], "incorrect") << seen.dump();
  EXPECT_EQ(seen["evaluations"]["hostile"]["reason"], "unwritten_output") << seen.dump();
  EXPECT_FALSE(seen["evaluations"]["honest"]["progress"].empty()) << seen.dump();
  EXPECT_EQ(seen["cancelled"], true);
  EXPECT_EQ(seen["best"], json::array({seen["evaluations"]["honest"]["candidate_id"]}))
      << seen.dump();
  // The cancelled evaluation either stopped after its compile (run interrupted, nothing stored)
  // or, where the cancellation came once the GPU stage had begun, ran to the watchdog and was
  // stored unanswered; the SDK's three evaluations are three runs either way.
  ProcessResult runs = testing::run_kforge({"runs", "--json"}, workspace_->path());
  ASSERT_EQ(runs.exit_code, 0) << runs.standard_error;
  int from_sdk = 0, interrupted = 0;
  const json listed = json::parse(runs.standard_output);
  for (const json& run : listed["runs"]) {
    if (run["agent"] != "mcp:mcp-python-sdk-test")
      continue;
    ++from_sdk;
    interrupted += run["status"] == "interrupted" ? 1 : 0;
  }
  EXPECT_EQ(from_sdk, 3) << runs.standard_output;
  std::cerr << "the SDK's cancellation "
            << (interrupted == 1 ? "stopped the call before the GPU" : "came during the GPU stage")
            << "\n";
}

// The profile tool returns what the evaluation's profile stage stored, diagnosed; evaluate
// carries the findings. Counters unavailable: the profile says why; not profiled: a tool error.
// `tune` searches a stored candidate's define space through the same judge as `evaluate`, with a
// progress notification per point; an unknown candidate is a tool error and the server goes on;
// `start` points are evaluated first.
TEST_F(McpServer, TuneSearchesAStoredCandidatesDefinesThroughTheJudge) {
  Session evaluated =
      session({initialize(), R"({"jsonrpc": "2.0", "method": "notifications/initialized"})",
               call(1, "evaluate",
                    {{"task", "tiny/tiny_relu"},
                     {"source", testing::tiled_candidate("[\"BLOCK * ITEMS <= 4096\"]", "mcp")}})});
  const json* judged = evaluated.answer(1);
  ASSERT_TRUE(judged) << evaluated.process.standard_output;
  ASSERT_EQ((*judged)["result"]["isError"], false) << judged->dump();
  const int64_t candidate = (*judged)["result"]["structuredContent"]["candidate_id"];

  Session tuned =
      session({initialize(), R"({"jsonrpc": "2.0", "method": "notifications/initialized"})",
               call(1, "tune", {{"candidate_id", candidate}, {"max_evals", 3}},
                    {{"progressToken", "tune-progress"}}),
               call(2, "tune", {{"candidate_id", 999999}}), request(3, "ping"),
               call(4, "tune",
                    {{"candidate_id", candidate},
                     {"max_evals", 2},
                     {"start", json::array({{{"BLOCK", 512}, {"ITEMS", 2}}})}}),
               call(5, "tune",
                    {{"candidate_id", candidate},
                     {"start", json::array({{{"BLOCK", 1024}, {"ITEMS", 8}}})}})});
  ASSERT_EQ(tuned.process.exit_code, 0) << tuned.process.standard_error;
  const json* answer = tuned.answer(1);
  ASSERT_TRUE(answer) << tuned.process.standard_output;
  ASSERT_EQ((*answer)["result"]["isError"], false) << answer->dump();
  const json& report = (*answer)["result"]["structuredContent"];
  EXPECT_EQ(report["points"].size(), 3u) << report.dump();
  EXPECT_TRUE(report["run_id"].is_number()) << report.dump();
  size_t progress = 0;
  for (const json& message : tuned.messages)
    if (message.value("method", "") == "notifications/progress" &&
        message["params"]["progressToken"] == "tune-progress")
      ++progress;
  EXPECT_EQ(progress, 3u) << tuned.process.standard_output;

  const json* unknown = tuned.answer(2);
  ASSERT_TRUE(unknown) << tuned.process.standard_output;
  EXPECT_EQ((*unknown)["result"]["isError"], true) << unknown->dump();
  EXPECT_NE((*unknown)["result"]["content"][0]["text"].get<std::string>().find("999999"),
            std::string::npos)
      << unknown->dump();
  EXPECT_TRUE(tuned.answer(3));  // the server went on

  // The caller's start points are evaluated first, marked as given; one outside the space is a
  // tool error naming it, and no run is started for it.
  const json* started = tuned.answer(4);
  ASSERT_TRUE(started) << tuned.process.standard_output;
  ASSERT_EQ((*started)["result"]["isError"], false) << started->dump();
  const json& points = (*started)["result"]["structuredContent"]["points"];
  ASSERT_EQ(points.size(), 2u) << started->dump();
  EXPECT_EQ(points[0]["defines"], json({{"BLOCK", 512}, {"ITEMS", 2}}));
  EXPECT_EQ(points[0]["origin"], "given");
  EXPECT_EQ(points[1]["origin"], "strategy");
  const json* outside = tuned.answer(5);
  ASSERT_TRUE(outside) << tuned.process.standard_output;
  EXPECT_EQ((*outside)["result"]["isError"], true) << outside->dump();
  EXPECT_NE((*outside)["result"]["content"][0]["text"].get<std::string>().find("start point 1"),
            std::string::npos)
      << outside->dump();
}

TEST_F(McpServer, ProfileReturnsTheStoredCountersRooflineAndFindings) {
  Session evaluated = session({
      initialize(),
      R"({"jsonrpc": "2.0", "method": "notifications/initialized"})",
      call(1, "evaluate", {{"task", "tiny/tiny_relu"}, {"source", emulated_candidate("relu")}}),
      call(2, "evaluate",
           {{"task", "tiny/tiny_relu"}, {"source", emulated_candidate("relu_counters_denied")}}),
      call(3, "evaluate",
           {{"task", "tiny/tiny_relu"}, {"source", emulated_candidate("unwritten")}}),
  });
  ASSERT_EQ(evaluated.process.exit_code, 0) << evaluated.process.standard_error;
  int64_t ids[3];
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(evaluated.answer(i + 1)) << evaluated.process.standard_output;
    ids[i] = (*evaluated.answer(i + 1))["result"]["structuredContent"]["candidate_id"];
  }
  const json& judged = (*evaluated.answer(1))["result"]["structuredContent"];
  ASSERT_FALSE(judged["profile_findings"].empty()) << judged.dump();
  EXPECT_EQ(judged["profile_findings"][0]["kernel"], "relu");
  EXPECT_TRUE(judged["profile_findings"][0].contains("advice"));
  EXPECT_TRUE((*evaluated.answer(2))["result"]["structuredContent"]["profile_findings"].empty());

  Session profiled =
      session({initialize(), R"({"jsonrpc": "2.0", "method": "notifications/initialized"})",
               call(1, "profile", {{"candidate_id", ids[0]}}),
               call(2, "profile", {{"candidate_id", ids[1]}}),
               call(3, "profile", {{"candidate_id", ids[2]}})});
  ASSERT_EQ(profiled.process.exit_code, 0) << profiled.process.standard_error;
  ASSERT_TRUE(profiled.answer(1)) << profiled.process.standard_output;
  const json& relu = (*profiled.answer(1))["result"];
  EXPECT_EQ(relu["isError"], false) << relu.dump();
  EXPECT_EQ(relu["structuredContent"]["status"], "collected");
  const json& report = relu["structuredContent"]["profile"];
  EXPECT_EQ(report["chip"], "GH100");
  EXPECT_EQ(report["kernels"][0]["kernel"], "relu");
  EXPECT_TRUE(report["kernels"][0]["metrics"].contains("dram__bytes_read.sum"));
  EXPECT_EQ(report["diagnoses"][0]["roofline"]["bytes_basis"], "task");
  EXPECT_FALSE(report["diagnoses"][0]["findings"].empty());
  EXPECT_NE(relu["content"][0]["text"].get<std::string>().find("roofline: "), std::string::npos);

  ASSERT_TRUE(profiled.answer(2));
  const json& denied = (*profiled.answer(2))["result"];
  EXPECT_EQ(denied["isError"], false) << denied.dump();
  EXPECT_EQ(denied["structuredContent"]["status"], "unavailable");
  EXPECT_EQ(denied["structuredContent"]["profile"]["reason"], "insufficient_privileges");
  EXPECT_TRUE(denied["structuredContent"]["profile"]["diagnoses"].empty());

  ASSERT_TRUE(profiled.answer(3));
  const json& unprofiled = (*profiled.answer(3))["result"];
  EXPECT_EQ(unprofiled["isError"], true);
  EXPECT_NE(unprofiled["content"][0]["text"].get<std::string>().find("was not profiled"),
            std::string::npos)
      << unprofiled.dump();
}

}  // namespace
}  // namespace kforge

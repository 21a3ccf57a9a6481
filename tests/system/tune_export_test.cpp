// `kforge tune export RUN` through the real binary: a tuning run made by `kforge tune` through
// the real evaluator (real NVRTC compiles and binds, tests/support/emulated_gpu_worker.py as the
// GPU), exported in the T4 results schema and in Kernel Tuner's cache format, each checked
// against its format's rules (the T4 schema with python3's jsonschema where it is installed),
// every failed point written as the format expresses failure, and both read back by
// `kforge tune --replay` as the space the run evaluated. Bad requests are one line.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "datasets/sqlite.hpp"
#include "harness/util/files.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/test_support.hpp"
#include "tests/support/tiny_workspace.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;

// BLOCK x ITEMS = 12 points, 11 within the constraint. Each kind of failure has its points:
// ITEMS 16 does not compile (#error), a 1024-thread block exceeds __launch_bounds__(512) (bind:
// plan_error), and the emulated worker's `tiled_relu_faulty` leaves the outputs of 32-thread
// blocks unwritten (incorrect) and faults on 64-thread ones (runtime_error); 256 x 1 and
// 256 x 4 are correct, 256 x 4 the faster.
const char* kFaultyCandidate = R"cu(// faulty tiled relu
/* kforge:launch
{"kernels": [{"name": "tiled_relu_faulty", "grid": ["ceil_div(x.numel, BLOCK * ITEMS)"],
  "block": ["BLOCK"], "shared_bytes": "0", "args": ["x", "out", "x.numel"]}],
 "scratch": [],
 "defines": {"BLOCK": {"default": 256, "values": [32, 64, 256, 1024]},
             "ITEMS": {"default": 4, "values": [1, 4, 16]}},
 "constraints": ["BLOCK * ITEMS <= 4096"]}
*/
#if ITEMS == 16
#error "16 elements a thread are not supported"
#endif
extern "C" __global__ void __launch_bounds__(512)
    tiled_relu_faulty(const float* x, float* out, long long n) {
  long long base = (long long)blockIdx.x * BLOCK * ITEMS + threadIdx.x;
  for (int k = 0; k < ITEMS; ++k) {
    long long i = base + (long long)k * BLOCK;
    if (i < n) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
  }
}
)cu";

// The verdict each point must get, by "BLOCK,ITEMS".
std::string expected_verdict(int64_t block, int64_t items) {
  if (items == 16)
    return "compile_error";
  if (block == 1024)
    return "plan_error";
  if (block == 32)
    return "incorrect";
  if (block == 64)
    return "runtime_error";
  return "correct";
}

// T4's words and Kernel Tuner's failure names for those verdicts.
const std::map<std::string, std::string> kInvalidity = {{"compile_error", "compile"},
                                                        {"plan_error", "constraints"},
                                                        {"incorrect", "correctness"},
                                                        {"runtime_error", "runtime"},
                                                        {"correct", "correct"}};
const std::map<std::string, std::string> kKernelTunerFailure = {
    {"compile_error", "CompilationFailedConfig"},
    {"plan_error", "InvalidConfig"},
    {"incorrect", "RuntimeFailedConfig"},
    {"runtime_error", "RuntimeFailedConfig"}};

// The T4 results schema's rules, written out here (the schema itself is not shipped): for
// python3's jsonschema where it is installed.
const char* kT4Schema = R"({
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "schema_version": {"type": "string", "pattern": "^[0-9]{1,}.[0-9]{1,}.[0-9]{1,}$"},
    "results": {"type": "array", "items": {
      "type": "object",
      "properties": {
        "timestamp": {"type": "string"},
        "configuration": {"type": "object"},
        "objectives": {"type": "array"},
        "times": {"type": "object", "properties": {
          "compilation_time": {"type": "number"}, "runtimes": {"type": "array"},
          "framework": {"type": "number"}, "search_algorithm": {"type": "number"},
          "validation": {"type": "number"}}},
        "invalidity": {"enum": ["timeout", "compile", "runtime", "correctness", "constraints",
                                "correct"]},
        "correctness": {"type": "number"},
        "measurements": {"type": "array", "items": {"type": "object", "properties": {
          "name": {"type": "string"}, "value": {"type": ["number", "string", "array"]},
          "unit": {"type": "string"}}}}},
      "required": ["configuration", "times", "invalidity", "correctness"]}}}
})";

// The same rules checked here, so that a machine without jsonschema still holds the export to
// them.
void expect_t4_shape(const nlohmann::json& document) {
  ASSERT_TRUE(document.is_object());
  ASSERT_TRUE(document["schema_version"].is_string());
  EXPECT_TRUE(std::regex_match(document["schema_version"].get<std::string>(),
                               std::regex("[0-9]+\\.[0-9]+\\.[0-9]+")));
  ASSERT_TRUE(document["results"].is_array());
  const std::vector<std::string> invalidities = {"timeout",     "compile",     "runtime",
                                                 "correctness", "constraints", "correct"};
  for (const nlohmann::json& result : document["results"]) {
    ASSERT_TRUE(result.is_object());
    for (const char* key : {"configuration", "times", "invalidity", "correctness"})
      ASSERT_TRUE(result.contains(key)) << key << " in " << result.dump();
    EXPECT_TRUE(result["configuration"].is_object());
    EXPECT_TRUE(result["times"].is_object());
    for (const char* key : {"framework", "search_algorithm", "validation"})
      EXPECT_TRUE(result["times"][key].is_number()) << key;
    EXPECT_TRUE(result["times"]["runtimes"].is_array());
    EXPECT_NE(std::find(invalidities.begin(), invalidities.end(), result["invalidity"]),
              invalidities.end());
    EXPECT_TRUE(result["correctness"].is_number());
    EXPECT_TRUE(result["timestamp"].is_string());
    EXPECT_TRUE(result["objectives"].is_array());
    for (const nlohmann::json& measurement : result["measurements"]) {
      EXPECT_TRUE(measurement["name"].is_string());
      EXPECT_TRUE(measurement["value"].is_number() || measurement["value"].is_string());
      EXPECT_TRUE(measurement["unit"].is_string());
    }
  }
}

class TuneExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    workspace_ = new testing::TemporaryDirectory();
    ProcessResult imported = testing::import_tiny_relu_workspace(workspace_->path());
    ASSERT_EQ(imported.exit_code, 0) << imported.standard_error;
    testing::write_text(workspace_->path() / "faulty.cu", kFaultyCandidate);
    // Every valid point, in the random strategy's order.
    ProcessResult tuned = run_kforge({"tune", "faulty.cu", "--task", "tiny/tiny_relu", "--strategy",
                                      "random", "--max-evals", "11", "--json"},
                                     workspace_->path(), {{"KFORGE_GPU_WORKER", worker()}}, 600);
    ASSERT_EQ(tuned.exit_code, 0) << tuned.standard_error;
    report_ = new nlohmann::json(nlohmann::json::parse(tuned.standard_output));
  }
  static void TearDownTestSuite() {
    delete report_;
    delete workspace_;
  }

  static std::string worker() {
    return "/usr/bin/python3 " +
           (testing::source_dir() / "tests/support/emulated_gpu_worker.py").string();
  }

  static std::string run_id() { return std::to_string((*report_)["run_id"].get<int64_t>()); }

  static ProcessResult kforge(const std::vector<std::string>& arguments) {
    return run_kforge(arguments, workspace_->path());
  }

  // The tune report's point of these defines.
  static const nlohmann::json& reported(int64_t block, int64_t items) {
    for (const nlohmann::json& point : (*report_)["points"])
      if (point["defines"]["BLOCK"] == block && point["defines"]["ITEMS"] == items)
        return point;
    static const nlohmann::json none;
    return none;
  }

  static nlohmann::json replay_json(const fs::path& file) {
    ProcessResult result = kforge(
        {"tune", "--replay", file.string(), "--budget-fraction", "1", "--repeats", "2", "--json"});
    EXPECT_EQ(result.exit_code, 0) << result.standard_error;
    return nlohmann::json::parse(result.standard_output);
  }

  // One line on stderr, `kforge: error: ...` naming `needle`, a non-zero exit.
  static void expect_one_line_error(const ProcessResult& result, const std::string& needle) {
    EXPECT_NE(result.exit_code, 0) << result.standard_error;
    EXPECT_EQ(result.standard_error.rfind("kforge: error: ", 0), 0u) << result.standard_error;
    EXPECT_EQ(std::count(result.standard_error.begin(), result.standard_error.end(), '\n'), 1)
        << result.standard_error;
    EXPECT_NE(result.standard_error.find(needle), std::string::npos) << result.standard_error;
  }

  static testing::TemporaryDirectory* workspace_;
  static nlohmann::json* report_;
};

testing::TemporaryDirectory* TuneExportTest::workspace_ = nullptr;
nlohmann::json* TuneExportTest::report_ = nullptr;

TEST_F(TuneExportTest, TheRunHasEveryKindOfFailedPoint) {
  ASSERT_EQ((*report_)["points"].size(), 11u) << report_->dump();
  for (const nlohmann::json& point : (*report_)["points"])
    EXPECT_EQ(point["verdict"], expected_verdict(point["defines"]["BLOCK"].get<int64_t>(),
                                                 point["defines"]["ITEMS"].get<int64_t>()))
        << point.dump();
}

TEST_F(TuneExportTest, T4ExportFollowsTheSchemaAndWritesFailuresAsInvalidity) {
  const fs::path file = workspace_->path() / "run.t4.json";
  ProcessResult result =
      kforge({"tune", "export", run_id(), "--format", "t4", "--output", file.string()});
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  EXPECT_TRUE(result.standard_output.empty()) << result.standard_output;
  const nlohmann::json document = nlohmann::json::parse(files::read(file));
  expect_t4_shape(document);
  EXPECT_EQ(document["schema_version"], "1.0.0");
  ASSERT_EQ(document["results"].size(), 11u);
  // In the order the strategy asked.
  for (size_t i = 0; i < 11; ++i)
    EXPECT_EQ(document["results"][i]["configuration"], (*report_)["points"][i]["defines"]);
  for (const nlohmann::json& entry : document["results"]) {
    const int64_t block = entry["configuration"]["BLOCK"], items = entry["configuration"]["ITEMS"];
    const std::string verdict = expected_verdict(block, items);
    EXPECT_EQ(entry["invalidity"], kInvalidity.at(verdict)) << entry.dump();
    EXPECT_EQ(entry["correctness"], verdict == "incorrect" ? 0 : 1) << entry.dump();
    EXPECT_EQ(entry["objectives"], nlohmann::json::array({"time"}));
    ASSERT_EQ(entry["measurements"].size(), 1u);
    const nlohmann::json& time = entry["measurements"][0];
    EXPECT_EQ(time["name"], "time");
    EXPECT_EQ(time["unit"], "ms");
    if (verdict == "correct") {
      // The tune report's median device time, in milliseconds; every timing sample kept.
      EXPECT_NEAR(time["value"].get<double>(),
                  reported(block, items)["time_us"].get<double>() / 1000.0, 1e-12);
      EXPECT_EQ(entry["times"]["runtimes"].size(), 4u);
      EXPECT_GT(entry["times"]["benchmark"].get<double>(), 0.0);
      EXPECT_GT(entry["times"]["validation"].get<double>(), 0.0);
    } else {
      EXPECT_EQ(time["value"], kKernelTunerFailure.at(verdict)) << entry.dump();
      EXPECT_TRUE(entry["times"]["runtimes"].empty());
    }
    EXPECT_GT(entry["times"]["compilation"].get<double>(), 0.0) << entry.dump();
    // The strategy's own time for the point (its ask and tell), less than the evaluation's.
    const nlohmann::json& times = entry["times"];
    EXPECT_GT(times["search_algorithm"].get<double>(), 0.0) << entry.dump();
    EXPECT_LT(times["search_algorithm"].get<double>(),
              times["compilation"].get<double>() + times["benchmark"].get<double>() +
                  times["validation"].get<double>() + times["framework"].get<double>())
        << entry.dump();
  }

  // The schema itself, where python3 has jsonschema.
  if (std::system("python3 -c 'import jsonschema' 2>/dev/null") != 0)
    GTEST_SKIP() << "python3 has no jsonschema: the T4 rules were checked here only";
  testing::write_text(workspace_->path() / "t4-schema.json", kT4Schema);
  const std::string command = "cd '" + workspace_->path().string() +
                              "' && python3 -c 'import json, jsonschema; "
                              "jsonschema.validate(json.load(open(\"run.t4.json\")), "
                              "json.load(open(\"t4-schema.json\")))'";
  EXPECT_EQ(std::system(command.c_str()), 0) << "the T4 export does not validate";
}

TEST_F(TuneExportTest, KernelTunerCacheExportOnStdoutWritesFailuresAsTheirNames) {
  ProcessResult result = kforge({"tune", "export", run_id(), "--format", "kernel-tuner-cache"});
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  // Kernel Tuner takes a cache whose text does not end with the cache's closing braces for one
  // a killed run left open.
  std::string text = result.standard_output;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.pop_back();
  ASSERT_GE(text.size(), 3u);
  EXPECT_EQ(text.substr(text.size() - 3), "}\n}");
  const nlohmann::json cache = nlohmann::json::parse(result.standard_output);
  EXPECT_EQ(cache["tune_params_keys"], nlohmann::json::array({"BLOCK", "ITEMS"}));
  EXPECT_EQ(cache["tune_params"]["BLOCK"], nlohmann::json::array({32, 64, 256, 1024}));
  EXPECT_EQ(cache["tune_params"]["ITEMS"], nlohmann::json::array({1, 4, 16}));
  EXPECT_EQ(cache["objective"], "time");
  EXPECT_EQ(cache["device_name"], "kforge emulated GPU (tests only)");
  EXPECT_EQ(cache["kernel_name"], "tiled_relu_faulty");
  EXPECT_EQ(cache["problem_size"], nlohmann::json::array({64, 100}));
  ASSERT_EQ(cache["cache"].size(), 11u);
  for (const auto& [key, entry] : cache["cache"].items()) {
    const int64_t block = entry["BLOCK"], items = entry["ITEMS"];
    EXPECT_EQ(key, std::to_string(block) + "," + std::to_string(items));
    const std::string verdict = expected_verdict(block, items);
    if (verdict == "correct") {
      EXPECT_NEAR(entry["time"].get<double>(),
                  reported(block, items)["time_us"].get<double>() / 1000.0, 1e-12);
      EXPECT_EQ(entry["times"].size(), 4u);
    } else {
      EXPECT_EQ(entry["time"], kKernelTunerFailure.at(verdict)) << key;
    }
    for (const char* timing :
         {"compile_time", "verification_time", "benchmark_time", "strategy_time", "framework_time"})
      EXPECT_TRUE(entry[timing].is_number()) << key << " " << timing;
  }
}

TEST_F(TuneExportTest, BothFormatsReplayAsTheSpaceTheRunEvaluated) {
  const fs::path t4 = workspace_->path() / "replay.t4.json";
  const fs::path cache = workspace_->path() / "replay.cache.json";
  ASSERT_EQ(kforge({"tune", "export", run_id(), "--format", "t4", "-o", t4.string()}).exit_code, 0);
  ASSERT_EQ(
      kforge({"tune", "export", run_id(), "--format", "kernel-tuner-cache", "-o", cache.string()})
          .exit_code,
      0);
  const double best_ms = (*report_)["best"]["time_us"].get<double>() / 1000.0;
  for (const fs::path& file : {t4, cache}) {
    const nlohmann::json replayed = replay_json(file);
    EXPECT_EQ(replayed["space"]["points"], 11) << file;
    EXPECT_EQ(replayed["space"]["succeeded"], 2) << file;
    EXPECT_NEAR(replayed["space"]["optimum"].get<double>(), best_ms, 1e-12) << file;
    EXPECT_EQ(replayed["result"]["median"], 1.0) << file;  // the whole space: the optimum found
  }
  // A replay's own export in T4 reads back as the points it evaluated.
  const fs::path again = workspace_->path() / "again.t4.json";
  ProcessResult exported =
      kforge({"tune", "--replay", cache.string(), "--budget-fraction", "1", "--repeats", "1",
              "--export", again.string(), "--format", "t4", "--json"});
  ASSERT_EQ(exported.exit_code, 0) << exported.standard_error;
  const nlohmann::json reread = replay_json(again);
  EXPECT_EQ(reread["space"]["points"], 11);
  EXPECT_EQ(reread["space"]["succeeded"], 2);
  EXPECT_NEAR(reread["space"]["optimum"].get<double>(), best_ms, 1e-12);
}

TEST_F(TuneExportTest, BadRequestsAreOneLine) {
  expect_one_line_error(kforge({"tune", "export", "999999", "--format", "t4"}),
                        "there is no run 999999");
  // A run of another kind: an eval.
  ProcessResult eval = kforge({"eval", "faulty.cu", "--task", "tiny/tiny_relu"});
  ASSERT_EQ(eval.exit_code, 0) << eval.standard_error;
  std::string eval_run;
  {
    sql::Connection db((workspace_->path() / "kforge.db").string(), false);
    auto query = db.prepare("SELECT max(id) FROM runs WHERE kind = 'eval'");
    ASSERT_TRUE(query.step());
    eval_run = std::to_string(query.integer(0));
  }
  expect_one_line_error(kforge({"tune", "export", eval_run, "--format", "t4"}),
                        "run " + eval_run + " is not a tuning run (it is a run of kind eval)");
  expect_one_line_error(kforge({"tune", "export", run_id(), "--format", "csv"}),
                        "unknown export format 'csv' (known: t4, kernel-tuner-cache)");
  expect_one_line_error(kforge({"tune", "export", run_id()}), "--format t4|kernel-tuner-cache");
  // An output path that is a folder: nothing written, one line naming it.
  const fs::path folder = workspace_->path() / "problems";
  expect_one_line_error(
      kforge({"tune", "export", run_id(), "--format", "t4", "-o", folder.string()}), "problems");
  EXPECT_TRUE(fs::is_directory(folder));
}

TEST_F(TuneExportTest, HelpNamesTheFormatsAndTheOutput) {
  ProcessResult result = kforge({"tune", "export", "--help"});
  EXPECT_EQ(result.exit_code, 0);
  for (const char* word : {"t4", "kernel-tuner-cache", "--output", "--format", "run"})
    EXPECT_NE(result.standard_output.find(word), std::string::npos) << word;
  ProcessResult tune_help = kforge({"tune", "--help"});
  EXPECT_NE(tune_help.standard_output.find("export"), std::string::npos);
}

}  // namespace
}  // namespace kforge

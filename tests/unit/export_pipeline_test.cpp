// The whole export path on a real store file built by the real evaluator
// (tests/support/evaluated_store.hpp): formats checked against their schemas and against the
// columns docs/dataset-formats.md promises, filters, deduplication keeping the fastest, DPO
// pairing rules, trajectories, splits by task, decontamination, byte-identical re-exports, and
// the dataset card.
#include "datasets/export/export_pipeline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "datasets/export/exporter.hpp"
#include "datasets/export/record_schema.hpp"
#include "datasets/export/row_fields.hpp"
#include "datasets/export/row_reader.hpp"
#include "datasets/export/splits.hpp"
#include "datasets/store_copy.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/strings.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/evaluated_store.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::dataset {
namespace {

using nlohmann::json;
using testing::EvaluateOn;
using testing::relu_candidate_named;

namespace fs = std::filesystem;

// A second ReLU task, beside testing::kTinyReluTask, written differently enough that a copy of
// one is not a copy of the other (decontamination), small enough that a verification costs
// little.
constexpr const char* kClampTask = R"py(import torch


class Model(torch.nn.Module):
    """The positive part of a wide batch, written with clamp."""

    def forward(self, x):
        positive = torch.clamp(x, min=0.0)
        return positive


WIDTH = 300
DEPTH = 32


def get_init_inputs():
    return []


def get_inputs():
    return [torch.randn(DEPTH, WIDTH)]
)py";

std::vector<json> read_jsonl(const fs::path& path) {
  std::vector<json> records;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    records.push_back(json::parse(line));
  return records;
}

std::vector<json> all_records(const fs::path& out) {
  std::vector<json> records;
  for (const char* split : {"train", "validation", "test"}) {
    for (json& record : read_jsonl(out / (std::string(split) + ".jsonl")))
      records.push_back(std::move(record));
  }
  return records;
}

// The store every test exports from, built once through the real evaluator (see
// tests/support/evaluated_store.hpp); each test works on its own copy of the file.
//
//   kb1/tiny_relu (license MIT), run 1 by model-a with one LLM exchange:
//     first_          iteration 0, unwritten output: incorrect
//     second_         iteration 1, slow_relu: correct, three times slower
//     third_          iteration 2, relu: correct
//     duplicate_      third_'s kernel with a comment added (human): correct, same time
//     compile_error_  (tune): compile_error
//   other/wide_clamp (no license recorded):
//     fast_           relu (tune): correct, the group's best
//     close_          relu, another body: correct, same time (within the spread: no DPO pair)
//     slow_           slow_relu: correct, clearly slower (DPO chosen_faster)
//     wrong_          unwritten: incorrect (DPO rejected_failed)
//     untested_       no GPU: compiled (never a DPO side)
//     other_gpu_      unwritten on the second emulated GPU: incorrect, never paired with the
//                     first GPU's rows
class ExportPipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory_ = new testing::TemporaryDirectory();
    auto* built = new testing::EvaluatedStore(directory_->path() / "workspace");
    built_ = built;
    built->import("kb1", {{"tiny_relu", testing::kTinyReluTask}});
    built->import("other", {{"wide_clamp", kClampTask}});
    built->store().db().execute("UPDATE tasks SET license = 'MIT' WHERE name = 'kb1/tiny_relu'");
    // Honest kernels take 0.0512 us (relu) and 0.0768 us (clamp) on the emulated GPU.
    built->cache_baseline(kRelu, testing::kEmulatedGpu, 0.128, 0.064);
    built->cache_baseline(kClamp, testing::kEmulatedGpu, 0.192, 0.096);
    run_ = built->run("model-a");
    exchange_ = built->exchange(run_, kRelu, "model-a", "Here is my kernel.\n```cuda\n...```");

    auto evaluate = [&](const std::string& task, const std::string& kernel, const std::string& body,
                        EvaluationRequest request, EvaluateOn where = EvaluateOn::kEmulatedGpu) {
      request.source = relu_candidate_named(kernel, body);
      EvaluationOutcome outcome = built->evaluate(task, request, where);
      outcomes_->emplace(outcome.candidate_id, outcome);
      return outcome.candidate_id;
    };
    outcomes_ = new std::map<int64_t, EvaluationOutcome>();
    const std::string fmax = "out[i] = fmaxf(x[i], 0.f);";
    first_ =
        evaluate(kRelu, "unwritten", "out[i] = x[i];",
                 {.origin = "llm", .run_id = run_, .llm_exchange_id = exchange_, .iteration = 0});
    second_ = evaluate(kRelu, "slow_relu", "out[i] = x[i] > 0.f ? x[i] : 0.f;",
                       {.origin = "llm", .run_id = run_, .parent_id = first_, .iteration = 1});
    third_ = evaluate(kRelu, "relu", fmax,
                      {.origin = "llm", .run_id = run_, .parent_id = second_, .iteration = 2});
    duplicate_ = evaluate(kRelu, "relu", fmax + " // same kernel", {.origin = "human"});
    compile_error_ = evaluate(kRelu, "relu", "out[i] = ;", {.origin = "tune"});
    fast_ = evaluate(kClamp, "relu", "out[i] = x[i] < 0.f ? 0.f : x[i];", {.origin = "tune"});
    close_ = evaluate(kClamp, "relu", "float v = x[i]; out[i] = v * (v > 0.f);", {.origin = "llm"});
    slow_ = evaluate(kClamp, "slow_relu", "out[i] = fmaxf(0.f, x[i]) * 1.0f;", {.origin = "llm"});
    wrong_ = evaluate(kClamp, "unwritten", "out[i] = 0.f;", {.origin = "llm"});
    untested_ = evaluate(kClamp, "relu", "out[i] = copysignf(fmaxf(x[i], 0.f), 1.f);",
                         {.origin = "llm"}, EvaluateOn::kNoGpu);
    other_gpu_ = evaluate(kClamp, "unwritten", "out[i] = 1.f;", {.origin = "llm"},
                          EvaluateOn::kOtherEmulatedGpu);
  }
  static void TearDownTestSuite() {
    delete outcomes_;
    delete built_;
    delete directory_;
  }

  void SetUp() override {
    built_->copy_to(dir_ / "kforge.db");
    store_ = Store::open(dir_ / "kforge.db");
  }

  json export_to(const std::string& format, const std::string& folder, ExportOptions options = {}) {
    options.format = format;
    return run_export(store_->db(), options, dir_ / folder);
  }

  static std::string verdict_of(int64_t candidate) {
    return std::string(verdict_name(outcomes_->at(candidate).verdict));
  }

  static constexpr const char* kRelu = "kb1/tiny_relu";
  static constexpr const char* kClamp = "other/wide_clamp";
  static testing::TemporaryDirectory* directory_;
  static testing::EvaluatedStore* built_;
  static std::map<int64_t, EvaluationOutcome>* outcomes_;
  static int64_t run_, exchange_, first_, second_, third_, duplicate_, compile_error_, fast_,
      close_, slow_, wrong_, untested_, other_gpu_;

  testing::TemporaryDirectory dir_;
  std::unique_ptr<Store> store_;
};

testing::TemporaryDirectory* ExportPipeline::directory_ = nullptr;
testing::EvaluatedStore* ExportPipeline::built_ = nullptr;
std::map<int64_t, EvaluationOutcome>* ExportPipeline::outcomes_ = nullptr;
int64_t ExportPipeline::run_ = 0, ExportPipeline::exchange_ = 0, ExportPipeline::first_ = 0,
        ExportPipeline::second_ = 0, ExportPipeline::third_ = 0, ExportPipeline::duplicate_ = 0,
        ExportPipeline::compile_error_ = 0, ExportPipeline::fast_ = 0, ExportPipeline::close_ = 0,
        ExportPipeline::slow_ = 0, ExportPipeline::wrong_ = 0, ExportPipeline::untested_ = 0,
        ExportPipeline::other_gpu_ = 0;

TEST_F(ExportPipeline, TheStoreHoldsTheVerdictsTheTestsNeed) {
  EXPECT_EQ(verdict_of(first_), "incorrect");
  EXPECT_EQ(verdict_of(second_), "correct");
  EXPECT_EQ(verdict_of(third_), "correct");
  EXPECT_EQ(verdict_of(duplicate_), "correct");
  EXPECT_EQ(verdict_of(compile_error_), "compile_error");
  EXPECT_EQ(verdict_of(fast_), "correct");
  EXPECT_EQ(verdict_of(close_), "correct");
  EXPECT_EQ(verdict_of(slow_), "correct");
  EXPECT_EQ(verdict_of(wrong_), "incorrect");
  EXPECT_EQ(verdict_of(untested_), "compiled");
  EXPECT_EQ(verdict_of(other_gpu_), "incorrect");
  EXPECT_GT(*outcomes_->at(third_).speedup_eager, 2.4);
  EXPECT_LT(*outcomes_->at(second_).speedup_eager, 1.0);
}

TEST_F(ExportPipeline, EveryFormatMatchesItsSchema) {
  for (const ExporterEntry& entry : exporters()) {
    std::string format(entry.name);
    json report = export_to(format, format);
    std::vector<json> records = all_records(dir_ / format);
    EXPECT_FALSE(records.empty()) << format;
    for (const json& record : records) {
      std::vector<std::string> problems = check_record(format, record);
      EXPECT_TRUE(problems.empty()) << format << ": " << problems.front();
    }
    EXPECT_TRUE(std::filesystem::exists(dir_ / format / "README.md")) << format;
    EXPECT_FALSE(std::filesystem::exists(dir_ / format / "train.jsonl.partial")) << format;
  }
}

TEST_F(ExportPipeline, SchemaCheckerRejectsBrokenRecords) {
  EXPECT_FALSE(check_record("sft", json{{"prompt", "p"}}).empty());
  json record = {{"prompt", "p"}, {"completion", 3}, {"metadata", json::object()}};
  auto problems = check_record("sft", record);
  ASSERT_FALSE(problems.empty());
  EXPECT_EQ(problems.front(), "completion: expected string, got number");
}

TEST_F(ExportPipeline, SftKeepsCorrectRowsAndTheFastestOfDuplicates) {
  json report = export_to("sft", "sft");
  std::vector<json> records = all_records(dir_ / "sft");
  std::set<int64_t> ids;
  for (const json& record : records)
    ids.insert(record["metadata"]["candidate_id"].get<int64_t>());
  // third_ and its exact duplicate are equally fast; the first stored is kept.
  EXPECT_TRUE(ids.count(third_));
  EXPECT_FALSE(ids.count(duplicate_));
  EXPECT_FALSE(ids.count(first_));          // incorrect: not in sft by default
  EXPECT_FALSE(ids.count(compile_error_));  // nor a compile error
  EXPECT_FALSE(ids.count(untested_));       // nor one that never ran
  EXPECT_TRUE(ids.count(fast_));
  EXPECT_EQ(report["dedup"]["exact_duplicates"], 1);
  for (const json& record : records) {
    EXPECT_NE(record["prompt"].get<std::string>().find("class Model"), std::string::npos);
    EXPECT_NE(record["prompt"].get<std::string>().find("kforge:launch"), std::string::npos);
    EXPECT_NE(record["completion"].get<std::string>().find("__global__"), std::string::npos);
  }
  // License: the task's own where recorded, else the export's default.
  for (const json& record : records) {
    std::string expected = record["metadata"]["task"] == kRelu ? "MIT" : "unknown";
    EXPECT_EQ(record["metadata"]["license"], expected);
  }
}

TEST_F(ExportPipeline, FiltersSelectRows) {
  ExportOptions options;
  options.filters.min_speedup_eager = 2.4;
  options.dedup = DedupMode::kNone;
  json report = export_to("archive", "fast", options);
  std::set<int64_t> ids;
  for (const json& record : all_records(dir_ / "fast"))
    ids.insert(record["candidate_id"].get<int64_t>());
  EXPECT_EQ(ids, (std::set<int64_t>{third_, duplicate_, fast_, close_}));

  options = {};
  options.filters.origins = {"tune"};
  options.filters.verdicts = {"compile_error"};
  options.verdicts_given = true;
  export_to("archive", "tune", options);
  std::vector<json> records = all_records(dir_ / "tune");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["candidate_id"], compile_error_);

  options = {};
  options.filters.models = {"model-a"};
  options.filters.tasks = {"kb1/*"};
  export_to("archive", "model", options);
  EXPECT_EQ(all_records(dir_ / "model").size(), 3u);  // the run's three attempts

  options = {};
  options.filters.gpus = {testing::kOtherEmulatedGpu};
  export_to("archive", "other", options);
  records = all_records(dir_ / "other");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["candidate_id"], other_gpu_);

  options = {};
  options.filters.until = "2000-01-01";
  export_to("archive", "old", options);
  EXPECT_TRUE(all_records(dir_ / "old").empty());
  options.filters.until = "2999-01-01";
  options.filters.gpus = {"NVIDIA A100"};
  export_to("archive", "a100", options);
  EXPECT_TRUE(all_records(dir_ / "a100").empty());
}

TEST_F(ExportPipeline, BadFiltersAreErrorsNamingTheFlag) {
  ExportOptions options;
  options.filters.verdicts = {"corect"};
  options.verdicts_given = true;
  try {
    export_to("archive", "bad", options);
    FAIL();
  } catch (const Error& failure) {
    EXPECT_EQ(failure.where(), "--verdict");
    EXPECT_NE(failure.message().find("correct"), std::string::npos);
  }
  options = {};
  options.filters.since = "yesterday";
  EXPECT_THROW(export_to("archive", "bad", options), Error);
  EXPECT_THROW(export_to("parquet", "bad"), Error);
}

TEST_F(ExportPipeline, DpoPairsFollowTheRules) {
  // In other/wide_clamp on the first GPU: close_ is slower than fast_ only within the timing
  // spread (no pair), slow_ clearly (a pair), wrong_ failed (a pair); untested_ never ran and
  // other_gpu_ ran elsewhere: neither is a side.
  ExportOptions options;
  options.dedup = DedupMode::kExact;
  export_to("dpo", "dpo", options);
  std::map<int64_t, std::string> rejected;
  for (const json& record : all_records(dir_ / "dpo")) {
    EXPECT_TRUE(check_record("dpo", record).empty());
    if (record["metadata"]["task"] != kClamp)
      continue;
    EXPECT_EQ(record["metadata"]["chosen"]["candidate_id"], fast_);
    rejected[record["metadata"]["rejected"]["candidate_id"].get<int64_t>()] =
        record["metadata"]["pair_reason"];
  }
  EXPECT_EQ(rejected, (std::map<int64_t, std::string>{{slow_, "chosen_faster"},
                                                      {wrong_, "rejected_failed"}}));
}

TEST_F(ExportPipeline, DpoNeverPairsAcrossGpus) {
  export_to("dpo", "dpo");
  std::vector<json> records = all_records(dir_ / "dpo");
  ASSERT_FALSE(records.empty());
  for (const json& record : records) {
    EXPECT_EQ(record["metadata"]["gpu"], testing::kEmulatedGpu);
    EXPECT_NE(record["metadata"]["rejected"]["candidate_id"], other_gpu_);
  }
}

TEST_F(ExportPipeline, TrajectoriesFollowTheRunWithFeedbackTurns) {
  export_to("trajectories", "trajectories");
  std::vector<json> records = all_records(dir_ / "trajectories");
  const json* run = nullptr;
  for (const json& record : records) {
    if (record["run_id"] == run_)
      run = &record;
  }
  ASSERT_NE(run, nullptr);
  EXPECT_EQ((*run)["attempts"], 3);
  const json& messages = (*run)["messages"];
  ASSERT_EQ(messages.size(), 2u + 2 * 3);
  EXPECT_EQ(messages[0]["role"], "system");
  EXPECT_EQ(messages[1]["role"], "user");
  // The first attempt is the LLM's whole response; its feedback names the verdict and reason.
  EXPECT_EQ(messages[2]["content"], "Here is my kernel.\n```cuda\n...```");
  EXPECT_NE(messages[3]["content"].get<std::string>().find("verdict: incorrect (unwritten_output)"),
            std::string::npos)
      << messages[3]["content"];
  EXPECT_EQ((*run)["turns"][1]["parent_id"], first_);
  EXPECT_EQ((*run)["best_speedup_eager"], *outcomes_->at(third_).speedup_eager);
  EXPECT_EQ((*run)["best_candidate_id"], third_);
  EXPECT_EQ((*run)["final_speedup_eager"], *outcomes_->at(third_).speedup_eager);
  EXPECT_EQ((*run)["model"], "model-a");
}

TEST_F(ExportPipeline, SplitsAreByTaskNeverByRow) {
  ExportOptions options;
  options.dedup = DedupMode::kNone;
  options.splits = {34, 33, 33};
  export_to("archive", "splits", options);
  std::map<std::string, std::set<std::string>> splits_of_task;
  size_t rows = 0;
  for (const char* split : {"train", "validation", "test"}) {
    for (const json& record : read_jsonl(dir_ / "splits" / (std::string(split) + ".jsonl"))) {
      splits_of_task[record["task"]].insert(split);
      ++rows;
    }
  }
  EXPECT_EQ(rows, outcomes_->size());
  ASSERT_EQ(splits_of_task.size(), 2u);
  for (const auto& [task, splits] : splits_of_task) {
    ASSERT_EQ(splits.size(), 1u) << task;
    EXPECT_EQ(*splits.begin(), split_name(split_of(task, options.splits))) << task;
  }
}

TEST_F(ExportPipeline, ReExportsAreByteIdentical) {
  for (const ExporterEntry& entry : exporters()) {
    std::string format(entry.name);
    export_to(format, format + "_a");
    export_to(format, format + "_b");
    for (const char* file : {"train.jsonl", "validation.jsonl", "test.jsonl", "README.md"}) {
      EXPECT_EQ(files::read(dir_ / (format + "_a") / file),
                files::read(dir_ / (format + "_b") / file))
          << format << "/" << file;
    }
  }
}

TEST_F(ExportPipeline, DecontaminationDropsOverlappingTasksAndSaysWhy) {
  fs::create_directories(dir_ / "KernelBench/level1");
  std::string copy = testing::kTinyReluTask;
  // Renamed and reformatted: still the same problem.
  for (auto [from, to] :
       {std::pair{"forward(self, x)", "forward(self, inp)"},
        std::pair{"torch.relu(x)", "torch.relu( inp )"}, std::pair{"rows = 64", "bs = 64"},
        std::pair{"randn(rows,", "randn(bs,"}}) {
    copy.replace(copy.find(from), std::string(from).size(), to);
  }
  testing::write_text(dir_ / "KernelBench/level1/19_ReLU.py", copy);
  ExportOptions options;
  options.decontamination.benchmark_dirs = {dir_ / "KernelBench"};
  json report = export_to("archive", "clean", options);
  const json& dropped = report["decontamination"]["dropped_tasks"];
  ASSERT_EQ(dropped.size(), 1u) << dropped;
  EXPECT_EQ(dropped[0]["task"], kRelu);
  EXPECT_EQ(dropped[0]["problem"], "KernelBench/level1/19_ReLU.py");
  EXPECT_EQ(dropped[0]["rows"], 5);
  for (const json& record : all_records(dir_ / "clean"))
    EXPECT_EQ(record["task"], kClamp);
  std::string card = files::read(dir_ / "clean" / "README.md");
  EXPECT_NE(card.find("| kb1/tiny_relu | KernelBench/level1/19_ReLU.py |"), std::string::npos);
}

TEST_F(ExportPipeline, CardAndStatsAgree) {
  json exported = export_to("archive", "card");
  ExportOptions options;
  json counted = run_export(store_->db(), options, std::nullopt);
  EXPECT_EQ(exported, counted);
  EXPECT_EQ(counted["rows"]["exported"], 11);
  EXPECT_EQ(counted["verdicts"]["correct"], 6);
  EXPECT_EQ(counted["verdicts"]["incorrect"], 3);
  EXPECT_EQ(counted["verdicts"]["compile_error"], 1);
  EXPECT_EQ(counted["verdicts"]["compiled"], 1);
  EXPECT_EQ(counted["gpus"][testing::kEmulatedGpu], 8);
  EXPECT_EQ(counted["gpus"][testing::kOtherEmulatedGpu], 1);
  std::string torch = outcomes_->at(third_).environment.torch;
  EXPECT_EQ(counted["versions"]["torch"][torch], 9);  // every row that ran
  std::string card = files::read(dir_ / "card" / "README.md");
  EXPECT_NE(card.find("license: other"), std::string::npos);  // MIT and unknown rows
  EXPECT_NE(card.find("| correct | 6 |"), std::string::npos);
  // The card names the splits with records only: `datasets` refuses an empty split file.
  for (const char* split : {"train", "validation", "test"}) {
    bool named = card.find("- split: " + std::string(split) + "\n") != std::string::npos;
    EXPECT_EQ(named, counted["records"][split].get<int64_t>() > 0) << split;
  }
}

// The evaluator always stores a new candidate; a re-evaluation of a stored one (as on another
// day) is its evaluation row pointing at the older candidate.
TEST_F(ExportPipeline, ALaterEvaluationOnTheSameGpuSupersedesTheEarlier) {
  auto move = store_->db().prepare("UPDATE evaluations SET candidate_id = ? WHERE id = ?");
  move.bind(1, fast_).bind(2, outcomes_->at(wrong_).evaluation_id).run();
  export_to("archive", "latest");
  int rows_of_candidate = 0;
  for (const json& record : all_records(dir_ / "latest")) {
    if (record["candidate_id"] == fast_) {
      ++rows_of_candidate;
      EXPECT_EQ(record["verdict"], "incorrect");
    }
  }
  EXPECT_EQ(rows_of_candidate, 1);
}

TEST_F(ExportPipeline, MalformedJsonFieldsAreReadAsAbsent) {
  auto spoil = store_->db().prepare(
      "UPDATE evaluations SET timing = '{\"median_us\": \"fast\", \"cv\": null}', "
      "evidence = '[1, 2, 3]', compile = '{\"kernels\": [{\"registers\": \"many\"}, 7]}' "
      "WHERE id = ?");
  spoil.bind(1, outcomes_->at(fast_).evaluation_id).run();
  export_to("archive", "odd");
  bool seen = false;
  for (const json& record : all_records(dir_ / "odd")) {
    EXPECT_TRUE(check_record("archive", record).empty());
    if (record["candidate_id"] == fast_) {
      seen = true;
      EXPECT_EQ(record["timing_median_us"], *outcomes_->at(fast_).device_time_us);
      EXPECT_TRUE(record["timing_cv"].is_null());
      EXPECT_EQ(record["evidence"], json::object());
      EXPECT_TRUE(record["registers"].is_null());
    }
  }
  EXPECT_TRUE(seen);
}

// Regression: the flat resource columns were null on every row because the exporter read
// compile.registers etc., which the evaluator never writes (it stores them per kernel).
TEST_F(ExportPipeline, ArchiveResourceColumnsComeFromTheEvaluatorsCompileRecord) {
  export_to("archive", "archive");
  int checked = 0;
  for (const json& record : all_records(dir_ / "archive")) {
    const EvaluationOutcome& outcome = outcomes_->at(record["candidate_id"].get<int64_t>());
    if (!outcome.compile || outcome.compile->kernels.empty()) {
      EXPECT_TRUE(record["registers"].is_null()) << record["candidate_id"];
      continue;
    }
    const KernelResources& kernel = outcome.compile->kernels.front();
    ASSERT_EQ(outcome.compile->kernels.size(), 1u);
    ASSERT_GT(kernel.registers, 0);
    EXPECT_EQ(record["registers"], kernel.registers);
    // ptxas prints no smem for a kernel without shared memory: stored -1, exported 0.
    EXPECT_EQ(record["shared_bytes"], std::max<int64_t>(kernel.shared_bytes, 0));
    EXPECT_EQ(record["local_bytes"], kernel.local_bytes);
    EXPECT_EQ(record["spill_bytes"], kernel.spill_store_bytes + kernel.spill_load_bytes);
    EXPECT_EQ(record["compile_ms"], outcome.compile->compile_ms);
    EXPECT_EQ(record["compile"]["kernels"][0]["registers"], record["registers"]);
    ++checked;
  }
  EXPECT_EQ(checked, 10);  // all but the compile error
}

// Each row carries its evaluation's stored profile as the evaluator stored it: the counters of
// every `correct` row's launch (the profile stage ran), null where the stage did not run.
TEST_F(ExportPipeline, ArchiveAndTrajectoriesCarryEachRowsProfile) {
  export_to("archive", "archive");
  int profiled = 0;
  for (const json& record : all_records(dir_ / "archive")) {
    const EvaluationOutcome& outcome = outcomes_->at(record["candidate_id"].get<int64_t>());
    if (!outcome.profile) {
      EXPECT_TRUE(record["profile"].is_null()) << record["candidate_id"];
      continue;
    }
    ASSERT_TRUE(record["profile"].is_object()) << record["candidate_id"];
    EXPECT_EQ(record["profile"], outcome.profile->to_json()) << record["candidate_id"];
    EXPECT_EQ(record["profile"]["status"], "collected");
    EXPECT_GT(record["profile"]["kernels"][0]["metrics"]["dram__bytes_read.sum"].get<double>(), 0);
    ++profiled;
  }
  EXPECT_EQ(profiled, 6);  // the correct rows: second_, third_, duplicate_, fast_, close_, slow_
  EXPECT_FALSE(outcomes_->at(first_).profile);  // incorrect: not profiled by default

  export_to("trajectories", "trajectories");
  int turns = 0, profiled_turns = 0;
  for (const json& record : all_records(dir_ / "trajectories")) {
    for (const json& turn : record["turns"]) {
      const EvaluationOutcome& outcome = outcomes_->at(turn["candidate_id"].get<int64_t>());
      EXPECT_EQ(turn["profile"], outcome.profile ? outcome.profile->to_json() : json(nullptr))
          << turn["candidate_id"];
      ++turns;
      profiled_turns += turn["profile"].is_object() ? 1 : 0;
    }
  }
  EXPECT_GE(turns, 3);
  EXPECT_GE(profiled_turns, 2);  // run 1's second_ and third_ at least
}

// Several kernels: the largest of each figure; -1 (not reported) and malformed entries count
// for nothing; static shared memory a reported kernel leaves out is 0 (ptxas prints only nonzero).
TEST(CompileResources, AreTheLargestOverTheKernelsAsPtxasReportedThem) {
  CompileResources resources = compile_resources(json::parse(R"({"kernels": [
      {"registers": 40, "shared_bytes": 1024, "local_bytes": 0, "spill_store_bytes": 8,
       "spill_load_bytes": 4},
      {"registers": 64, "shared_bytes": -1, "local_bytes": 16, "spill_store_bytes": 0,
       "spill_load_bytes": 0},
      "not a kernel", {"registers": "many"}]})"));
  EXPECT_EQ(resources.registers, 64);
  EXPECT_EQ(resources.shared_bytes, 1024);
  EXPECT_EQ(resources.local_bytes, 16);
  EXPECT_EQ(resources.spill_bytes, 12);

  resources = compile_resources(json::parse(R"({"kernels": [{"registers": 10, "shared_bytes": -1,
      "local_bytes": -1, "spill_store_bytes": -1, "spill_load_bytes": -1}]})"));
  EXPECT_EQ(resources.registers, 10);
  EXPECT_EQ(resources.shared_bytes, 0);
  EXPECT_FALSE(resources.local_bytes);
  EXPECT_FALSE(resources.spill_bytes);

  for (const char* compile : {R"({"kernels": []})", R"({"status": "nvrtc_error"})", "{}",
                              R"({"kernels": [{"registers": -1, "shared_bytes": -1}]})"}) {
    resources = compile_resources(json::parse(compile));
    EXPECT_FALSE(resources.registers || resources.shared_bytes || resources.local_bytes ||
                 resources.spill_bytes)
        << compile;
  }
}

// What docs/dataset-formats.md promises, per format: "Always present (never null): `a`, `b.c`,
// ..." under each format's heading, and for archive rows two more lists, "Present on rows whose
// compile stage succeeded:" and "Present on `correct` rows:".
std::map<std::string, std::map<std::string, std::vector<std::string>>> documented_columns() {
  const std::vector<std::string> leads = {
      "Always present (never null):", "Present on rows whose compile stage succeeded:",
      "Present on `correct` rows:"};
  std::map<std::string, std::map<std::string, std::vector<std::string>>> documented;
  std::string format, lead;
  std::istringstream doc(files::read(testing::source_dir() / "docs/dataset-formats.md"));
  std::string line;
  while (std::getline(doc, line)) {
    if (line.rfind("### `", 0) == 0) {
      format = line.substr(5, line.find('`', 5) - 5);
      lead.clear();
      continue;
    }
    size_t from = 0;
    if (line.empty() || line[0] == '(') {
      lead.clear();
    }
    for (const std::string& candidate : leads) {
      if (line.rfind(candidate, 0) == 0) {
        lead = candidate;
        from = candidate.size();
      }
    }
    if (format.empty() || lead.empty())
      continue;
    // A lead's list runs on over the following lines, up to a blank line or the next lead.
    std::vector<std::string>& columns = documented[format][lead];
    for (size_t open = line.find('`', from); open != std::string::npos;) {
      size_t close = line.find('`', open + 1);
      columns.push_back(line.substr(open + 1, close - open - 1));
      open = line.find('`', close + 1);
    }
  }
  return documented;
}

const json* column(const json& record, const std::string& name) {
  const json* value = &record;
  for (const std::string& part : strings::split(name, '.')) {
    if (!value->is_object() || !value->contains(part))
      return nullptr;
    value = &(*value)[part];
  }
  return value;
}

TEST_F(ExportPipeline, EveryColumnDocumentedAsPresentIsFilledInEveryFormat) {
  auto documented = documented_columns();
  for (const ExporterEntry& entry : exporters()) {
    std::string format(entry.name);
    const std::vector<std::string>& always = documented[format]["Always present (never null):"];
    // The documented list is the schema's: every field it does not allow to be null.
    std::vector<std::string> required;
    for (const FieldSchema& field : record_schema(format)) {
      if (!field.nullable)
        required.push_back(field.name);
    }
    EXPECT_EQ(always, required) << format << ": docs/dataset-formats.md and record_schema.cpp";

    ExportOptions options;
    options.verdicts_given = true;  // every verdict, whatever the format's default
    options.dedup = DedupMode::kNone;
    export_to(format, format, options);
    std::vector<json> records = all_records(dir_ / format);
    ASSERT_FALSE(records.empty()) << format;
    for (const json& record : records) {
      auto expect_filled = [&](const std::vector<std::string>& columns, const char* when) {
        for (const std::string& name : columns) {
          const json* value = column(record, name);
          EXPECT_TRUE(value && !value->is_null())
              << format << ": " << name << " is null or missing (" << when << ")\n"
              << record.dump().substr(0, 2000);
        }
      };
      expect_filled(always, "always");
      if (format != "archive")
        continue;
      if (record["compile"].is_object() && record["compile"]["status"] == "ok")
        expect_filled(documented[format]["Present on rows whose compile stage succeeded:"],
                      "compile succeeded");
      if (record["verdict"] == "correct")
        expect_filled(documented[format]["Present on `correct` rows:"], "correct");
    }
  }
  EXPECT_GE(documented["archive"]["Present on rows whose compile stage succeeded:"].size(), 5u);
  EXPECT_GE(documented["archive"]["Present on `correct` rows:"].size(), 10u);
}

// Every table's rows as text, in id order, for comparing two stores.
std::string rows_of(const Store& store) {
  std::string text;
  for (const char* table :
       {"tasks", "runs", "run_tasks", "llm_exchanges", "candidates", "evaluations", "baselines",
        "profiles", "promotions", "device_measurements"}) {
    auto query = store.db().prepare(std::string("SELECT * FROM ") + table + " ORDER BY 1, 2");
    while (query.step()) {
      text += table;
      for (int column = 0; column < query.column_count(); ++column) {
        text += " | " + query.column_name(column) + "=";
        if (query.kind(column) == sql::ColumnKind::kReal) {
          char number[40];
          std::snprintf(number, sizeof number, "%.17g", query.real(column));
          text += number;
        } else {
          text += query.is_null(column) ? "NULL" : query.text(column);
        }
      }
      text += "\n";
    }
  }
  return text;
}

// The evaluator's store copied SQLite -> PostgreSQL -> SQLite (kforge db copy's function): every
// row arrives unchanged, and every format exports the same bytes from all three (with a task
// pattern, the GLOB that PostgreSQL spells as a regular expression, too).
TEST_F(ExportPipeline, ExportsAreByteIdenticalFromSqliteAndPostgres) {
  std::string why_not;
  testing::PostgresServer* server = testing::PostgresServer::shared(&why_not);
  if (server == nullptr)
    GTEST_SKIP() << "no PostgreSQL server for the tests: " << why_not;
  auto postgres = Store::open_location(server->create_database(), {});
  StoreCopyResult there = copy_store(*store_, *postgres, false);
  auto back = Store::open(dir_ / "back.db");
  StoreCopyResult again = copy_store(*postgres, *back, false);
  EXPECT_EQ(there.total, again.total);
  EXPECT_GT(there.total, 20);
  EXPECT_EQ(rows_of(*back), rows_of(*store_));
  EXPECT_EQ(rows_of(*postgres), rows_of(*store_));

  auto files_of = [](const fs::path& folder) {
    std::map<std::string, std::string> contents;
    for (const auto& entry : fs::recursive_directory_iterator(folder)) {
      if (entry.is_regular_file())
        contents[fs::relative(entry.path(), folder).string()] = files::read(entry.path());
    }
    return contents;
  };
  std::vector<std::pair<std::string, ExportOptions>> exports;
  for (const ExporterEntry& entry : exporters()) {
    ExportOptions options;
    options.format = std::string(entry.name);
    exports.emplace_back(options.format, options);
    options.filters.tasks = {"kb1/*"};
    options.verdicts_given = true;
    options.dedup = DedupMode::kNone;
    exports.emplace_back(options.format + "-kb1", options);
  }
  for (const auto& [name, options] : exports) {
    run_export(store_->db(), options, dir_ / "sqlite" / name);
    run_export(postgres->db(), options, dir_ / "postgres" / name);
    run_export(back->db(), options, dir_ / "back" / name);
    auto expected = files_of(dir_ / "sqlite" / name);
    EXPECT_FALSE(expected.empty()) << name;
    EXPECT_EQ(files_of(dir_ / "postgres" / name), expected) << name;
    EXPECT_EQ(files_of(dir_ / "back" / name), expected) << name;
  }

  // A target that is not empty is refused, unless told to replace what it holds.
  EXPECT_THROW(copy_store(*store_, *postgres, false), Error);
  EXPECT_EQ(copy_store(*store_, *postgres, true).total, there.total);
  // New rows on PostgreSQL get ids after the copied ones.
  auto last = postgres->db().prepare("SELECT max(id) FROM runs");
  ASSERT_TRUE(last.step());
  int64_t last_id = last.integer(0);
  EXPECT_EQ(insert_run(*postgres, {.kind = "eval"}), last_id + 1);
}

// A newer kforge that re-evaluates a candidate writes a row of its newer record version through
// the store's writer; that row is the candidate's latest evaluation, so every export would
// carry it. Each format (and `dataset stats`) refuses it, naming the evaluation, instead of
// reading columns whose meaning it does not know; a row without a version is a damaged row.
TEST_F(ExportPipeline, AnEvaluationOfANewerRecordVersionIsRefusedByEveryExport) {
  EvaluationRow newer = evaluations_of(*store_, third_).back();
  ASSERT_EQ(newer.record_version, kExportedRecordVersion);  // as the evaluator wrote it
  newer.record_version = kExportedRecordVersion + 1;
  const int64_t newer_id = insert_evaluation(*store_, newer);
  const std::string where =
      "evaluation " + std::to_string(newer_id) + " (candidate " + std::to_string(third_) + ")";
  auto refusal = [&](const std::string& format, bool to_folder) -> std::string {
    ExportOptions options;
    options.format = format;
    try {
      run_export(store_->db(), options,
                 to_folder ? std::optional(dir_ / format) : std::optional<fs::path>());
    } catch (const Error& error) {
      return error.message() + " | " + error.where();
    }
    return "(exported)";
  };
  const std::string expected =
      "the evaluation holds an evaluation record of version " +
      std::to_string(kExportedRecordVersion + 1) + ", and this kforge exports version " +
      std::to_string(kExportedRecordVersion) + " only: use a newer kforge | " + where;
  for (const ExporterEntry& entry : exporters()) {
    EXPECT_EQ(refusal(std::string(entry.name), true), expected) << entry.name;
    EXPECT_FALSE(fs::exists(dir_ / std::string(entry.name) / "README.md")) << entry.name;
  }
  EXPECT_EQ(refusal("archive", false), expected);  // kforge dataset stats

  store_->db().execute("UPDATE evaluations SET record_version = NULL WHERE id = " +
                       std::to_string(newer_id));
  EXPECT_EQ(refusal("sft", false),
            "the evaluation has no record version (a damaged row) | " + where);
  // The evaluator's own rows export as before once the newer row is gone.
  store_->db().execute("DELETE FROM evaluations WHERE id = " + std::to_string(newer_id));
  EXPECT_EQ(refusal("sft", true), "(exported)");
}

}  // namespace
}  // namespace kforge::dataset

// The whole export path on a real store file: formats checked against their schemas, filters,
// deduplication keeping the fastest, DPO pairing rules, trajectories, splits by task,
// decontamination, byte-identical re-exports, and the dataset card.
#include "datasets/export/export_pipeline.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "datasets/export/exporter.hpp"
#include "datasets/export/record_schema.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "tests/support/export_store.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::dataset {
namespace {

using nlohmann::json;
using testing::CandidateSpec;
using testing::EvaluationSpec;
using testing::relu_candidate;

EvaluationSpec timed(double us, double speedup, double cv = 0.01,
                     const std::string& verdict = "correct") {
  EvaluationSpec spec;
  spec.verdict = verdict;
  spec.device_time_us = us;
  spec.speedup_eager = speedup;
  spec.speedup_compile = speedup / 2;
  spec.timing = json({{"median_us", us}, {"cv", cv}, {"samples", {us, us, us}}}).dump();
  spec.evidence = R"({"max_abs_error": 1e-6, "atol": 1e-5, "rtol": 1e-5, "seeds": [0, 1]})";
  return spec;
}

EvaluationSpec failed(const std::string& verdict, const std::string& reason) {
  EvaluationSpec spec;
  spec.verdict = verdict;
  spec.reason = reason;
  return spec;
}

std::vector<json> read_jsonl(const std::filesystem::path& path) {
  std::vector<json> records;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    records.push_back(json::parse(line));
  return records;
}

std::vector<json> all_records(const std::filesystem::path& out) {
  std::vector<json> records;
  for (const char* split : {"train", "validation", "test"}) {
    for (json& record : read_jsonl(out / (std::string(split) + ".jsonl")))
      records.push_back(std::move(record));
  }
  return records;
}

class ExportPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<testing::ExportStore>(dir_ / "kforge.db");
    relu_ = store_->task("kb1/19_ReLU", testing::relu_task_source(), "kb1", "MIT");
    gelu_ = store_->task("builtin/gelu",
                         "import torch\nclass Model(torch.nn.Module):\n"
                         "    def forward(self, x):\n        return torch.nn.functional.gelu(x)\n");
    run_ = store_->run("model-a");
    exchange_ = store_->exchange(run_, relu_, "model-a", "Here is my kernel.\n```cuda\n...```");
    // relu: a trajectory of three attempts, a duplicate, a near-duplicate, and a slower twin.
    first_ = store_->candidate(relu_, relu_candidate("out[i] = x[i];"),
                               {"llm", run_, std::nullopt, 0, exchange_},
                               failed("incorrect", "mismatch"));
    second_ = store_->candidate(relu_, relu_candidate("out[i] = x[i] > 0.f ? x[i] : 0.f;"),
                                {"llm", run_, first_, 1}, timed(10.0, 2.0));
    third_ = store_->candidate(relu_, relu_candidate("out[i] = fmaxf(x[i], 0.f);"),
                               {"llm", run_, second_, 2}, timed(8.0, 2.5));
    duplicate_ = store_->candidate(
        relu_, relu_candidate("out[i] = fmaxf(x[i], 0.f);") + "\n// same kernel\n", {"human"},
        timed(9.0, 2.2));
    compile_error_ = store_->candidate(relu_, relu_candidate("out[i] = ;"), {"tune"},
                                       failed("compile_error", "syntax"));
    gelu_fast_ = store_->candidate(gelu_, relu_candidate("out[i] = gelu_fast(x[i]);"), {"tune"},
                                   timed(5.0, 3.0, 0.02));
  }

  json export_to(const std::string& format, const std::string& folder, ExportOptions options = {}) {
    options.format = format;
    return run_export(store_->db(), options, dir_ / folder);
  }

  testing::TemporaryDirectory dir_;
  std::unique_ptr<testing::ExportStore> store_;
  int64_t relu_ = 0, gelu_ = 0, run_ = 0, exchange_ = 0;
  int64_t first_ = 0, second_ = 0, third_ = 0, duplicate_ = 0, compile_error_ = 0, gelu_fast_ = 0;
};

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
  // third_ (8 us) beats its exact duplicate (9 us); second_ is a near duplicate of neither.
  EXPECT_TRUE(ids.count(third_));
  EXPECT_FALSE(ids.count(duplicate_));
  EXPECT_FALSE(ids.count(first_));          // incorrect: not in sft by default
  EXPECT_FALSE(ids.count(compile_error_));  // nor a compile error
  EXPECT_EQ(report["dedup"]["exact_duplicates"], 1);
  for (const json& record : records) {
    EXPECT_NE(record["prompt"].get<std::string>().find("class Model"), std::string::npos);
    EXPECT_NE(record["prompt"].get<std::string>().find("kforge:launch"), std::string::npos);
    EXPECT_NE(record["completion"].get<std::string>().find("__global__"), std::string::npos);
  }
  // License: the task's own where recorded, else the export's default.
  for (const json& record : records) {
    std::string expected = record["metadata"]["task"] == "kb1/19_ReLU" ? "MIT" : "unknown";
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
  EXPECT_EQ(ids, (std::set<int64_t>{third_, gelu_fast_}));

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
  // A correct twin of gelu_fast_ slower only within the timing spread: no pair; a clearly slower
  // one: a pair; an incorrect one: a pair; a `compiled` one (nothing ran): no pair.
  store_->candidate(gelu_, relu_candidate("out[i] = gelu_close(x[i]);"), {"llm"},
                    timed(5.05, 2.97, 0.02));
  int64_t slow = store_->candidate(gelu_, relu_candidate("out[i] = gelu_slow(x[i]) * 1.0f;"),
                                   {"llm"}, timed(9.0, 1.6, 0.02));
  int64_t wrong = store_->candidate(gelu_, relu_candidate("out[i] = 0.f;"), {"llm"},
                                    failed("incorrect", "mismatch"));
  store_->candidate(gelu_, relu_candidate("out[i] = gelu_untested(x[i]);"), {"llm"},
                    failed("compiled", "no GPU"));
  ExportOptions options;
  options.dedup = DedupMode::kExact;
  export_to("dpo", "dpo", options);
  std::set<int64_t> rejected;
  for (const json& record : all_records(dir_ / "dpo")) {
    if (record["metadata"]["task"] != "builtin/gelu")
      continue;
    EXPECT_EQ(record["metadata"]["chosen"]["candidate_id"], gelu_fast_);
    rejected.insert(record["metadata"]["rejected"]["candidate_id"].get<int64_t>());
  }
  EXPECT_EQ(rejected, (std::set<int64_t>{slow, wrong}));
}

TEST_F(ExportPipeline, DpoNeverPairsAcrossGpus) {
  EvaluationSpec other = failed("incorrect", "mismatch");
  other.gpu = "NVIDIA A100";
  store_->candidate(gelu_, relu_candidate("out[i] = 1.f;"), {"llm"}, other);
  export_to("dpo", "dpo");
  for (const json& record : all_records(dir_ / "dpo"))
    EXPECT_EQ(record["metadata"]["gpu"], "NVIDIA H100");
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
  EXPECT_NE(messages[3]["content"].get<std::string>().find("verdict: incorrect (mismatch)"),
            std::string::npos);
  EXPECT_EQ((*run)["turns"][1]["parent_id"], first_);
  EXPECT_EQ((*run)["best_speedup_eager"], 2.5);
  EXPECT_EQ((*run)["best_candidate_id"], third_);
  EXPECT_EQ((*run)["final_speedup_eager"], 2.5);
  EXPECT_EQ((*run)["model"], "model-a");
}

TEST_F(ExportPipeline, SplitsAreByTaskNeverByRow) {
  for (int i = 0; i < 40; ++i) {
    int64_t task = store_->task("gen/task_" + std::to_string(i), "x = " + std::to_string(i));
    for (int k = 0; k < 3; ++k) {
      store_->candidate(task, relu_candidate("out[i] = " + std::to_string(k * 1000 + i) + ";"),
                        {"seed"}, timed(10.0 + k, 1.0));
    }
  }
  ExportOptions options;
  options.dedup = DedupMode::kNone;
  export_to("archive", "splits", options);
  std::map<std::string, std::set<std::string>> splits_of_task;
  for (const char* split : {"train", "validation", "test"}) {
    for (const json& record : read_jsonl(dir_ / "splits" / (std::string(split) + ".jsonl")))
      splits_of_task[record["task"]].insert(split);
  }
  std::set<std::string> used;
  for (const auto& [task, splits] : splits_of_task) {
    EXPECT_EQ(splits.size(), 1u) << task;
    used.insert(*splits.begin());
  }
  EXPECT_EQ(used.size(), 3u);  // 42 tasks at 80/10/10 reach every split
}

TEST_F(ExportPipeline, ReExportsAreByteIdentical) {
  for (const char* format : {"archive", "sft", "dpo", "trajectories", "kernelbench"}) {
    export_to(format, std::string(format) + "_a");
    export_to(format, std::string(format) + "_b");
    for (const char* file : {"train.jsonl", "validation.jsonl", "test.jsonl", "README.md"}) {
      EXPECT_EQ(files::read(dir_ / (std::string(format) + "_a") / file),
                files::read(dir_ / (std::string(format) + "_b") / file))
          << format << "/" << file;
    }
  }
}

TEST_F(ExportPipeline, DecontaminationDropsOverlappingTasksAndSaysWhy) {
  std::filesystem::create_directories(dir_ / "KernelBench/level1");
  std::string copy = testing::relu_task_source("8192");
  // Renamed and reformatted: still the same problem.
  for (auto [from, to] :
       {std::pair{"forward(self, x)", "forward(self, inp)"},
        std::pair{"torch.relu(x)", "torch.relu( inp )"}, std::pair{"batch_size", "bs"}}) {
    copy.replace(copy.find(from), std::string(from).size(), to);
  }
  testing::write_text(dir_ / "KernelBench/level1/19_ReLU.py", copy);
  ExportOptions options;
  options.decontamination.benchmark_dirs = {dir_ / "KernelBench"};
  json report = export_to("archive", "clean", options);
  const json& dropped = report["decontamination"]["dropped_tasks"];
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0]["task"], "kb1/19_ReLU");
  EXPECT_EQ(dropped[0]["problem"], "KernelBench/level1/19_ReLU.py");
  EXPECT_EQ(dropped[0]["rows"], 5);
  for (const json& record : all_records(dir_ / "clean"))
    EXPECT_EQ(record["task"], "builtin/gelu");
  std::string card = files::read(dir_ / "clean" / "README.md");
  EXPECT_NE(card.find("| kb1/19_ReLU | KernelBench/level1/19_ReLU.py |"), std::string::npos);
}

TEST_F(ExportPipeline, CardAndStatsAgree) {
  json exported = export_to("archive", "card");
  ExportOptions options;
  json counted = run_export(store_->db(), options, std::nullopt);
  EXPECT_EQ(exported, counted);
  EXPECT_EQ(counted["rows"]["exported"], 6);
  EXPECT_EQ(counted["verdicts"]["correct"], 4);
  EXPECT_EQ(counted["verdicts"]["incorrect"], 1);
  EXPECT_EQ(counted["gpus"]["NVIDIA H100"], 6);
  EXPECT_EQ(counted["versions"]["torch"]["2.4.0"], 6);
  std::string card = files::read(dir_ / "card" / "README.md");
  EXPECT_NE(card.find("license: other"), std::string::npos);  // MIT and unknown rows
  EXPECT_NE(card.find("| correct | 4 |"), std::string::npos);
  EXPECT_NE(card.find("- split: validation"), std::string::npos);
}

TEST_F(ExportPipeline, ALaterEvaluationOnTheSameGpuSupersedesTheEarlier) {
  store_->evaluate(gelu_fast_, failed("incorrect", "non-deterministic"));
  ExportOptions options;
  json report = export_to("archive", "latest", options);
  int rows_of_candidate = 0;
  for (const json& record : all_records(dir_ / "latest")) {
    if (record["candidate_id"] == gelu_fast_) {
      ++rows_of_candidate;
      EXPECT_EQ(record["verdict"], "incorrect");
    }
  }
  EXPECT_EQ(rows_of_candidate, 1);
}

TEST_F(ExportPipeline, MalformedJsonFieldsAreReadAsAbsent) {
  EvaluationSpec odd = timed(4.0, 3.5);
  odd.timing = R"({"median_us": "fast", "cv": null})";
  odd.evidence = R"([1, 2, 3])";
  int64_t id = store_->candidate(gelu_, relu_candidate("out[i] = odd(x[i]);"), {"human"}, odd);
  export_to("archive", "odd");
  bool seen = false;
  for (const json& record : all_records(dir_ / "odd")) {
    EXPECT_TRUE(check_record("archive", record).empty());
    if (record["candidate_id"] == id) {
      seen = true;
      EXPECT_EQ(record["timing_median_us"], 4.0);  // falls back to device_time_us
      EXPECT_TRUE(record["timing_cv"].is_null());
      EXPECT_EQ(record["evidence"], json::object());
    }
  }
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace kforge::dataset

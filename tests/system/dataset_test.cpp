// The real kforge binary exporting from a real store file: every format, every line loaded by
// Python's json module, stats agreeing with the export, errors as one line with exit codes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/util/files.hpp"
#include "tests/support/export_store.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

using testing::run_kforge;

class DatasetCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::ExportStore store(dir_ / "kforge.db");
    int64_t relu = store.task("kb1/19_ReLU", testing::relu_task_source(), "kb1", "MIT");
    int64_t run = store.run("model-a");
    int64_t previous = 0;
    for (int i = 0; i < 6; ++i) {
      testing::EvaluationSpec spec;
      spec.verdict = i % 3 == 0 ? "incorrect" : "correct";
      spec.device_time_us = 20.0 - i;
      spec.speedup_eager = 1.0 + i * 0.2;
      spec.timing = nlohmann::json({{"median_us", 20.0 - i}, {"cv", 0.001}}).dump();
      testing::CandidateSpec candidate;
      candidate.run_id = run;
      candidate.iteration = i;
      if (previous)
        candidate.parent_id = previous;
      // Bodies distinct enough not to be near duplicates of each other (all with a non-ASCII
      // character and escapes that JSON must carry).
      std::string body = "const char* note = \"\u00e9\\t\";";
      for (int k = 0; k < 8; ++k)
        body += " float v" + std::to_string(k) + " = step_" + std::to_string(i) + "_" +
                std::to_string(k) + "(x[i]);";
      previous = store.candidate(relu, testing::relu_candidate(body), candidate, spec);
    }
    for (int t = 0; t < 12; ++t) {
      int64_t task = store.task("gen/op_" + std::to_string(t), "y = " + std::to_string(t));
      store.candidate(task, testing::relu_candidate("out[i] = op" + std::to_string(t) + "();"),
                      {"seed"});
    }
  }

  ProcessResult kforge(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), {"--db", (dir_ / "kforge.db").string()});
    return run_kforge(arguments, dir_.path());
  }

  testing::TemporaryDirectory dir_;
};

TEST_F(DatasetCommand, EveryFormatExportsLinesPythonLoads) {
  for (const char* format : {"sft", "messages", "trajectories", "dpo", "archive", "kernelbench"}) {
    std::string out = (dir_ / format).string();
    ProcessResult result = kforge({"dataset", "export", "--format", format, "--out", out});
    ASSERT_EQ(result.exit_code, 0) << format << ": " << result.standard_error;
    testing::write_text(dir_ / "load.py",
                        "import json, pathlib, sys\ncount = 0\n"
                        "for path in sorted(pathlib.Path(sys.argv[1]).glob('*.jsonl')):\n"
                        "    for line in path.read_text(encoding='utf-8').splitlines():\n"
                        "        json.loads(line)\n        count += 1\nprint(count)\n");
    ProcessSpec load;
    load.program = "/usr/bin/python3";
    load.arguments = {(dir_ / "load.py").string(), out};
    ProcessResult loaded = run_process(load);
    ASSERT_TRUE(loaded.succeeded()) << format << ": " << loaded.standard_error;
    EXPECT_GT(std::stoi(loaded.standard_output), 0) << format;
    EXPECT_TRUE(std::filesystem::exists(dir_ / format / "README.md")) << format;

    ProcessResult again = kforge({"dataset", "export", "--format", format, "--out", out + "2"});
    ASSERT_EQ(again.exit_code, 0) << again.standard_error;
    for (const char* file : {"train.jsonl", "validation.jsonl", "test.jsonl", "README.md"})
      EXPECT_EQ(files::read(dir_ / format / file),
                files::read(dir_ / (std::string(format) + "2") / file))
          << format << "/" << file;
  }
}

TEST_F(DatasetCommand, StatsPrintsTheExportsFiguresWithoutWriting) {
  ProcessResult exported = kforge(
      {"dataset", "export", "--format", "archive", "--out", (dir_ / "archive").string(), "--json"});
  ASSERT_EQ(exported.exit_code, 0) << exported.standard_error;
  ProcessResult stats = kforge({"dataset", "stats", "--format", "archive", "--json"});
  ASSERT_EQ(stats.exit_code, 0) << stats.standard_error;
  auto report = nlohmann::json::parse(stats.standard_output);
  EXPECT_EQ(report, nlohmann::json::parse(exported.standard_output));
  EXPECT_EQ(report["rows"]["exported"], 18);
  EXPECT_EQ(report["verdicts"]["incorrect"], 2);

  ProcessResult text = kforge({"dataset", "stats", "--verdict", "correct"});
  ASSERT_EQ(text.exit_code, 0) << text.standard_error;
  EXPECT_NE(text.standard_output.find("verdicts          {\"correct\":16}"), std::string::npos)
      << text.standard_output;
}

TEST_F(DatasetCommand, MistakesAreOneLineErrors) {
  ProcessResult format = kforge({"dataset", "export", "--format", "parquett", "--out", "x"});
  EXPECT_EQ(format.exit_code, 1);
  EXPECT_NE(format.standard_error.find("unknown format 'parquett'"), std::string::npos)
      << format.standard_error;
  EXPECT_NE(format.standard_error.find("(--format)"), std::string::npos);

  ProcessResult split = kforge({"dataset", "stats", "--split", "50,50"});
  EXPECT_EQ(split.exit_code, 1);
  EXPECT_NE(split.standard_error.find("--split"), std::string::npos);

  ProcessResult missing =
      run_kforge({"--db", (dir_ / "none.db").string(), "dataset", "stats"}, dir_.path());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.standard_error.find("no store"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "none.db"));

  ProcessResult no_out = kforge({"dataset", "export", "--format", "sft"});
  EXPECT_EQ(no_out.exit_code, 2);
}

}  // namespace
}  // namespace kforge

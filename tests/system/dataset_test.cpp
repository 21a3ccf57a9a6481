// The real kforge binary exporting from a real store file that `kforge eval` filled (with the
// emulated GPU worker, tests/support/emulated_gpu_worker.py, through KFORGE_GPU_WORKER, for the
// verdicts beyond `compiled`): every format, every line loaded by Python's json module and, in a
// virtual environment with Hugging Face `datasets` and TRL from PyPI, as their users load them;
// stats agreeing with the export; errors as one line with exit codes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "harness/util/files.hpp"
#include "harness/util/strings.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/test_cache.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;

// A candidate for kTinyReluTask whose kernel `name` picks the emulated worker's behaviour, with
// a comment holding a non-ASCII character, a tab and quotes that JSON must carry.
std::string candidate(const std::string& name, const std::string& body) {
  std::string source = testing::emulated_candidate(name);
  source.replace(source.find("  if (i < n) out[i]"), std::string::npos,
                 "  // note: \u00e9\t\"quoted\"\n  if (i < n) { " + body + " }\n}\n");
  return source;
}

class DatasetCommand : public ::testing::Test {
 protected:
  // kb1/tiny_relu: relu, fmax and slow_relu correct; unwritten and zero incorrect; one without
  // a GPU compiled; one that does not compile. kb5/tiny_relu and kb6/tiny_relu (the validation
  // and test splits): one compiled each.
  static void SetUpTestSuite() {
    workspace_ = new testing::TemporaryDirectory();
    const fs::path& dir = workspace_->path();
    fs::create_directories(dir / "problems");
    testing::write_text(dir / "problems/tiny_relu.py", testing::kTinyReluTask);
    testing::write_text(dir / "kforge.toml",
                        "python = \"/usr/bin/python3\"\n[verify]\nseeds = 2\n"
                        "[timing]\ninput_sets = 2\nwarmup = 1\nmin_samples = 4\nmax_samples = 4\n");
    // The same program as three tasks, whose names hash into the train, validation and test
    // splits at the default ratios (kb1: bucket 47, kb5: 89, kb6: 90).
    for (const char* suite : {"kb1", "kb5", "kb6"}) {
      ProcessResult imported = run_kforge({"tasks", "import", "problems", "--suite", suite}, dir);
      ASSERT_EQ(imported.exit_code, 0) << imported.standard_error;
    }
    const std::string worker =
        "/usr/bin/python3 " +
        (testing::source_dir() / "tests/support/emulated_gpu_worker.py").string();
    struct Eval {
      const char* file;
      std::string source;
      bool on_gpu;
      const char* task = "kb1/tiny_relu";
    };
    const Eval evals[] = {
        {"relu.cu", candidate("relu", "out[i] = x[i] > 0.0f ? x[i] : 0.0f;"), true},
        {"fmax.cu", candidate("relu", "out[i] = fmaxf(x[i], 0.0f);"), true},
        {"slow.cu", candidate("slow_relu", "out[i] = fmaxf(0.0f, x[i]) * 1.0f;"), true},
        {"unwritten.cu", candidate("unwritten", "out[i] = 0.0f;"), true},
        {"zero.cu", candidate("unwritten", "out[i] = x[i] * 0.0f;"), true},
        {"untested.cu", candidate("relu", "out[i] = copysignf(fmaxf(x[i], 0.0f), 1.0f);"), false},
        {"broken.cu", candidate("relu", "out[i] = ;"), false},
        {"relu.cu", candidate("relu", "out[i] = x[i] > 0.0f ? x[i] : 0.0f;"), false,
         "kb5/tiny_relu"},
        {"relu.cu", candidate("relu", "out[i] = x[i] > 0.0f ? x[i] : 0.0f;"), false,
         "kb6/tiny_relu"}};
    for (const Eval& eval : evals) {
      testing::write_text(dir / eval.file, eval.source);
      std::map<std::string, std::string> environment;
      if (eval.on_gpu)
        environment["KFORGE_GPU_WORKER"] = worker;
      ProcessResult result = run_kforge({"eval", eval.file, "--task", eval.task}, dir, environment);
      ASSERT_EQ(result.exit_code, 0) << eval.file << ": " << result.standard_error;
    }
  }
  static void TearDownTestSuite() { delete workspace_; }

  ProcessResult kforge(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), {"--db", (workspace_->path() / "kforge.db").string()});
    return run_kforge(arguments, dir_.path());
  }

  static testing::TemporaryDirectory* workspace_;
  testing::TemporaryDirectory dir_;
};

testing::TemporaryDirectory* DatasetCommand::workspace_ = nullptr;

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
  EXPECT_EQ(report["rows"]["exported"], 9);
  EXPECT_EQ(report["verdicts"]["correct"], 3);
  EXPECT_EQ(report["verdicts"]["incorrect"], 2);
  EXPECT_EQ(report["verdicts"]["compiled"], 3);
  EXPECT_EQ(report["verdicts"]["compile_error"], 1);

  ProcessResult text = kforge({"dataset", "stats", "--verdict", "correct"});
  ASSERT_EQ(text.exit_code, 0) << text.standard_error;
  EXPECT_NE(text.standard_output.find("verdicts          {\"correct\":3}"), std::string::npos)
      << text.standard_output;
}

// Regression (issue 12): the archive's flat resource columns were null on every row although
// the evaluator stored them per kernel under compile.kernels.
TEST_F(DatasetCommand, ArchiveRowsCarryTheCompiledKernelsResources) {
  std::string out = (dir_ / "archive").string();
  ProcessResult result = kforge({"dataset", "export", "--format", "archive", "--out", out});
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  int compiled = 0;
  for (const char* split : {"train", "validation", "test"}) {
    for (const std::string& line :
         strings::split(files::read(dir_ / "archive" / (std::string(split) + ".jsonl")), '\n')) {
      if (line.empty())
        continue;
      nlohmann::json row = nlohmann::json::parse(line);
      if (row["verdict"] == "compile_error") {
        EXPECT_TRUE(row["registers"].is_null());
        continue;
      }
      const nlohmann::json& kernel = row["compile"]["kernels"][0];
      ASSERT_TRUE(row["registers"].is_number())
          << "registers is " << row["registers"] << " where compile.kernels[0] has "
          << kernel["registers"];
      EXPECT_GT(row["registers"].get<int>(), 0);
      EXPECT_EQ(row["registers"], kernel["registers"]);
      EXPECT_EQ(row["spill_bytes"],
                kernel["spill_store_bytes"].get<int>() + kernel["spill_load_bytes"].get<int>());
      EXPECT_EQ(row["local_bytes"], kernel["local_bytes"]);
      EXPECT_EQ(row["shared_bytes"], 0);  // no shared memory: ptxas names none
      ++compiled;
    }
  }
  EXPECT_EQ(compiled, 8);
}

// Every format loaded with Hugging Face `datasets` as the dataset card and
// docs/dataset-formats.md say (load_dataset(DIR) and load_dataset("json", data_dir=DIR)), and the
// SFT, messages, trajectories and DPO files through TRL's dataset helpers
// (tests/system/hf_datasets/load_exports.py), in a virtual environment made from PyPI by
// tests/system/hf_datasets/make_venv.sh and kept in the test cache folder. Skips only when PyPI
// cannot be reached (and no venv is kept from an earlier run).
TEST_F(DatasetCommand, HuggingFaceDatasetsAndTrlLoadEveryFormat) {
  const fs::path scripts = testing::source_dir() / "tests/system/hf_datasets";
  ProcessResult venv =
      run_process({.program = scripts / "make_venv.sh",
                   .arguments = {(testing::test_cache_folder() / "hf-datasets-trl").string()},
                   .time_limit = std::chrono::minutes(20)});
  if (venv.exit_code == 77)
    GTEST_SKIP() << "PyPI cannot be reached to install datasets and TRL: " << venv.standard_error;
  ASSERT_TRUE(venv.succeeded()) << venv.describe_end() << "\n" << venv.standard_error;
  std::string output(strings::trim(venv.standard_output));
  const fs::path python =
      output.substr(output.rfind('\n') == std::string::npos ? 0 : output.rfind('\n') + 1);

  const fs::path exports = dir_ / "exports";
  for (const char* format : {"sft", "messages", "trajectories", "dpo", "archive", "kernelbench"}) {
    ProcessResult result =
        kforge({"dataset", "export", "--format", format, "--out", (exports / format).string()});
    ASSERT_EQ(result.exit_code, 0) << format << ": " << result.standard_error;
  }
  ProcessResult loaded =
      run_process({.program = python,
                   .arguments = {(scripts / "load_exports.py").string(), exports.string()},
                   // Nothing from the Hub: the datasets are local files, the tokenizer is built.
                   .environment_overrides = {{"HF_HOME", (dir_ / "hf-home").string()},
                                             {"HF_HUB_OFFLINE", "1"},
                                             {"HF_DATASETS_OFFLINE", "1"}},
                   .time_limit = std::chrono::minutes(5)});
  ASSERT_TRUE(loaded.succeeded()) << loaded.describe_end() << "\n"
                                  << loaded.standard_output << loaded.standard_error;
  nlohmann::json summary = nlohmann::json::parse(
      std::string(strings::trim(loaded.standard_output))
          .substr(std::string(strings::trim(loaded.standard_output)).rfind('\n') + 1));
  EXPECT_EQ(summary["archive"], 9) << loaded.standard_output;
  // Loaded by data_dir too where all three splits have rows.
  EXPECT_EQ(summary["loaded_by_data_dir"], nlohmann::json({"trajectories", "archive"}))
      << loaded.standard_output;
  EXPECT_GT(summary["dpo"].get<int>(), 0) << loaded.standard_output;
  EXPECT_GT(summary["sft"].get<int>(), 0) << loaded.standard_output;
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

// `kforge tasks` through the real binary, on real task files, a real store and a real Python
// with torch (/usr/bin/python3, or KFORGE_TEST_PYTHON).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "harness/util/files.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;
using testing::write_text;

std::string python() {
  const char* configured = std::getenv("KFORGE_TEST_PYTHON");
  return configured != nullptr ? configured : "/usr/bin/python3";
}

std::string task_file(const std::string& body, const std::string& sizes = "n = 4096\n") {
  return "import torch\nimport torch.nn as nn\n" + sizes +
         "class Model(nn.Module):\n    def forward(self, x):\n        return " + body +
         "\ndef get_inputs():\n    return [torch.randn(n, n)]\n"
         "def get_init_inputs():\n    return []\n";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Tasks, ListShowsTheBuiltinSuiteWithoutPython) {
  testing::TemporaryDirectory dir;
  // No Python is needed to list: built-ins are recorded, and analysed when first shown.
  ProcessResult result =
      run_kforge({"--python", "/nonexistent/python", "tasks", "list", "--json"}, dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  auto rows = nlohmann::json::parse(result.standard_output);
  ASSERT_GE(rows.size(), 16u);
  for (const auto& row : rows) {
    EXPECT_EQ(row["suite"], "builtin");
    EXPECT_TRUE(row["name"].get<std::string>().starts_with("builtin/"));
    EXPECT_FALSE(row["description"].get<std::string>().empty()) << row["name"];
    EXPECT_FALSE(row["tags"].empty()) << row["name"];
    EXPECT_EQ(row["version"], 1);
  }
  ProcessResult other = run_kforge({"tasks", "list", "--suite", "kb", "--json"}, dir.path());
  ASSERT_EQ(other.exit_code, 0);
  EXPECT_TRUE(nlohmann::json::parse(other.standard_output).empty());
}

TEST(Tasks, ShowAnalysesABuiltinOnceAndSaysWhatWasScaled) {
  testing::TemporaryDirectory dir;
  ProcessResult result =
      run_kforge({"--python", python(), "tasks", "show", "builtin/softmax", "--json"}, dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  auto task = nlohmann::json::parse(result.standard_output);
  EXPECT_EQ(task["benchmark"]["signature"]["inputs"][0]["shape"],
            nlohmann::json::array({1024, 16384}));
  ASSERT_EQ(task["check_shapes"].size(), 2u);
  EXPECT_EQ(task["check_shapes"][1]["name"], "odd");
  int64_t odd = task["check_shapes"][1]["scaled"]["dim"][1];
  EXPECT_NE(odd % 32, 0);
  EXPECT_EQ(task["check_shapes"][1]["scaled"]["dim"][0], 16384);
  EXPECT_TRUE(contains(task["source"], "torch.softmax"));
  EXPECT_EQ(task["degenerate"], false);

  ProcessResult human = run_kforge({"tasks", "show", "builtin/softmax"}, dir.path());
  ASSERT_EQ(human.exit_code, 0) << human.standard_error;
  EXPECT_TRUE(contains(human.standard_output, "check shape 'odd': batch_size 1024 -> "))
      << human.standard_output;
  // Recorded in the store: the second show did not need Python.
  EXPECT_FALSE(contains(human.standard_error, "analysing"));
}

TEST(Tasks, ShowUnknownTaskSuggestsANeighbour) {
  testing::TemporaryDirectory dir;
  ProcessResult result = run_kforge({"tasks", "show", "builtin/sofmax"}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.standard_error, "unknown task 'builtin/sofmax'"))
      << result.standard_error;
  EXPECT_TRUE(contains(result.standard_error, "did you mean 'builtin/softmax'"));
}

TEST(Tasks, ImportReportsEachFileAndIsIdempotentAndVersioned) {
  testing::TemporaryDirectory dir;
  fs::path problems = dir / "problems";
  fs::create_directories(problems);
  fs::create_directories(dir / "ws");
  write_text(problems / "good.py", task_file("torch.tanh(x)"));
  write_text(problems / "zero.py", task_file("x * 0.0"));
  write_text(problems / "syntax.py", "import torch\ndef get_inputs(:\n");
  write_text(problems / "raises.py",
             task_file("torch.tanh(x)") + "def get_inputs():\n    raise KeyError('nope')\n");
  write_text(problems / "no_inputs.py",
             "import torch.nn as nn\nclass Model(nn.Module):\n    pass\n"
             "def get_init_inputs():\n    return []\n");

  std::vector<std::string> import = {"--python", python(), "--workspace",     (dir / "ws").string(),
                                     "tasks",    "import", problems.string(), "--suite",
                                     "kb"};
  ProcessResult first = run_kforge(import, dir.path());
  EXPECT_EQ(first.exit_code, 1) << first.standard_error;  // some files failed
  const std::string& out = first.standard_output;
  EXPECT_TRUE(contains(out, "imported kb/good v1\n")) << out;
  EXPECT_TRUE(contains(out, "imported kb/zero v1 [degenerate: the output is (near) zero")) << out;
  EXPECT_TRUE(contains(out, "failed kb/syntax (")) << out;
  EXPECT_TRUE(contains(out, "syntax.py:2:")) << out;
  EXPECT_TRUE(contains(out, "failed kb/raises (")) << out;
  EXPECT_TRUE(contains(out, "get_inputs() raised KeyError: 'nope'")) << out;
  EXPECT_TRUE(contains(out, "failed kb/no_inputs (")) << out;
  EXPECT_TRUE(contains(out, "does not define get_inputs")) << out;
  EXPECT_TRUE(contains(out, "5 files: 3 failed")) << out;
  EXPECT_TRUE(contains(first.standard_error, "] imported kb/good v1"));  // progress lines

  // Without the broken files, importing again changes nothing and needs no Python.
  fs::remove(problems / "syntax.py");
  fs::remove(problems / "raises.py");
  fs::remove(problems / "no_inputs.py");
  std::vector<std::string> again = import;
  again[1] = "/nonexistent/python";
  again.push_back("--json");
  ProcessResult second = run_kforge(again, dir.path());
  ASSERT_EQ(second.exit_code, 0) << second.standard_error;
  auto rows = nlohmann::json::parse(second.standard_output);
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& row : rows) {
    EXPECT_EQ(row["status"], "unchanged");
    EXPECT_EQ(row["version"], 1);
  }
  EXPECT_EQ(rows[1]["degenerate"], true);

  // A changed file becomes version 2; version 1 stays.
  write_text(problems / "good.py", task_file("torch.tanh(x) * 2.0"));
  ProcessResult third = run_kforge(import, dir.path());
  ASSERT_EQ(third.exit_code, 0) << third.standard_error;
  EXPECT_TRUE(contains(third.standard_output, "new version kb/good v2")) << third.standard_output;
  EXPECT_TRUE(contains(third.standard_output, "unchanged kb/zero v1"));
  ProcessResult list =
      run_kforge({"--workspace", (dir / "ws").string(), "tasks", "list", "--suite", "kb", "--json"},
                 dir.path());
  ASSERT_EQ(list.exit_code, 0) << list.standard_error;
  auto tasks = nlohmann::json::parse(list.standard_output);
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0]["name"], "kb/good");
  EXPECT_EQ(tasks[0]["version"], 2);
  EXPECT_EQ(tasks[1]["degenerate"], true);
}

TEST(Tasks, ImportWithMissingPythonNamesIt) {
  testing::TemporaryDirectory dir;
  fs::create_directories(dir / "problems");
  write_text(dir / "problems" / "a.py", task_file("torch.tanh(x)"));
  ProcessResult result = run_kforge(
      {"--python", "/nonexistent/python3", "tasks", "import", "problems", "--suite", "kb"},
      dir.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.standard_error,
                       "kforge: error: no Python with torch found; tried /nonexistent/python3: "
                       "not found"))
      << result.standard_error;
}

TEST(Tasks, ImportWithPythonWithoutTorchSaysSo) {
  testing::TemporaryDirectory dir;
  fs::create_directories(dir / "problems");
  write_text(dir / "problems" / "a.py", task_file("torch.tanh(x)"));
  fs::path fake = dir / "python-without-torch";
  write_text(fake,
             "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n");
  fs::permissions(fake, fs::perms::owner_all);
  ProcessResult result = run_kforge(
      {"--python", fake.string(), "tasks", "import", "problems", "--suite", "kb"}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.standard_error, "cannot import torch")) << result.standard_error;
  EXPECT_TRUE(contains(result.standard_error, "No module named 'torch'"));
}

TEST(Tasks, ImportRefusesBadSuiteAndMissingFolder) {
  testing::TemporaryDirectory dir;
  ProcessResult missing = run_kforge({"tasks", "import", "nowhere", "--suite", "kb"}, dir.path());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.standard_error, "no such folder (nowhere)"))
      << missing.standard_error;
  ProcessResult reserved = run_kforge({"tasks", "import", ".", "--suite", "builtin"}, dir.path());
  EXPECT_EQ(reserved.exit_code, 1);
  EXPECT_TRUE(contains(reserved.standard_error, "reserved")) << reserved.standard_error;
}

TEST(Tasks, CorruptStoreIsAOneLineError) {
  testing::TemporaryDirectory dir;
  write_text(dir / "kforge.db", std::string(4096, 'x'));
  ProcessResult result = run_kforge({"tasks", "list"}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.standard_error, "kforge: error: not a kforge store"))
      << result.standard_error;
  EXPECT_TRUE(contains(result.standard_error, "kforge.db"));
}

TEST(Tasks, StoreFromANewerKforgeIsRefused) {
  testing::TemporaryDirectory dir;
  ASSERT_EQ(run_kforge({"tasks", "list", "--json"}, dir.path()).exit_code, 0);
  // PRAGMA user_version lives in bytes 60-63 of the database header, big-endian.
  {
    std::fstream file(dir / "kforge.db", std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(60);
    const char version[4] = {0, 0, 0x03, static_cast<char>(0xE7)};  // 999
    file.write(version, 4);
  }
  ProcessResult result = run_kforge({"tasks", "list"}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(contains(result.standard_error, "schema version 999")) << result.standard_error;
}

}  // namespace
}  // namespace kforge

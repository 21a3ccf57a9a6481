// The adversarial catalogue (tests/adversarial/catalogue.json): hostile candidates, each with
// the verdict it must get, and honest ones that must get `correct`.
// On every machine (no GPU needed):
// - the catalogue is well formed and large enough (at least 20 hostile and 10 honest entries),
//   and every candidate file in tests/adversarial/ is in it;
// - every entry goes through the real evaluation pipeline (the Evaluator `kforge eval` uses:
//   parse, NVRTC compile in the compile sandbox for sm_90, bind at the benchmark and every check
//   shape). Entries whose verdict is decided before a GPU (compile_error, plan_error) must get
//   exactly it; every other entry must compile and bind at every shape, ending as `compiled`.
// Where a GPU is visible (otherwise skipped, saying so), every entry is evaluated by the real
// binary, `kforge eval --json`, in a fresh workspace, and its verdict must be the catalogue's
// (the reason too where the entry is `strict`); a table of entry, expected and got is printed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "harness/candidate/plan_validation.hpp"
#include "harness/environment.hpp"
#include "harness/evaluation/evaluator.hpp"
#include "harness/task_import.hpp"
#include "harness/util/files.hpp"
#include "harness/verdict.hpp"
#include "harness/workspace.hpp"
#include "sandbox/compile_pool.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {

namespace {

namespace fs = std::filesystem;

struct CatalogueEntry {
  std::string file;  // relative to tests/adversarial/
  std::string task;  // builtin/<name>
  std::string verdict;
  std::string reason;
  bool strict = false;
  std::vector<std::string> alternative_verdicts;
  std::string attack;

  bool honest() const { return verdict == "correct"; }
  // Decided before anything runs, so the CPU pipeline must reach it too.
  bool decided_before_gpu() const { return verdict == "compile_error" || verdict == "plan_error"; }
  bool accepts(const std::string& got) const {
    return got == verdict || std::find(alternative_verdicts.begin(), alternative_verdicts.end(),
                                       got) != alternative_verdicts.end();
  }
};

// Failure messages name the entry, not its bytes.
void PrintTo(const CatalogueEntry& entry, std::ostream* out) {
  *out << entry.file << " (" << entry.task << ")";
}

fs::path catalogue_dir() {
  return testing::source_dir() / "tests/adversarial";
}

// Reads the catalogue and returns the entries that could be read. With `report`, what is wrong
// (a missing file, a malformed entry, naming it and the key) is a test failure; without, as when
// the parameterised tests are registered before any test runs, it is passed over quietly.
std::vector<CatalogueEntry> read_catalogue(bool report = true) {
  std::vector<CatalogueEntry> entries;
  const fs::path path = catalogue_dir() / "catalogue.json";
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(files::read(path));
  } catch (const std::exception& error) {
    if (report)
      ADD_FAILURE() << path << ": " << error.what();
    return entries;
  }
  if (!document.contains("entries") || !document["entries"].is_array()) {
    if (report)
      ADD_FAILURE() << path << ": needs an \"entries\" array";
    return entries;
  }
  for (size_t i = 0; i < document["entries"].size(); ++i) {
    const nlohmann::json& item = document["entries"][i];
    const std::string where = path.string() + ": entries[" + std::to_string(i) + "]";
    try {
      CatalogueEntry entry;
      entry.file = item.at("file").get<std::string>();
      entry.task = item.at("task").get<std::string>();
      entry.verdict = item.at("verdict").get<std::string>();
      entry.reason = item.at("reason").get<std::string>();
      entry.strict = item.at("strict").get<bool>();
      entry.attack = item.at("attack").get<std::string>();
      if (item.contains("alternative_verdicts"))
        entry.alternative_verdicts = item["alternative_verdicts"].get<std::vector<std::string>>();
      entries.push_back(entry);
    } catch (const std::exception& error) {
      if (report)
        ADD_FAILURE() << where << ": " << error.what();
    }
  }
  return entries;
}

// "hostile/cache_by_pointer.cu" -> "hostile_cache_by_pointer": a test name.
std::string entry_name(const CatalogueEntry& entry) {
  std::string name = fs::path(entry.file).replace_extension().string();
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
  return name;
}

// KFORGE_TEST_PYTHON picks the interpreter; otherwise the runner finds one that imports torch
// (on this machine /usr/bin/python3, on a device the python3 on PATH).
std::optional<std::string> test_python() {
  const char* configured = std::getenv("KFORGE_TEST_PYTHON");
  if (configured && *configured)
    return configured;
  return std::nullopt;
}

// A workspace whose reference-runner cache is shared by every test process on this machine
// (the runner keys replies by its script, the task source and the request), so each built-in
// task is analysed once, not once per entry. The store and the compile cache are its own.
void share_reference_cache(const fs::path& workspace_root, const std::string& cache_name) {
  const fs::path shared = fs::temp_directory_path() / cache_name;
  files::ensure_directory(shared);
  files::ensure_directory(workspace_root / ".kforge");
  fs::create_directory_symlink(shared, workspace_root / ".kforge" / "reference");
}

TEST(AdversarialCatalogue, HasEnoughHostileAndHonestEntriesEachWellFormed) {
  const std::vector<CatalogueEntry> entries = read_catalogue();
  size_t hostile = 0;
  size_t honest = 0;
  std::set<std::string> files_seen;
  for (const CatalogueEntry& entry : entries) {
    const std::string what = entry.file + " (" + entry.task + ")";
    EXPECT_TRUE(files_seen.insert(entry.file).second) << what << ": listed twice";
    EXPECT_TRUE(fs::is_regular_file(catalogue_dir() / entry.file)) << what << ": no such file";
    EXPECT_EQ(entry.task.rfind("builtin/", 0), 0u) << what << ": tasks are built-in";
    EXPECT_TRUE(fs::is_regular_file(testing::source_dir() / "datasets/suites/builtin" /
                                    (entry.task.substr(entry.task.find('/') + 1) + ".py")))
        << what << ": no such built-in task";
    const std::optional<Verdict> verdict = verdict_from_name(entry.verdict);
    EXPECT_TRUE(verdict && *verdict != Verdict::kCompiled)
        << what << ": '" << entry.verdict << "' is not a verdict a GPU run can give";
    for (const std::string& alternative : entry.alternative_verdicts)
      EXPECT_TRUE(verdict_from_name(alternative)) << what << ": '" << alternative << "'";
    EXPECT_FALSE(entry.attack.empty()) << what << ": says nothing about the attack";
    if (entry.honest()) {
      ++honest;
      EXPECT_EQ(entry.file.rfind("honest/", 0), 0u) << what << ": honest kernels live in honest/";
      EXPECT_TRUE(entry.alternative_verdicts.empty()) << what << ": an honest kernel is correct";
    } else {
      ++hostile;
      EXPECT_EQ(entry.file.rfind("hostile/", 0), 0u) << what << ": hostile ones in hostile/";
      EXPECT_TRUE(!entry.strict || !entry.reason.empty()) << what << ": strict needs a reason";
    }
  }
  EXPECT_GE(hostile, 20u);
  EXPECT_GE(honest, 10u);

  // Every candidate file in the folder is catalogued: none is left without a verdict.
  for (const auto& item : fs::recursive_directory_iterator(catalogue_dir())) {
    if (item.path().extension() != ".cu")
      continue;
    const std::string relative = fs::relative(item.path(), catalogue_dir()).string();
    EXPECT_TRUE(files_seen.count(relative)) << relative << " is not in catalogue.json";
  }
}

class AdversarialCatalogueEntry : public ::testing::TestWithParam<CatalogueEntry> {};

// The CPU half of the pipeline, for real: the Evaluator that `kforge eval` runs, with a real
// store, the sandboxed compile pool (the kforge binary as its worker) and the reference
// runner's analysis of the task. Nothing runs a kernel here.
TEST_P(AdversarialCatalogueEntry, CompilesAndBindsOrFailsBeforeTheGpuAsCatalogued) {
  const CatalogueEntry& entry = GetParam();
  testing::TemporaryDirectory directory;
  share_reference_cache(directory.path(), "kforge-adversarial-reference-cache");
  Workspace workspace(WorkspaceOptions{.root = directory.path()});
  if (const std::optional<std::string> python = test_python())
    workspace.config().set("python", *python);
  const Task task = load_task(workspace, entry.task);

  CompilePoolOptions pool_options;
  pool_options.workers = 1;
  pool_options.cache_dir = workspace.cache_dir("compile");
  pool_options.worker_program = testing::kforge_binary();
  CompilePool pool(pool_options);

  EvaluatorOptions options;
  options.arch = "sm_90";
  options.limits = Limits::from_config(workspace.config());
  Evaluator evaluator(workspace.store(), pool, options);
  const EvaluationOutcome outcome = evaluator.evaluate(
      task, EvaluationRequest{.source = files::read(catalogue_dir() / entry.file),
                              .file_name = fs::path(entry.file).filename().string()});
  const std::string got(verdict_name(outcome.verdict));

  if (entry.decided_before_gpu()) {
    EXPECT_EQ(got, entry.verdict) << entry.file << ": " << outcome.reason << ": " << outcome.detail;
    if (entry.strict) {
      EXPECT_EQ(outcome.reason, entry.reason) << entry.file << ": " << outcome.detail;
    }
  } else {
    // Everything else must reach the GPU: compiled for sm_90 and bound at every shape.
    EXPECT_EQ(got, "compiled") << entry.file
                               << " must compile and bind at every shape: " << outcome.reason
                               << ": " << outcome.detail;
    if (outcome.compile && !outcome.compile->ok())
      ADD_FAILURE() << outcome.compile->log;
    const size_t shapes = 1 + task.analysis->check_shapes.size();
    EXPECT_EQ(outcome.evidence.bindings.value_or(nlohmann::json::object()).size(), shapes)
        << entry.file << ": bound at fewer shapes than the task has";
  }
}

std::string parameter_name(const ::testing::TestParamInfo<CatalogueEntry>& info) {
  return entry_name(info.param);
}

INSTANTIATE_TEST_SUITE_P(Catalogue, AdversarialCatalogueEntry,
                         ::testing::ValuesIn(read_catalogue(false)), parameter_name);

// The GPU half: each entry through the real binary on the GPU. Rows for the table printed when
// the suite ends.
struct GpuRow {
  std::string entry;
  std::string expected;
  std::string got;
  bool passed = false;
};

class AdversarialCatalogueOnGpu : public ::testing::TestWithParam<CatalogueEntry> {
 protected:
  static void SetUpTestSuite() { rows_ = new std::vector<GpuRow>(); }
  static void TearDownTestSuite() {
    if (!rows_->empty()) {
      std::printf("\n%-48s %-34s %-34s %s\n", "entry", "expected", "got", "");
      for (const GpuRow& row : *rows_) {
        std::printf("%-48s %-34s %-34s %s\n", row.entry.c_str(), row.expected.c_str(),
                    row.got.c_str(), row.passed ? "ok" : "FAIL");
      }
    }
    delete rows_;
    rows_ = nullptr;
  }
  static std::vector<GpuRow>* rows_;
};

std::vector<GpuRow>* AdversarialCatalogueOnGpu::rows_ = nullptr;

TEST_P(AdversarialCatalogueOnGpu, GetsItsVerdictFromKforgeEval) {
  std::vector<GpuInfo> gpus;
  probe_cuda_driver(&gpus);
  if (gpus.empty())
    GTEST_SKIP() << "no GPU visible (libcuda found no device): the catalogue's verdicts are "
                    "checked only on a GPU machine";
  const CatalogueEntry& entry = GetParam();
  testing::TemporaryDirectory directory;
  share_reference_cache(directory.path(), "kforge-adversarial-gpu-reference-cache");
  const ProcessResult result = testing::run_kforge(
      {"eval", "--json", (catalogue_dir() / entry.file).string(), "--task", entry.task},
      directory.path(), {}, 600);

  GpuRow row{.entry = entry_name(entry),
             .expected = entry.verdict + (entry.strict ? " (" + entry.reason + ")" : "")};
  nlohmann::json report;
  try {
    report = nlohmann::json::parse(result.standard_output);
  } catch (const std::exception&) {
    row.got = result.describe_end() + ", no JSON";
    rows_->push_back(row);
    FAIL() << entry.file << ": kforge eval: " << result.describe_end() << ":\n"
           << result.standard_output << result.standard_error;
  }
  const std::string verdict = report.value("verdict", "");
  const std::string reason = report.value("reason", "");
  row.got = verdict + " (" + reason + ")";
  row.passed = entry.accepts(verdict) && (!entry.strict || reason == entry.reason);
  rows_->push_back(row);
  EXPECT_TRUE(entry.accepts(verdict))
      << entry.file << " (" << entry.attack << "): expected " << entry.verdict << ", got "
      << verdict << " (" << reason << "): " << report.value("detail", "");
  if (entry.strict && verdict == entry.verdict) {
    EXPECT_EQ(reason, entry.reason) << entry.file << ": " << report.value("detail", "");
  }
}

INSTANTIATE_TEST_SUITE_P(Catalogue, AdversarialCatalogueOnGpu,
                         ::testing::ValuesIn(read_catalogue(false)), parameter_name);

}  // namespace
}  // namespace kforge

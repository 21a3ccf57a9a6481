// Every kernel file kforge ships, the seeds in kernels/seeds/<task>/<variant>/ and promoted
// kernels in kernels/<task>/<variant>/, is checked the way the pipeline would check a
// candidate, short of running it (no GPU is needed; nothing here runs a kernel):
// - it parses with kforge's candidate parser;
// - it compiles with NVRTC through the compile sandbox's compiler (source policy included) for
//   sm_80, sm_90 and sm_100, at its defines' defaults and at a non-default setting, without
//   register spills at the defaults;
// - its plan binds to its built-in task's signature (from the real reference runner) at the
//   benchmark shape and every check shape: names, argument types, grid and block limits.
// - it declares a meaningful search space: constraints that exclude part of its defines'
//   product, defaults that satisfy them at every shape, and valid points that compile (all of a
//   small space, a seeded sample of a larger one).
// This is the CI compile check: a shipped kernel that stops compiling or binding fails here.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>

#include "harness/autotune/define_space.hpp"
#include "harness/candidate/candidate_file.hpp"
#include "harness/candidate/plan_validation.hpp"
#include "harness/library/manifest.hpp"
#include "harness/reference_runner.hpp"
#include "harness/tuning/strategy.hpp"
#include "harness/util/files.hpp"
#include "harness/util/hash.hpp"
#include "kforge/kernels/library.hpp"
#include "sandbox/nvrtc_api.hpp"
#include "sandbox/nvrtc_compiler.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::kernels {

// Test names and failure messages show the kernel's path, not its bytes.
void PrintTo(const ShippedKernel& kernel, std::ostream* out) {
  *out << kernel.source.string();
}

namespace {

namespace fs = std::filesystem;

const fs::path kKernels = fs::path(KFORGE_SOURCE_DIR) / "kernels";
const fs::path kSeeds = kKernels / "seeds";
const fs::path kBuiltinTasks = fs::path(KFORGE_SOURCE_DIR) / "datasets/suites/builtin";
const std::vector<std::string> kArchitectures = {"sm_80", "sm_90", "sm_100"};

bool is_seed(const ShippedKernel& kernel) {
  return kernel.seed;
}

// Promoted kernels and seeds (Library::scan finds both, seeds under kernels/seeds/).
std::vector<ShippedKernel> shipped_kernels() {
  return Library::scan(kKernels).kernels();
}

// The first value other than the default for every define, all at once: a second point of the
// search space, so that a kernel whose non-default settings do not compile is caught.
std::map<std::string, int64_t> non_default(const LaunchPlan& plan) {
  std::map<std::string, int64_t> values;
  for (const DefineSpec& define : plan.defines)
    for (int64_t value : define.values)
      if (value != define.default_value) {
        values[define.name] = value;
        break;
      }
  return values;
}

std::map<std::string, std::string> as_strings(const std::map<std::string, int64_t>& values) {
  std::map<std::string, std::string> strings;
  for (const auto& [name, value] : values)
    strings[name] = std::to_string(value);
  return strings;
}

// The reference runner's analysis (signature at the benchmark and check shapes) of one built-in
// task, or nullopt when it could not analyse it. ctest runs each test in its own process, so
// the runner's reply cache (keyed by the script, the task source and the request) lives in one
// folder shared by those processes, and a task is analysed once per machine, not per test.
std::optional<TaskAnalysis> analyse_task(const std::string& task, const fs::path& file) {
  ReferenceRunnerOptions options;
  const char* python = std::getenv("KFORGE_TEST_PYTHON");
  options.python = python ? python : "/usr/bin/python3";
  options.jobs = 1;
  options.cache_dir = fs::temp_directory_path() / "kforge-shipped-kernels-reference-cache";
  ReferenceRunner runner(options);
  const std::vector<AnalysisOutcome> outcomes =
      runner.analyze({TaskSource{task, files::read(file), file.string()}});
  if (const auto* analysis = std::get_if<TaskAnalysis>(&outcomes.at(0)))
    return *analysis;
  ADD_FAILURE() << std::get<ReferenceFailure>(outcomes.at(0)).describe();
  return std::nullopt;
}

class ShippedKernelFile : public ::testing::TestWithParam<ShippedKernel> {
 protected:
  CandidateFile parse() {
    PlanResult<CandidateFile> parsed = read_candidate(GetParam().source);
    if (!parsed.ok())
      ADD_FAILURE() << parsed.error().message();
    return std::move(parsed).value();
  }

  CompileResult compile(const CandidateFile& candidate, const std::string& arch,
                        const std::map<std::string, int64_t>& defines) {
    CompileRequest request;
    request.source = candidate.source();
    request.name = GetParam().source.string();
    request.arch = arch;
    request.defines = as_strings(defines);
    NvrtcCompileSettings settings;
    settings.output_dir = output_.path() / (arch + "_" + std::to_string(compiles_++));
    settings.include_roots = cuda_include_roots();
    files::ensure_directory(settings.output_dir);
    return compile_with_nvrtc(request, settings);
  }

  testing::TemporaryDirectory output_;
  int compiles_ = 0;
};

TEST_P(ShippedKernelFile, CompilesForEveryArchitectureAtDefaultAndNonDefaultDefines) {
  const CandidateFile candidate = parse();
  const std::map<std::string, int64_t> defaults = choose_define_values(candidate.plan);
  const std::map<std::string, int64_t> other = non_default(candidate.plan);
  ASSERT_FALSE(other.empty()) << GetParam().source << ": declares no define a search could vary";

  for (const std::string& arch : kArchitectures) {
    for (const auto& defines : {defaults, other}) {
      std::string described;
      for (const auto& [name, value] : defines)
        described += " " + name + "=" + std::to_string(value);
      const CompileResult result = compile(candidate, arch, defines);
      ASSERT_TRUE(result.ok()) << GetParam().source << " for " << arch << " with" << described
                               << ": " << compile_status_name(result.status) << ": "
                               << result.detail << "\n"
                               << result.log;
      // Every kernel the plan launches is compiled, and at the defaults none spills registers.
      for (const KernelLaunch& launch : candidate.plan.kernels) {
        const auto compiled =
            std::find_if(result.kernels.begin(), result.kernels.end(),
                         [&](const KernelResources& k) { return k.name == launch.name; });
        ASSERT_NE(compiled, result.kernels.end())
            << GetParam().source << ": the plan launches '" << launch.name
            << "', which the compile did not produce (" << arch << ")";
        if (defines == defaults) {
          EXPECT_LE(compiled->spill_store_bytes, 0)
              << GetParam().source << ": '" << launch.name << "' spills registers on " << arch;
        }
      }
    }
  }
}

TEST_P(ShippedKernelFile, BindsToItsTaskAtEveryShape) {
  const fs::path task_file = kBuiltinTasks / (GetParam().task + ".py");
  ASSERT_TRUE(fs::exists(task_file)) << GetParam().task << " is not a built-in task";
  const std::optional<TaskAnalysis> analysis = analyse_task(GetParam().task, task_file);
  ASSERT_TRUE(analysis) << "the reference runner could not analyse " << task_file;

  const CandidateFile candidate = parse();
  const std::map<std::string, int64_t> defines = choose_define_values(candidate.plan);
  const CompileResult compiled = compile(candidate, "sm_90", defines);
  ASSERT_TRUE(compiled.ok()) << compiled.log;
  const std::string ptx = files::read(compiled.ptx_path);

  std::vector<std::pair<std::string, const Signature*>> shapes = {
      {"benchmark", &analysis->benchmark}};
  for (const CheckShape& shape : analysis->check_shapes)
    shapes.push_back({shape.name, &shape.signature});
  for (const auto& [name, signature] : shapes) {
    const PlanResult<ResolvedPlan> bound = bind_candidate(candidate, ptx, *signature, defines);
    EXPECT_TRUE(bound.ok()) << GetParam().source << " at the " << name
                            << " shape: " << (bound.ok() ? "" : bound.error().message());
  }
}

// The space a search of this kernel gets (`kforge tune`, `kforge library tune`): its defines'
// values and constraints, checked at every shape of its task as the tuner checks them. The
// constraints must exclude something (they are the kernel's own rules: a block of whole warps
// and within the device's limits, tiles that divide each other, shared memory within 48 KiB,
// work a thread that keeps its registers), the defaults must satisfy them, and the points they
// leave must compile for sm_90: every point of a space of at most kCompileAll points, else
// kSampled points drawn with a fixed seed (each compile costs NVRTC a fraction of a second).
TEST_P(ShippedKernelFile, DeclaresAMeaningfulSpaceWhosePointsCompile) {
  constexpr size_t kCompileAll = 8, kSampled = 4;
  const fs::path task_file = kBuiltinTasks / (GetParam().task + ".py");
  const std::optional<TaskAnalysis> analysis = analyse_task(GetParam().task, task_file);
  ASSERT_TRUE(analysis);
  Task task;
  task.name = "builtin/" + GetParam().task;
  task.analysis = *analysis;
  const CandidateFile candidate = parse();
  ASSERT_FALSE(candidate.plan.constraints.empty())
      << GetParam().source << ": declares no constraints over its defines";

  const tuning::ConstrainedSpace space = autotune::define_space(candidate, task);
  const tuning::TuningSpace valid = space.materialise(100000, 0);
  ASSERT_GT(valid.size(), 0u) << GetParam().source << ": no point satisfies the constraints";
  EXPECT_LT(valid.size(), space.product_size())
      << GetParam().source << ": the constraints exclude nothing of the " << space.product_size()
      << " points";

  // The defaults are a valid point.
  const std::map<std::string, int64_t> defaults = choose_define_values(candidate.plan);
  tuning::Point default_point;
  for (const tuning::Parameter& parameter : space.parameters()) {
    const auto at = std::find(parameter.values.begin(), parameter.values.end(),
                              nlohmann::json(defaults.at(parameter.name)));
    default_point.push_back(static_cast<uint32_t>(at - parameter.values.begin()));
  }
  EXPECT_TRUE(space.valid(default_point))
      << GetParam().source << ": its defaults break its constraints";

  std::vector<tuning::PointId> chosen;
  if (valid.size() <= kCompileAll) {
    for (tuning::PointId id = 0; id < valid.size(); ++id)
      chosen.push_back(id);
  } else {
    tuning::Random random(7);
    while (chosen.size() < kSampled) {
      const tuning::PointId id = random.below(valid.size());
      if (std::find(chosen.begin(), chosen.end(), id) == chosen.end())
        chosen.push_back(id);
    }
  }
  for (tuning::PointId id : chosen) {
    const std::map<std::string, int64_t> defines = autotune::define_values(valid, id);
    const CompileResult result = compile(candidate, "sm_90", defines);
    EXPECT_TRUE(result.ok()) << GetParam().source << " at " << valid.describe(id).dump() << ": "
                             << compile_status_name(result.status) << ": " << result.detail << "\n"
                             << result.log;
  }
}

// Every kernel ships with a manifest that agrees with its file and with its task as the task is
// today: signature (from the real reference runner), task and kernel source hashes, plan,
// declared parameters, define values. A task whose signature changed fails here until the
// kernel is verified again. KFORGE_WRITE_SEED_MANIFESTS=1 (re)writes the seeds' manifests
// (nothing verified, no numbers) instead of checking them.
TEST_P(ShippedKernelFile, ManifestMatchesItsTaskAndFile) {
  const fs::path manifest_path = GetParam().source.parent_path() / "manifest.json";
  const fs::path task_file = kBuiltinTasks / (GetParam().task + ".py");
  ASSERT_TRUE(fs::exists(task_file)) << GetParam().task << " is not a built-in task";
  const std::optional<TaskAnalysis> analysis = analyse_task(GetParam().task, task_file);
  ASSERT_TRUE(analysis);
  Task task;
  task.name = "builtin/" + GetParam().task;
  task.version = 1;
  task.source = files::read(task_file);
  task.source_hash = sha256_hex(task.source);
  task.analysis = *analysis;

  const CandidateFile candidate = parse();
  if (is_seed(GetParam()) && std::getenv("KFORGE_WRITE_SEED_MANIFESTS")) {
    nlohmann::json defaults = nlohmann::json::object();
    for (const auto& [name, value] : choose_define_values(candidate.plan))
      defaults[name] = value;
    const nlohmann::json manifest = build_manifest(task, GetParam().variant, candidate, defaults,
                                                   std::nullopt, std::nullopt, utc_now());
    files::write_atomic(manifest_path, manifest.dump(2) + "\n");
  }
  ASSERT_TRUE(fs::exists(manifest_path)) << manifest_path << " is missing";
  const nlohmann::json manifest = read_manifest(manifest_path);
  for (const std::string& problem : check_manifest(manifest, candidate.source(), task))
    ADD_FAILURE() << manifest_path.string() << ": " << problem;
  EXPECT_EQ(manifest["task"]["name"], task.name);
  if (is_seed(GetParam())) {
    EXPECT_TRUE(manifest["architectures"].empty()) << "a seed is verified nowhere yet";
    EXPECT_TRUE(manifest["verified"].empty());
  }
}

TEST_P(ShippedKernelFile, SeedsSayTheyAreUnverified) {
  if (!is_seed(GetParam()) || !GetParam().verified_architectures.empty())
    GTEST_SKIP() << "not an unverified seed";
  EXPECT_NE(files::read(GetParam().source).find("NOT yet verified on a GPU"), std::string::npos)
      << GetParam().source << ": the header must say the seed is not verified yet";
}

std::string test_name(const ::testing::TestParamInfo<ShippedKernel>& info) {
  return (is_seed(info.param) ? "seed_" : "shipped_") + info.param.task + "_" + info.param.variant;
}

INSTANTIATE_TEST_SUITE_P(Kernels, ShippedKernelFile, ::testing::ValuesIn(shipped_kernels()),
                         test_name);

TEST(SeedKernels, CoverAtLeastTenTasks) {
  EXPECT_GE(Library::scan(kSeeds).tasks().size(), 10u);
}

}  // namespace
}  // namespace kforge::kernels

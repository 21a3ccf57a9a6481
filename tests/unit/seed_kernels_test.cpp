// Every kernel file kforge ships, the seeds in kernels/seeds/<task>/<variant>/ and promoted
// kernels in kernels/<task>/<variant>/, compiles with NVRTC (the compiler kforge itself uses)
// for sm_80, sm_90 and sm_100, at its defines' defaults and at a non-default setting, and its
// launch plan reads: the CI compile check, so a shipped kernel that stops compiling fails here.
// Runs without a GPU; nothing here runs a kernel.
//
// The plan is read with the kernel library's own reader (kernels/runtime/), because the full
// candidate parser is not on main yet; when it is, this test should also bind each plan with it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "kforge/kernels/error.hpp"
#include "kforge/kernels/kernel_file.hpp"
#include "kforge/kernels/library.hpp"
#include "kforge/kernels/nvrtc.hpp"

namespace kforge::kernels {
namespace {

const std::filesystem::path kKernels = std::filesystem::path(KFORGE_SOURCE_DIR) / "kernels";
const std::filesystem::path kSeeds = kKernels / "seeds";
const std::vector<int> kArchitectures = {80, 90, 100};

bool is_seed(const ShippedKernel& kernel) {
  return kernel.source.parent_path().parent_path().parent_path() == kSeeds;
}

// Seeds first, then promoted kernels (kernels/seeds and kernels/runtime hold no kernel.cu at
// the depth a variant has, so scanning kernels/ finds only promoted ones).
std::vector<ShippedKernel> shipped_kernels() {
  std::vector<ShippedKernel> kernels = Library::scan(kSeeds).kernels();
  for (const ShippedKernel& kernel : Library::scan(kKernels).kernels())
    kernels.push_back(kernel);
  return kernels;
}

const Nvrtc& nvrtc() {
  static const Nvrtc instance = Nvrtc::open();
  return instance;
}

// The first value other than the default for every define, all at once: a second point of the
// search space, so that a seed whose non-default settings do not compile is caught.
std::map<std::string, long long> non_default(const KernelFile& file) {
  std::map<std::string, long long> values;
  for (const DefineChoice& define : file.defines)
    for (long long value : define.values)
      if (value != define.default_value) {
        values[define.name] = value;
        break;
      }
  return values;
}

bool contains(const std::vector<char>& bytes, const std::string& text) {
  return std::search(bytes.begin(), bytes.end(), text.begin(), text.end()) != bytes.end();
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream stream(path);
  std::stringstream text;
  text << stream.rdbuf();
  return text.str();
}

}  // namespace

// Test names and failure messages show the kernel's path, not its bytes.
void PrintTo(const ShippedKernel& kernel, std::ostream* out) {
  *out << kernel.source.string();
}

namespace {

class ShippedKernelFile : public ::testing::TestWithParam<ShippedKernel> {};

TEST_P(ShippedKernelFile, CompilesForEveryArchitectureAtDefaultAndNonDefaultDefines) {
  const KernelFile file = read_kernel_file(GetParam().source);
  ASSERT_FALSE(file.launches.empty());
  const std::map<std::string, long long> other = non_default(file);
  ASSERT_FALSE(other.empty()) << file.file_name << ": declares no define a search could vary";

  for (int architecture : kArchitectures) {
    for (const auto& overrides : {std::map<std::string, long long>{}, other}) {
      const std::vector<std::string> options = file.define_options(overrides);
      std::string described;
      for (const std::string& option : options)
        described += " " + option;
      const NvrtcOutput output =
          nvrtc().compile(file.source, file.file_name, architecture, options);
      ASSERT_TRUE(output.succeeded)
          << file.file_name << " for sm_" << architecture << " with" << described << ":\n"
          << output.log;
      // Every kernel the plan launches is in the binary under its unmangled extern "C" name.
      for (const PlannedLaunch& launch : file.launches)
        EXPECT_TRUE(contains(output.cubin, launch.name + '\0'))
            << file.file_name << ": the plan launches '" << launch.name
            << "', which the compiled binary does not define (sm_" << architecture << ")";
    }
  }
}

TEST_P(ShippedKernelFile, IncludesNothingAndSeedsSayTheyAreUnverified) {
  const std::string text = read_text(GetParam().source);
  if (is_seed(GetParam()) && GetParam().verified_architectures.empty()) {
    EXPECT_NE(text.find("NOT yet verified on a GPU"), std::string::npos)
        << GetParam().source << ": the header must say the seed is not verified yet";
  }
  // NVRTC has no standard headers: a seed must be self-contained.
  EXPECT_EQ(text.find("#include"), std::string::npos) << GetParam().source;
}

// The names a plan binds must be the task's: forward()'s parameters, the model's parameters,
// `out`/`outN`, or the plan's scratch buffers. The built-in task files are read as text (a
// cheap check: the reference runner derives the exact signature at import).
TEST_P(ShippedKernelFile, BindsNamesOfItsBuiltinTask) {
  const std::filesystem::path task_file = std::filesystem::path(KFORGE_SOURCE_DIR) /
                                          "datasets/suites/builtin" / (GetParam().task + ".py");
  if (!std::filesystem::exists(task_file.parent_path()))
    GTEST_SKIP() << "the built-in task suite is not in this checkout";
  ASSERT_TRUE(std::filesystem::exists(task_file))
      << GetParam().task << " is not a built-in task (" << task_file << ")";
  const std::string task = read_text(task_file);
  std::smatch forward;
  ASSERT_TRUE(std::regex_search(task, forward, std::regex(R"(def forward\(self,([^)]*)\))")));
  std::set<std::string> inputs;
  std::stringstream parameters(forward[1].str());
  for (std::string name; std::getline(parameters, name, ',');) {
    name.erase(std::remove(name.begin(), name.end(), ' '), name.end());
    inputs.insert(name);
  }

  const KernelFile file = read_kernel_file(GetParam().source);
  const std::regex bare_name(R"(^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$)");
  for (const PlannedLaunch& launch : file.launches) {
    for (const std::string& argument : launch.args) {
      if (!std::regex_match(argument, bare_name) || argument.find(".shape") != std::string::npos ||
          argument.find(".numel") != std::string::npos)
        continue;
      if (inputs.count(argument) || std::regex_match(argument, std::regex("out[0-9]*")) ||
          file.source.find("\"name\": \"" + argument + "\"") != std::string::npos)
        continue;
      // A parameter: `self.<module> = ` for `module.weight`, `self.<name> = nn.Parameter`.
      const std::string owner = argument.substr(0, argument.find('.'));
      EXPECT_NE(task.find("self." + owner + " = "), std::string::npos)
          << file.file_name << ": kernel '" << launch.name << "' binds '" << argument
          << "', which is not an input, output or parameter of task " << GetParam().task;
    }
  }
}

std::string test_name(const ::testing::TestParamInfo<ShippedKernel>& info) {
  return (is_seed(info.param) ? "seed_" : "shipped_") + info.param.task + "_" + info.param.variant;
}

INSTANTIATE_TEST_SUITE_P(Kernels, ShippedKernelFile, ::testing::ValuesIn(shipped_kernels()),
                         test_name);

TEST(SeedKernels, CoverAtLeastTenTasks) {
  const Library library = Library::scan(kSeeds);
  EXPECT_GE(library.tasks().size(), 10u);
}

// The check above must be able to fail: a seed that does not compile is reported with the
// compiler's message and the file's own line.
TEST(SeedKernels, BrokenSourceFailsWithTheCompilerLog) {
  const std::string broken =
      "/* kforge:launch\n{\"kernels\": [{\"name\": \"k\", \"grid\": [1], \"block\": [32], "
      "\"args\": [\"x\"]}]}\n*/\nextern \"C\" __global__ void k(float* x) { x[0] = INFINITY; }\n";
  const KernelFile file = parse_kernel_file(broken, "broken.cu");
  const NvrtcOutput output = nvrtc().compile(file.source, file.file_name, 90, {});
  EXPECT_FALSE(output.succeeded);
  EXPECT_TRUE(output.cubin.empty());
  EXPECT_NE(output.log.find("broken.cu(4)"), std::string::npos) << output.log;
  EXPECT_NE(output.log.find("INFINITY"), std::string::npos) << output.log;
}

}  // namespace
}  // namespace kforge::kernels

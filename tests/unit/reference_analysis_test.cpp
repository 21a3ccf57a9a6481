// The analysis of the reference runner on tasks shaped like the current KernelBench: size
// constants written as products and unpackings, benchmark shapes of tens of GB, ops without a
// meta kernel, modules the Python lacks. Real Python with torch (/usr/bin/python3, or
// KFORGE_TEST_PYTHON), run through a wrapper that caps its address space, so an analysis that
// ran any of these at its benchmark size on the CPU would fail rather than pass slowly.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>

#include <nlohmann/json.hpp>

#include "harness/reference_runner.hpp"
#include "harness/util/files.hpp"
#include "harness/util/strings.hpp"
#include "harness/util/subprocess.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;

// The runner's whole address space: torch's import reserves about 0.7 GB; the analysis's CPU
// budget is 1 GiB. Every benchmark shape below needs far more than this.
constexpr int kAddressSpaceKiB = 3 << 20;

std::string test_python() {
  const char* configured = std::getenv("KFORGE_TEST_PYTHON");
  return configured != nullptr ? configured : "/usr/bin/python3";
}

const fs::path& shared_dir() {
  static testing::TemporaryDirectory dir;
  return dir.path();
}

// A Python that cannot hold more than kAddressSpaceKiB: `ulimit -v`, then the real one.
fs::path capped_python() {
  fs::path wrapper = shared_dir() / "capped-python";
  if (!fs::exists(wrapper)) {
    testing::write_text(wrapper, "#!/bin/sh\nulimit -v " + std::to_string(kAddressSpaceKiB) +
                                     "\nexec " + test_python() + " \"$@\"\n");
    ::chmod(wrapper.c_str(), 0755);
  }
  return wrapper;
}

ReferenceRunner make_runner(int timeout_s = 120) {
  ReferenceRunnerOptions options;
  options.python = capped_python().string();
  options.timeout_s = timeout_s;
  options.jobs = 2;
  options.cache_dir = shared_dir() / "cache";
  return ReferenceRunner(options);
}

const TaskAnalysis& analysis_of(const AnalysisOutcome& outcome) {
  if (const auto* failure = std::get_if<ReferenceFailure>(&outcome))
    ADD_FAILURE() << reference_failure_kind_name(failure->kind) << ": " << failure->describe();
  return std::get<TaskAnalysis>(outcome);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// KernelBench's newer way of writing sizes: products, shifts, chained and unpacked
// assignments, a tuple element written as a product, and a constant derived from another.
const char* kProducts = R"(import torch
import torch.nn as nn

M = 1024 * 64
K = 1 << 8
height = width = 96
depth, rows = (3, 32 * 2)
input_shape = (8192 * 2,)
hidden = K * 2


class Model(nn.Module):
    def forward(self, a, b, image, c):
        return (torch.matmul(a, b) * 2, image.mean(dim=(1, 2)), c.cumsum(1))


def get_inputs():
    return [torch.randn(M, K), torch.randn(K, hidden), torch.randn(depth, height, width),
            torch.randn(rows, *input_shape)]


def get_init_inputs():
    return []
)";

TEST(ReferenceAnalysis, ConstantsWrittenAsExpressionsAreFoundAndScaled) {
  ReferenceRunner runner = make_runner();
  auto outcomes = runner.analyze({{"t/products", kProducts, "products.py"}});
  const TaskAnalysis& analysis = analysis_of(outcomes[0]);
  EXPECT_EQ(analysis.constants,
            (SizeConstants{{"M", 65536},
                           {"K", 256},
                           {"height", 96},
                           {"width", 96},
                           {"depth", 3},
                           {"rows", 64},
                           {"input_shape[0]", 16384}}));  // `hidden` is derived: not its own
  EXPECT_EQ(analysis.benchmark_method, "meta");
  EXPECT_EQ(analysis.benchmark.inputs[0].shape, (std::vector<int64_t>{65536, 256}));
  EXPECT_EQ(analysis.benchmark.inputs[1].shape, (std::vector<int64_t>{256, 512}));
  ASSERT_EQ(analysis.check_shapes.size(), 2u) << analysis.check_note;
  for (const CheckShape& shape : analysis.check_shapes) {
    SCOPED_TRACE(shape.name);
    for (const char* name : {"M", "K", "height", "width", "rows", "input_shape[0]"}) {
      ASSERT_EQ(shape.scaled.count(name), 1u) << name;
      EXPECT_LT(shape.scaled.at(name).second, shape.scaled.at(name).first) << name;
    }
    const auto& inputs = shape.signature.inputs;
    EXPECT_EQ(inputs[0].shape,
              (std::vector<int64_t>{shape.constants.at("M"), shape.constants.at("K")}));
    // The derived constant followed K; the chained and unpacked names each took their value.
    EXPECT_EQ(inputs[1].shape,
              (std::vector<int64_t>{shape.constants.at("K"), 2 * shape.constants.at("K")}));
    EXPECT_EQ(inputs[2].shape,
              (std::vector<int64_t>{3, shape.constants.at("height"), shape.constants.at("width")}));
    EXPECT_EQ(inputs[3].shape, (std::vector<int64_t>{shape.constants.at("rows"),
                                                     shape.constants.at("input_shape[0]")}));
  }
  // A run at a check shape overrides the same constants.
  const CheckShape& odd = analysis.check_shapes[1];
  ReferenceResult result = runner.run({{"t/products", kProducts, "products.py"}, odd.constants});
  EXPECT_EQ(result.signature.to_json(), odd.signature.to_json());
}

// A matrix product whose benchmark shape needs 64 GiB for its inputs alone: the analysis takes
// its signature from the meta device and runs it on the CPU only scaled down.
const char* kHuge = R"(import torch
import torch.nn as nn

M = 16384 * 8
K = 32768 * 2
N = 16384 * 4


class Model(nn.Module):
    def forward(self, a, b):
        return torch.matmul(a, b)


def get_inputs():
    return [torch.randn(M, K), torch.randn(K, N)]


def get_init_inputs():
    return []
)";

// No size constant at all, and 8 GB of input: never run on the CPU.
const char* kUnscalableHuge = R"(import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        return x * 2


def get_inputs():
    return [torch.randn(100000, 20000)]


def get_init_inputs():
    return []
)";

// max_pool3d over 4 GiB (torch 1.13 has no meta kernel for it: its shape comes from a rule).
const char* kPool3d = R"(import torch
import torch.nn as nn

batch_size = 16
channels = 32
dim1 = dim2 = dim3 = 128


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool3d(kernel_size=3, stride=2, padding=1, dilation=3)

    def forward(self, x):
        return self.pool(x)


def get_inputs():
    return [torch.randn(batch_size, channels, dim1, dim2, dim3)]


def get_init_inputs():
    return []
)";

TEST(ReferenceAnalysis, BenchmarkShapesOfTensOfGigabytesImportQuicklyInBoundedMemory) {
  ReferenceRunner runner = make_runner();
  auto start = std::chrono::steady_clock::now();
  auto outcomes = runner.analyze({{"t/huge", kHuge, "huge.py"},
                                  {"t/unscalable", kUnscalableHuge, "unscalable.py"},
                                  {"t/pool3d", kPool3d, "pool3d.py"}});
  // Three tasks, two runner processes, each importing torch: seconds, not minutes (the old
  // analysis ran the product at its benchmark size, which this address space cannot even hold).
  EXPECT_LT(seconds_since(start), 90.0);

  const TaskAnalysis& huge = analysis_of(outcomes[0]);
  EXPECT_EQ(huge.benchmark_method, "meta");
  EXPECT_EQ(huge.benchmark.outputs[0].shape, (std::vector<int64_t>{131072, 65536}));
  ASSERT_FALSE(huge.check_shapes.empty()) << huge.check_note;
  EXPECT_EQ(huge.check_shapes[0].scaled.size(), 3u);
  EXPECT_FALSE(huge.degenerate) << huge.degenerate_reason;

  const TaskAnalysis& unscalable = analysis_of(outcomes[1]);
  EXPECT_EQ(unscalable.benchmark.outputs[0].shape, (std::vector<int64_t>{100000, 20000}));
  EXPECT_TRUE(unscalable.check_shapes.empty());
  EXPECT_FALSE(unscalable.degenerate);
  EXPECT_NE(unscalable.check_note.find("no real CPU run at the benchmark shape"), std::string::npos)
      << unscalable.check_note;

  const TaskAnalysis& pool = analysis_of(outcomes[2]);
  // (128 + 2*1 - 3*(3-1) - 1) / 2 + 1 = 62 per spatial dimension.
  EXPECT_EQ(pool.benchmark.outputs[0].shape, (std::vector<int64_t>{16, 32, 62, 62, 62}));
  ASSERT_FALSE(pool.check_shapes.empty()) << pool.check_note;
  for (const CheckShape& shape : pool.check_shapes) {
    // The check shapes are real runs: the rule's extents agree with max_pool3d's own.
    int64_t length = shape.constants.at("dim1");
    EXPECT_EQ(shape.signature.outputs[0].shape[2], (length + 2 - 6 - 1) / 2 + 1) << shape.name;
  }
}

TEST(ReferenceAnalysis, MissingModuleIsOneLineNamingIt) {
  ReferenceRunner runner = make_runner();
  std::string at_import =
      "import torch\nimport torch.nn as nn\nimport kforge_no_such_module_ab12\n"
      "class Model(nn.Module):\n    def forward(self, x):\n        return x\n"
      "def get_inputs():\n    return [torch.randn(4)]\ndef get_init_inputs():\n    return []\n";
  std::string in_forward =
      "import torch\nimport torch.nn as nn\n"
      "class Model(nn.Module):\n    def forward(self, x):\n"
      "        from kforge_no_such_package_cd34 import thing\n        return x\n"
      "def get_inputs():\n    return [torch.randn(4)]\ndef get_init_inputs():\n    return []\n";
  auto outcomes = runner.analyze(
      {{"t/import", at_import, "import.py"}, {"t/forward", in_forward, "forward.py"}});
  for (size_t index = 0; index < 2; ++index) {
    ASSERT_TRUE(std::holds_alternative<ReferenceFailure>(outcomes[index]));
    const auto& failure = std::get<ReferenceFailure>(outcomes[index]);
    EXPECT_EQ(failure.kind, ReferenceFailureKind::kMissingModule);
    EXPECT_NE(failure.message.find(index == 0 ? "'kforge_no_such_module_ab12'"
                                              : "'kforge_no_such_package_cd34'"),
              std::string::npos)
        << failure.message;
    EXPECT_EQ(failure.describe().find('\n'), std::string::npos) << failure.describe();
  }
}

// A constant that is large but counts blocks (ResNet's `layers = [3, 4, 23, 3]`) cannot be
// scaled with the sizes; the sizes still are, and a batch of 10 (below the other sizes' floor of
// 16) scales too.
const char* kBlocks = R"(import torch
import torch.nn as nn

batch_size = 10
width = 256
blocks = [2, 20]


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(*[nn.Linear(width, width) for _ in range(sum(blocks))])

    def forward(self, x):
        return self.layers(x)


def get_inputs():
    return [torch.randn(batch_size, width)]


def get_init_inputs():
    return []
)";

TEST(ReferenceAnalysis, ConstantsThatCountLayersAreLeftAloneWhileSizesScale) {
  ReferenceRunner runner = make_runner();
  auto outcomes = runner.analyze({{"t/blocks", kBlocks, "blocks.py"}});
  const TaskAnalysis& analysis = analysis_of(outcomes[0]);
  ASSERT_FALSE(analysis.check_shapes.empty()) << analysis.check_note;
  const CheckShape& small = analysis.check_shapes[0];
  EXPECT_EQ(small.scaled.count("blocks[1]"), 0u);
  EXPECT_EQ(small.scaled.count("width"), 1u);
  ASSERT_EQ(small.scaled.count("batch_size"), 1u);
  EXPECT_LT(small.scaled.at("batch_size").second, 10);
  EXPECT_EQ(small.signature.parameters.size(), analysis.benchmark.parameters.size());
}

// Small tensors, a lot of compute (400 products of 1024x1024 matrices, minutes on one core) and
// no size constant: the analysis's real CPU run stops at its CPU-time budget, lowered here to 2 s
// through the request, and the task still imports (signature from the meta device).
TEST(ReferenceAnalysis, RealCpuRunsStopAtTheirCpuTimeBudget) {
  fs::path script = shared_dir() / "kforge_reference.py";
  files::write_atomic(script, ReferenceRunner::script_source());
  std::string source =
      "import torch\nimport torch.nn as nn\nclass Model(nn.Module):\n"
      "    def forward(self, x, w):\n        for _ in range(400):\n"
      "            x = torch.tanh(x @ w)\n        return x\n"
      "def get_inputs():\n    return [torch.randn(1024, 1024), torch.randn(1024, 1024)]\n"
      "def get_init_inputs():\n    return []\n";
  nlohmann::json request = {
      {"op", "analyze"},
      {"time_limit_s", 120},
      {"cpu_run_budget_s", 2},
      {"tasks", {{{"name", "t/compute"}, {"source", source}, {"filename", "compute.py"}}}}};
  ProcessSpec spec;
  spec.program = capped_python();
  spec.arguments = {script.string()};
  spec.standard_input = request.dump();
  spec.environment_overrides = {{"OMP_NUM_THREADS", "1"}};
  spec.time_limit = std::chrono::seconds(150);
  auto start = std::chrono::steady_clock::now();
  ProcessResult result = run_process(spec);
  EXPECT_LT(seconds_since(start), 60.0);
  ASSERT_TRUE(result.succeeded()) << result.describe_end() << result.standard_error;
  auto lines = strings::split(result.standard_output, '\n');
  auto reply = nlohmann::json::parse(lines.front());
  ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
  EXPECT_EQ(reply["benchmark"]["method"], "meta");
  EXPECT_TRUE(reply["check_shapes"].empty());
  EXPECT_FALSE(reply["degenerate"].get<bool>());
  EXPECT_NE(reply["check_note"].get<std::string>().find("past its budget of 2 s of CPU time"),
            std::string::npos)
      << reply["check_note"];
}

}  // namespace
}  // namespace kforge

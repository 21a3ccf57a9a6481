// The reference runner through a real Python with torch (/usr/bin/python3 on the project's
// Debian machines; KFORGE_TEST_PYTHON to use another). One cache folder is shared by the tests
// of this file so that the interpreter probe (an import of torch) is paid once.
#include "harness/reference_runner.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>

#include "harness/util/embedded.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;

std::string test_python() {
  const char* configured = std::getenv("KFORGE_TEST_PYTHON");
  return configured != nullptr ? configured : "/usr/bin/python3";
}

const fs::path& shared_cache() {
  static testing::TemporaryDirectory dir;
  return dir.path();
}

ReferenceRunner make_runner(int timeout_s = 120) {
  ReferenceRunnerOptions options;
  options.python = test_python();
  options.timeout_s = timeout_s;
  options.jobs = 2;
  options.cache_dir = shared_cache();
  return ReferenceRunner(options);
}

const char* kRelu = R"(import torch
import torch.nn as nn

rows = 300
cols = 70


class Model(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.linear = nn.Linear(cols, cols)
        self.scale = scale

    def forward(self, x):
        return torch.relu(self.linear(x)) * self.scale


def get_inputs():
    return [torch.randn(rows, cols)]


def get_init_inputs():
    return [2.0]
)";

float f32(const Tensor& tensor, int64_t index) {
  float value;
  std::memcpy(&value, tensor.bytes.data() + index * 4, 4);
  return value;
}

// Two runs of one request at once (the GPU pool's devices verifying candidates of one task)
// write the same files: each writes its own temporary file and replaces atomically. A file the
// old fixed temporary name (`<file>.partial`) would clash with no longer stops a run: the
// GPU pool test failed when one run renamed the other's `.partial` away.
TEST(ReferenceFailureKinds, EveryKindRoundTripsThroughItsName) {
  const std::pair<ReferenceFailureKind, const char*> kinds[] = {
      {ReferenceFailureKind::kSyntaxError, "syntax_error"},
      {ReferenceFailureKind::kMissingDefinition, "missing_definition"},
      {ReferenceFailureKind::kMissingModule, "missing_module"},
      {ReferenceFailureKind::kRaised, "raised"},
      {ReferenceFailureKind::kWrongReturnType, "wrong_return_type"},
      {ReferenceFailureKind::kTimeLimit, "time_limit"},
      {ReferenceFailureKind::kTooLarge, "too_large"},
      {ReferenceFailureKind::kBadRequest, "bad_request"},
      {ReferenceFailureKind::kNoCuda, "no_cuda"},
      {ReferenceFailureKind::kNoTorch, "no_torch"},
      {ReferenceFailureKind::kDied, "died"},
      {ReferenceFailureKind::kMemoryLimit, "memory_limit"},
      {ReferenceFailureKind::kUnknown, "unknown"},
  };
  for (const auto& [kind, name] : kinds) {
    EXPECT_EQ(reference_failure_kind_name(kind), name);
    EXPECT_EQ(reference_failure_kind_named(name), kind) << name;
  }
  EXPECT_FALSE(reference_failure_kind_named("exploded"));
  EXPECT_FALSE(reference_failure_kind_named("Raised"));
  EXPECT_FALSE(reference_failure_kind_named(""));
}

// Every kind the Python side raises (TaskError("kind", ...)) is one the bridge reads: a kind
// added there alone would be an Error naming it on the first task that fails that way.
TEST(ReferenceFailureKinds, EveryKindTheScriptRaisesIsKnown) {
  const std::string_view script = *embedded::find("harness/reference/kforge_reference.py");
  const std::string_view marker = "TaskError(\"";
  size_t found = 0;
  for (size_t at = script.find(marker); at != std::string_view::npos;
       at = script.find(marker, at + 1)) {
    const size_t start = at + marker.size();
    const std::string kind(script.substr(start, script.find('"', start) - start));
    EXPECT_TRUE(reference_failure_kind_named(kind)) << kind;
    ++found;
  }
  EXPECT_GE(found, 20u);  // the script's raises were found at all
}

TEST(ReferenceRunner, RunsOfOneRequestAtOnceDoNotShareATemporaryFile) {
  ReferenceRequest request{{"t/relu", kRelu, "relu.py"}, {{"rows", 9}}, 11, "float32", "cpu"};
  const fs::path directory = make_runner().run(request).directory;
  fs::remove(directory / "reply.json");  // not cached: the next run writes the files again
  fs::create_directories(directory / "parameters.safetensors.partial");
  ReferenceResult again = make_runner().run(request);
  EXPECT_FALSE(again.from_cache);
  EXPECT_EQ(again.parameters.count("linear.weight"), 1u);
  for (const auto& entry : fs::directory_iterator(directory))
    EXPECT_TRUE(entry.path().filename() == "parameters.safetensors.partial" ||
                entry.path().extension() != ".partial")
        << "left behind: " << entry.path();
}

TEST(ReferenceRunner, RunWritesInputsParametersAndOutputsAsSafetensors) {
  ReferenceRunner runner = make_runner();
  ReferenceRequest request{{"t/relu", kRelu, "relu.py"}, {{"rows", 33}}, 5, "float32", "cpu"};
  ReferenceResult result = runner.run(request);
  EXPECT_FALSE(result.from_cache);
  EXPECT_EQ(result.device, "cpu");
  EXPECT_FALSE(result.torch_version.empty());
  EXPECT_EQ(result.constants.at("rows"), 33);
  ASSERT_EQ(result.inputs.count("x"), 1u);
  const Tensor& x = result.inputs.at("x");
  EXPECT_EQ(x.shape, (std::vector<int64_t>{33, 70}));
  const Tensor& weight = result.parameters.at("linear.weight");
  const Tensor& bias = result.parameters.at("linear.bias");
  const Tensor& out = result.outputs.at("out");
  ASSERT_EQ(out.shape, (std::vector<int64_t>{33, 70}));
  // Recompute one row in C++: the files hold exactly what forward saw and returned.
  for (int64_t column = 0; column < 70; ++column) {
    double sum = f32(bias, column);
    for (int64_t k = 0; k < 70; ++k)
      sum += static_cast<double>(f32(x, 3 * 70 + k)) * f32(weight, column * 70 + k);
    double expected = std::max(0.0, sum) * 2.0;
    EXPECT_NEAR(f32(out, 3 * 70 + column), expected, 1e-4) << column;
  }
  // The same request again is answered from the cache, identically.
  ReferenceResult again = runner.run(request);
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.outputs.at("out").bytes, out.bytes);
  // Another seed gives other inputs.
  request.seed = 6;
  ReferenceResult other = runner.run(request);
  EXPECT_NE(other.inputs.at("x").bytes, x.bytes);
  // bfloat16: floating inputs and parameters are cast, and written as BF16 (2 bytes each).
  request.dtype = "bfloat16";
  ReferenceResult half = runner.run(request);
  EXPECT_EQ(half.inputs.at("x").dtype, DType::kBF16);
  EXPECT_EQ(half.inputs.at("x").bytes.size(), 33u * 70u * 2u);
  EXPECT_EQ(half.parameters.at("linear.weight").dtype, DType::kBF16);
  EXPECT_EQ(half.outputs.at("out").dtype, DType::kBF16);
  EXPECT_EQ(half.signature.outputs[0].dtype, DType::kBF16);
}

double f64(const Tensor& tensor, int64_t index) {
  double value;
  std::memcpy(&value, tensor.bytes.data() + index * 8, 8);
  return value;
}

TEST(ReferenceRunner, Float32RunsAlsoComputeTheReferenceInFloat64) {
  ReferenceRunner runner = make_runner();
  ReferenceRequest request{{"t/relu", kRelu, "relu.py"}, {{"rows", 20}}, 3, "float32", "cpu"};
  ReferenceResult result = runner.run(request);
  const Tensor& out = result.outputs.at("out");
  ASSERT_EQ(result.outputs_float64.count("out"), 1u) << result.float64_note;
  const Tensor& exact = result.outputs_float64.at("out");
  EXPECT_EQ(exact.dtype, DType::kF64);
  EXPECT_EQ(exact.shape, out.shape);
  // The same weights and inputs, in double: the float32 result is within its rounding of it,
  // and not identical everywhere (a 70-term dot product rounds).
  double largest = 0;
  for (int64_t i = 0; i < out.numel(); ++i) {
    double error = std::abs(f32(out, i) - f64(exact, i));
    EXPECT_LT(error, 1e-4) << i;
    largest = std::max(largest, error);
  }
  EXPECT_GT(largest, 0);
  // Not for other dtypes, nor where only inputs are wanted; said why.
  request.dtype = "bfloat16";
  ReferenceResult half = runner.run(request);
  EXPECT_TRUE(half.outputs_float64.empty());
  EXPECT_NE(half.float64_note.find("no float64 reference"), std::string::npos);
  request.dtype = "float32";
  request.float64_reference = false;
  EXPECT_TRUE(runner.run(request).outputs_float64.empty());
  // A model that cannot run in double keeps its float32 reference and says why.
  std::string pinned = std::string(kRelu) +
                       "\n_forward = Model.forward\n"
                       "def _pinned(self, x):\n"
                       "    assert x.dtype == torch.float32, 'float32 only'\n"
                       "    return _forward(self, x)\n"
                       "Model.forward = _pinned\n";
  ReferenceResult only32 = runner.run({{"t/pinned", pinned, "pinned.py"}, {}, 0, "float32", "cpu"});
  EXPECT_TRUE(only32.outputs_float64.empty());
  EXPECT_NE(only32.float64_note.find("float32 only"), std::string::npos) << only32.float64_note;
  EXPECT_EQ(only32.outputs.count("out"), 1u);
}

const char* kScalars = R"(import torch
import torch.nn as nn

rows = 8


class Model(nn.Module):
    def forward(self, x, alpha, beta, dim, flag):
        assert alpha < 0.54, 'alpha over 0.54'
        return (x * alpha + beta).sum(dim=dim) if flag else x


def get_inputs():
    return [torch.randn(rows, 4), 0.5, -2.0, 1, True]


def get_init_inputs():
    return []
)";

TEST(ReferenceRunner, FloatScalarInputsVaryPerSeedWhenAsked) {
  ReferenceRunner runner = make_runner();
  auto scalar = [](const ReferenceResult& result, size_t index) {
    return *result.signature.inputs.at(index).scalar;
  };
  ReferenceRequest request{{"t/scalars", kScalars, "scalars.py"}, {}, 0, "float32", "cpu"};
  request.vary_scalars = true;
  // Seed 0 keeps the task's own values.
  ReferenceResult own = runner.run(request);
  EXPECT_FALSE(own.scalar_factor);
  EXPECT_EQ(scalar(own, 1), 0.5);
  int varied = 0, refused = 0;
  for (int64_t seed = 1; seed <= 3; ++seed) {
    request.seed = seed;
    ReferenceResult result = runner.run(request);
    // ints (sizes, dims) and bools (flags) are left alone.
    EXPECT_EQ(scalar(result, 3), 1);
    EXPECT_EQ(scalar(result, 4), 1);
    if (result.scalar_factor) {
      // One factor for every float scalar, 10% to 50% away from 1.
      double factor = *result.scalar_factor;
      EXPECT_TRUE((factor >= 0.5 && factor <= 0.9) || (factor >= 1.1 && factor <= 1.5)) << factor;
      EXPECT_DOUBLE_EQ(scalar(result, 1), 0.5 * factor);
      EXPECT_DOUBLE_EQ(scalar(result, 2), -2.0 * factor);
      // The reference was computed with them.
      const Tensor& x = result.inputs.at("x");
      double expected = 0;
      for (int64_t k = 0; k < 4; ++k)
        expected += f32(x, k) * 0.5 * factor - 2.0 * factor;
      EXPECT_NEAR(f32(result.outputs.at("out"), 0), expected, 1e-5);
      ++varied;
    } else {
      // Scaled up, alpha is over what the task accepts: its own values, and why.
      EXPECT_EQ(scalar(result, 1), 0.5);
      EXPECT_NE(result.scalars_note.find("alpha over 0.54"), std::string::npos)
          << result.scalars_note;
      ++refused;
    }
  }
  EXPECT_GT(varied, 0);
  EXPECT_GT(refused, 0);
  // Without vary_scalars every seed has the task's own values.
  request.vary_scalars = false;
  EXPECT_EQ(scalar(runner.run(request), 1), 0.5);
}

TEST(ReferenceRunner, RunFailureCarriesTheTraceback) {
  ReferenceRunner runner = make_runner();
  std::string source = std::string(kRelu) + "\ndef get_inputs():\n    return [torch.randn(3, 4)]\n";
  try {
    runner.run({{"t/bad_shape", source, "bad_shape.py"}, {}, 0, "float32", "cpu"});
    FAIL() << "a forward() that raises was accepted";
  } catch (const Error& failure) {
    std::string text = failure.what();
    EXPECT_NE(text.find("forward() raised RuntimeError"), std::string::npos) << text;
    EXPECT_NE(text.find("bad_shape.py"), std::string::npos) << text;  // traceback lines
  }
}

TEST(ReferenceRunner, AnalyzeReportsEachBrokenTaskPrecisely) {
  ReferenceRunner runner = make_runner();
  std::vector<TaskSource> tasks = {
      {"t/syntax", "import torch\ndef get_inputs(:\n", "syntax.py"},
      {"t/raises", std::string(kRelu) + "\ndef get_inputs():\n    raise ValueError('boom')\n",
       "raises.py"},
      {"t/missing",
       "import torch.nn as nn\nclass Model(nn.Module):\n    pass\n"
       "def get_init_inputs():\n    return []\n",
       "missing.py"},
      {"t/wrong_type",
       "import torch\nimport torch.nn as nn\nclass Model(nn.Module):\n    def forward(self, x):\n"
       "        return 'text'\ndef get_inputs():\n    return [torch.randn(4)]\n"
       "def get_init_inputs():\n    return []\n",
       "wrong_type.py"},
  };
  std::vector<std::string> seen;
  auto outcomes = runner.analyze(
      tasks, [&](size_t index, const AnalysisOutcome&) { seen.push_back(tasks[index].name); });
  EXPECT_EQ(seen.size(), 4u);
  auto failure = [&](size_t index) { return std::get<ReferenceFailure>(outcomes[index]); };
  EXPECT_EQ(failure(0).kind, ReferenceFailureKind::kSyntaxError);
  EXPECT_NE(failure(0).message.find("syntax.py:2"), std::string::npos) << failure(0).message;
  EXPECT_EQ(failure(1).kind, ReferenceFailureKind::kRaised);
  EXPECT_NE(failure(1).message.find("get_inputs() raised ValueError: boom"), std::string::npos)
      << failure(1).message;
  EXPECT_NE(failure(1).traceback.find("raises.py"), std::string::npos);
  EXPECT_EQ(failure(2).kind, ReferenceFailureKind::kMissingDefinition);
  EXPECT_NE(failure(2).message.find("get_inputs"), std::string::npos);
  EXPECT_EQ(failure(3).kind, ReferenceFailureKind::kWrongReturnType);
  EXPECT_NE(failure(3).message.find("returned a str"), std::string::npos);
}

TEST(ReferenceRunner, TaskPastItsTimeLimitFailsWithoutHanging) {
  ReferenceRunner runner = make_runner(3);
  std::string source = std::string(kRelu) +
                       "\nimport time\ndef get_inputs():\n    time.sleep(600)\n"
                       "    return [torch.randn(rows, cols)]\n";
  auto start = std::chrono::steady_clock::now();
  auto outcomes = runner.analyze({{"t/sleeps", source, "sleeps.py"}});
  auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start)
          .count();
  ASSERT_TRUE(std::holds_alternative<ReferenceFailure>(outcomes[0]));
  EXPECT_EQ(std::get<ReferenceFailure>(outcomes[0]).kind, ReferenceFailureKind::kTimeLimit);
  EXPECT_LT(seconds, 120);
}

TEST(ReferenceRunner, AnalysesEveryBuiltinTask) {
  ReferenceRunner runner = make_runner();
  std::vector<TaskSource> tasks;
  for (const std::string& path : embedded::list("datasets/suites/builtin/"))
    tasks.push_back({path, std::string(*embedded::find(path)), path});
  ASSERT_GE(tasks.size(), 16u);
  auto outcomes = runner.analyze(tasks);
  for (size_t index = 0; index < tasks.size(); ++index) {
    SCOPED_TRACE(tasks[index].name);
    ASSERT_TRUE(std::holds_alternative<TaskAnalysis>(outcomes[index]))
        << std::get<ReferenceFailure>(outcomes[index]).describe();
    const TaskAnalysis& analysis = std::get<TaskAnalysis>(outcomes[index]);
    EXPECT_FALSE(analysis.degenerate) << analysis.degenerate_reason;
    EXPECT_EQ(analysis.benchmark_method, "meta");  // no benchmark-sized compute
    ASSERT_EQ(analysis.check_shapes.size(), 2u) << analysis.check_note;
    bool off_32 = false;
    for (const CheckShape& shape : analysis.check_shapes) {
      EXPECT_TRUE(shape.signature.same_structure(analysis.benchmark));
      EXPECT_FALSE(shape.scaled.empty());
      for (const auto& [name, values] : shape.scaled) {
        EXPECT_LT(values.second, values.first) << name;
        off_32 = off_32 || values.second % 32 != 0;
      }
    }
    EXPECT_TRUE(off_32);
  }
}

TEST(ReferenceRunner, DegenerateOutputIsFlagged) {
  ReferenceRunner runner = make_runner();
  std::string zero =
      "import torch\nimport torch.nn as nn\nn = 4096\nclass Model(nn.Module):\n"
      "    def forward(self, x):\n        return x - x\ndef get_inputs():\n"
      "    return [torch.randn(n, n)]\ndef get_init_inputs():\n    return []\n";
  std::string constant =
      "import torch\nimport torch.nn as nn\nn = 4096\nclass Model(nn.Module):\n"
      "    def forward(self, x):\n        return torch.softmax(x, dim=0).sum(dim=0)\n"
      "def get_inputs():\n    return [torch.randn(n, n)]\ndef get_init_inputs():\n    return []\n";
  // KernelBench's newer files size inputs with a tuple constant: its elements scale too.
  std::string tuple_sized =
      "import torch\nimport torch.nn as nn\nbatch_size = 4096\ninput_shape = (8192,)\n"
      "class Model(nn.Module):\n    def forward(self, x):\n        return torch.cumsum(x, 1)\n"
      "def get_inputs():\n    return [torch.rand(batch_size, *input_shape)]\n"
      "def get_init_inputs():\n    return []\n";
  auto outcomes = runner.analyze({{"t/zero", zero, "zero.py"},
                                  {"t/const", constant, "c.py"},
                                  {"t/tuple", tuple_sized, "tuple.py"}});
  const auto& tuple = std::get<TaskAnalysis>(outcomes[2]);
  EXPECT_FALSE(tuple.degenerate);
  ASSERT_FALSE(tuple.check_shapes.empty());
  EXPECT_EQ(tuple.check_shapes[0].scaled.count("input_shape[0]"), 1u);
  EXPECT_EQ(tuple.check_shapes[0].signature.inputs[0].shape[1],
            tuple.check_shapes[0].constants.at("input_shape[0]"));
  const auto& first = std::get<TaskAnalysis>(outcomes[0]);
  EXPECT_TRUE(first.degenerate);
  EXPECT_NE(first.degenerate_reason.find("zero"), std::string::npos) << first.degenerate_reason;
  const auto& second = std::get<TaskAnalysis>(outcomes[1]);
  EXPECT_TRUE(second.degenerate);
  EXPECT_NE(second.degenerate_reason.find("constant"), std::string::npos)
      << second.degenerate_reason;
}

TEST(ReferenceRunner, MissingPythonNamesWhatWasTried) {
  ReferenceRunnerOptions options;
  options.python = "/nonexistent/python3";
  options.cache_dir = shared_cache();
  ReferenceRunner runner(options);
  try {
    runner.python();
    FAIL() << "found a Python that does not exist";
  } catch (const Error& failure) {
    EXPECT_NE(std::string(failure.what()).find("/nonexistent/python3: not found"),
              std::string::npos)
        << failure.what();
  }
}

TEST(ReferenceRunner, PythonWithoutTorchIsRejectedWithItsError) {
  testing::TemporaryDirectory dir;
  fs::path fake = dir / "python-without-torch";
  files::write_atomic(fake,
                      "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\n"
                      "exit 1\n");
  fs::permissions(fake, fs::perms::owner_all);
  ReferenceRunnerOptions options;
  options.python = fake.string();
  options.cache_dir = dir / "cache";
  ReferenceRunner runner(options);
  try {
    runner.python();
    FAIL() << "accepted a Python without torch";
  } catch (const Error& failure) {
    std::string text = failure.what();
    EXPECT_NE(text.find("cannot import torch"), std::string::npos) << text;
    EXPECT_NE(text.find("No module named 'torch'"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace kforge

namespace kforge {
namespace {

// With nothing configured, a python3 first on PATH that lacks torch is passed over for
// /usr/bin/python3, and the choice is remembered.
TEST(ReferenceRunnerDiscovery, SkipsAPythonWithoutTorch) {
  if (test_python() != "/usr/bin/python3")
    GTEST_SKIP() << "discovery order is checked against /usr/bin/python3 only";
  testing::TemporaryDirectory dir;
  fs::create_directories(dir / "bin");
  files::write_atomic(dir / "bin" / "python3",
                      "#!/bin/sh\necho \"No module named 'torch'\" >&2\nexit 1\n");
  fs::permissions(dir / "bin" / "python3", fs::perms::owner_all);
  std::string saved = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  ::setenv("PATH", ((dir / "bin").string() + ":/usr/bin:/bin").c_str(), 1);
  ReferenceRunnerOptions options;
  options.cache_dir = shared_cache();
  ReferenceRunner runner(options);
  fs::path found;
  try {
    found = runner.python().path;
  } catch (...) {
    ::setenv("PATH", saved.c_str(), 1);
    throw;
  }
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_EQ(found, fs::path("/usr/bin/python3"));
}

}  // namespace
}  // namespace kforge

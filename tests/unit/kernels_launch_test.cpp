// The kernel library's launch preparation and runtime, without a GPU: plan expressions, calls
// checked against a manifest's signature (count, names, dtype, rank, scalars), arguments typed
// from the declared parameters, scratch sizes, and the runtime saying clearly that no driver is
// there when it must launch.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "harness/candidate/plan_validation.hpp"
#include "kforge/kernels/error.hpp"
#include "kforge/kernels/expression.hpp"
#include "kforge/kernels/launch.hpp"
#include "kforge/kernels/runtime.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::kernels {
namespace {

using kforge::testing::TemporaryDirectory;
using kforge::testing::write_text;

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const KernelError& error) {
    return error.what();
  }
  return "no error";
}

ExpressionEnvironment scope() {
  ExpressionEnvironment scope;
  scope.add("BLOCK", {NamedValue::Kind::kInteger, "define", {}, 256, 0, true});
  scope.add("x", {NamedValue::Kind::kTensor, "input", {1000, 3}, 0, 0, true});
  scope.add("conv.weight", {NamedValue::Kind::kTensor, "parameter", {1000, 3}, 0, 0, true});
  return scope;
}

TEST(Expression, EvaluatesThePlanLanguage) {
  EXPECT_EQ(evaluate_expression("ceil_div(x.numel, BLOCK)", scope()), 12);
  EXPECT_EQ(evaluate_expression("x.shape[0] * (x.shape[1] + 1) % 7 - -2", scope()), 4000 % 7 + 2);
  EXPECT_EQ(evaluate_expression("min(BLOCK, 100) + max(1, conv.weight.shape[1]) / 2", scope()),
            101);
  EXPECT_EQ(evaluate_expression("ceil_div(0, 4)", scope()), 0);
}

TEST(Expression, ErrorsNameTheExpression) {
  EXPECT_EQ(message_of([] { evaluate_expression("x.shape[2]", scope()); }),
            "shape index 2 is out of range: 'x' has 2 dimensions at column 9 (expression "
            "'x.shape[2]')");
  EXPECT_EQ(message_of([] { evaluate_expression("BLOK * 2", scope()); }),
            "unknown name 'BLOK' at column 1 (expression 'BLOK * 2')");
  EXPECT_EQ(message_of([] { evaluate_expression("4 / (BLOCK - 256)", scope()); }),
            "division by zero: '(BLOCK - 256)' is 0 at column 3 (expression '4 / (BLOCK - 256)')");
  EXPECT_NE(message_of([] {
              evaluate_expression("9223372036854775807 + 1", scope());
            }).find("overflows 64-bit integers"),
            std::string::npos);
  EXPECT_NE(message_of([] { evaluate_expression("BLOCK.numel", scope()); }).find("not a tensor"),
            std::string::npos);
  EXPECT_EQ(message_of([] { evaluate_expression("1 $ 2", scope()); }),
            "unexpected '$' after a complete expression at column 3 (expression '1 $ 2')");
}

// The library and kforge's candidate parser share one implementation: C's truncating division.
TEST(Expression, DividesTowardZeroAsC) {
  EXPECT_EQ(evaluate_expression("-7 / 2", scope()), -3);
  EXPECT_EQ(evaluate_expression("-7 % 2", scope()), -1);
  EXPECT_EQ(evaluate_expression("7 % -2", scope()), 1);
  EXPECT_EQ(evaluate_expression("ceil_div(-7, 2)", scope()), -3);
}

const std::string kKernel = R"kernel(/* kforge:launch
{
  "kernels": [
    {"name": "partial", "grid": ["ceil_div(x.shape[1], BLOCK)", "SPLITS"], "block": ["BLOCK"],
     "shared_bytes": "BLOCK * 4", "args": ["x", "scratch", "x.shape[0]", "x.shape[1]", "alpha"]},
    {"name": "finish", "grid": ["ceil_div(x.shape[1], BLOCK)"], "block": ["BLOCK"],
     "args": ["scratch", "out", "x.shape[1]"]}
  ],
  "scratch": [{"name": "scratch", "dtype": "float32", "numel": "SPLITS * x.shape[1]"}],
  "defines": {"BLOCK": {"default": 128, "values": [128, 256]}, "SPLITS": {"default": 8}}
}
*/
)kernel";

const std::string kManifest = R"json({
  "task": {"name": "builtin/column_scale", "signature": {
    "inputs": [{"name": "x", "kind": "tensor", "dtype": "float32", "shape": [4096, 512]},
               {"name": "alpha", "kind": "scalar", "dtype": "float32", "value": 0.5}],
    "parameters": [],
    "outputs": [{"name": "out", "kind": "tensor", "dtype": "float32", "shape": [512]}]}},
  "parameters": {
    "partial": [{"name": "x", "pointer": true}, {"name": "s", "pointer": true},
                {"name": "rows", "pointer": false, "value_type": "int32"},
                {"name": "cols", "pointer": false, "value_type": "int64"},
                {"name": "alpha", "pointer": false, "value_type": "float32"}],
    "finish": [{"name": "s", "pointer": true}, {"name": "out", "pointer": true},
               {"name": "cols", "pointer": false, "value_type": "int64"}]},
  "defines": {"BLOCK": 256},
  "architectures": []
})json";

struct LaunchFixture : ::testing::Test {
  TemporaryDirectory root;
  float x_data = 0;
  float out_data = 0;
  void SetUp() override {
    write_text(root / "column_scale" / "split" / "kernel.cu", kKernel);
    write_text(root / "column_scale" / "split" / "manifest.json", kManifest);
  }
  Arguments good() {
    return {{"x", Tensor{&x_data, {4096, 512}, "float32"}},
            {"alpha", 0.5},
            {"out", Tensor{&out_data, {512}, "float32"}}};
  }
  std::string failure(const Arguments& arguments) {
    const Library library = Library::scan(root.path());
    const KernelFile file = read_kernel_file(library.kernels().at(0).source);
    return message_of([&] { prepare_launch(library.kernels().at(0), file, arguments); });
  }
};

TEST_F(LaunchFixture, PreparesEveryKernelWithTypedArguments) {
  const Library library = Library::scan(root.path());
  const ShippedKernel& kernel = library.kernels().at(0);
  EXPECT_EQ(kernel.task_name, "builtin/column_scale");
  ASSERT_EQ(kernel.signature.size(), 3u);
  EXPECT_EQ(kernel.signature[2].role, "output");
  const PreparedLaunch prepared = prepare_launch(kernel, read_kernel_file(kernel.source), good());
  ASSERT_EQ(prepared.kernels.size(), 2u);
  // BLOCK comes from the manifest (256), SPLITS from the file's default (8).
  EXPECT_EQ(prepared.kernels[0].grid, (std::array<unsigned, 3>{2, 8, 1}));
  EXPECT_EQ(prepared.kernels[0].block, (std::array<unsigned, 3>{256, 1, 1}));
  EXPECT_EQ(prepared.kernels[0].shared_bytes, 1024u);
  ASSERT_EQ(prepared.scratch.size(), 1u);
  EXPECT_EQ(prepared.scratch[0].bytes, 8u * 512 * 4);
  const auto& arguments = prepared.kernels[0].arguments;
  ASSERT_EQ(arguments.size(), 5u);
  void* pointer = nullptr;
  std::memcpy(&pointer, arguments[0].bytes.data(), sizeof pointer);
  EXPECT_EQ(pointer, &x_data);
  EXPECT_EQ(arguments[1].buffer, "scratch");
  EXPECT_EQ(arguments[2].bytes.size(), 4u);  // int32 rows
  EXPECT_EQ(arguments[3].bytes.size(), 8u);  // int64 cols
  float alpha = 0;
  std::memcpy(&alpha, arguments[4].bytes.data(), sizeof alpha);
  EXPECT_EQ(alpha, 0.5f);
}

// Define values tuned on an architecture (manifest "tuned", written by `kforge library tune`)
// replace the manifest's on that architecture only; elsewhere the manifest's stay.
TEST_F(LaunchFixture, TunedDefinesApplyOnTheirArchitectureOnly) {
  nlohmann::json manifest = nlohmann::json::parse(kManifest);
  manifest["tuned"] = {{"sm_90", {{"defines", {{"BLOCK", 128}, {"SPLITS", 4}}}}}};
  write_text(root / "column_scale" / "split" / "manifest.json", manifest.dump());
  const Library library = Library::scan(root.path());
  const ShippedKernel& kernel = library.kernels().at(0);
  ASSERT_EQ(kernel.tuned_defines.count(90), 1u);
  const KernelFile file = read_kernel_file(kernel.source);
  const PreparedLaunch on_hopper = prepare_launch(kernel.on_architecture(90), file, good());
  EXPECT_EQ(on_hopper.kernels[0].grid, (std::array<unsigned, 3>{4, 4, 1}));
  EXPECT_EQ(on_hopper.kernels[0].block, (std::array<unsigned, 3>{128, 1, 1}));
  const PreparedLaunch on_ampere = prepare_launch(kernel.on_architecture(80), file, good());
  EXPECT_EQ(on_ampere.kernels[0].grid, (std::array<unsigned, 3>{2, 8, 1}));
  EXPECT_EQ(on_ampere.kernels[0].block, (std::array<unsigned, 3>{256, 1, 1}));
  // A tuned value that is not an integer makes the manifest malformed, naming it.
  manifest["tuned"]["sm_90"]["defines"]["BLOCK"] = 1.5;
  write_text(root / "column_scale" / "split" / "manifest.json", manifest.dump());
  EXPECT_NE(message_of([&] {
              Library::scan(root.path());
            }).find("tuned.sm_90.defines.BLOCK is not a 64-bit integer"),
            std::string::npos);
}

// The plan's constraints hold or the call is refused before the GPU is touched: at the call's
// sizes, with the define values the kernel is compiled with (the manifest's, or those tuned on
// the architecture it runs on), as kforge refuses such a point (plan_error, reason constraint).
TEST_F(LaunchFixture, ConstraintsAreCheckedAtTheCallsSizesWithTheValuesInUse) {
  std::string kernel = kKernel;
  kernel.replace(
      kernel.find("\n}\n*/"), 1,
      ",\n  \"constraints\": [\"x.shape[1] % BLOCK == 0\", \"BLOCK * SPLITS <= 4096\"]\n");
  write_text(root / "column_scale" / "split" / "kernel.cu", kernel);
  nlohmann::json manifest = nlohmann::json::parse(kManifest);
  manifest["tuned"] = {{"sm_90", {{"defines", {{"BLOCK", 128}, {"SPLITS", 4}}}}},
                       {"sm_80", {{"defines", {{"BLOCK", 128}, {"SPLITS", 64}}}}}};
  write_text(root / "column_scale" / "split" / "manifest.json", manifest.dump());
  const Library library = Library::scan(root.path());
  const ShippedKernel& shipped = library.kernels().at(0);
  const KernelFile file = read_kernel_file(shipped.source);
  ASSERT_EQ(file.constraints.size(), 2u);
  // 512 columns: BLOCK 256 (the manifest's) divides them.
  EXPECT_EQ(prepare_launch(shipped, file, good()).kernels.size(), 2u);
  // 384 columns: 256 does not; the tuned 128 of sm_90 does.
  Arguments narrow = good();
  narrow["x"] = Tensor{&x_data, {4096, 384}, "float32"};
  EXPECT_EQ(message_of([&] { prepare_launch(shipped, file, narrow); }),
            "constraint 1 \"x.shape[1] % BLOCK == 0\" does not hold for BLOCK=256, SPLITS=8 at "
            "this call's sizes (column_scale/split)");
  EXPECT_EQ(prepare_launch(shipped.on_architecture(90), file, narrow).kernels[0].block[0], 128u);
  // Values tuned on sm_80 that break a constraint over defines alone: refused there, at any size.
  EXPECT_EQ(message_of([&] { prepare_launch(shipped.on_architecture(80), file, good()); }),
            "constraint 2 \"BLOCK * SPLITS <= 4096\" does not hold for BLOCK=128, SPLITS=64 at "
            "this call's sizes (column_scale/split)");
}

TEST_F(LaunchFixture, WrongCallsAreClearErrors) {
  Arguments missing = good();
  missing.erase("alpha");
  EXPECT_EQ(failure(missing), "expects 3 arguments (x, alpha, out), got 2 (column_scale/split)");
  Arguments renamed = good();
  renamed.erase("out");
  renamed["output"] = Tensor{&out_data, {512}, "float32"};
  EXPECT_EQ(failure(renamed),
            "argument 'out' is missing (expects x, alpha, out) (column_scale/split)");
  Arguments dtype = good();
  dtype["x"] = Tensor{&x_data, {4096, 512}, "float16"};
  EXPECT_EQ(failure(dtype), "argument 'x' must be float32, not float16 (column_scale/split)");
  Arguments rank = good();
  rank["x"] = Tensor{&x_data, {4096 * 512}, "float32"};
  EXPECT_EQ(failure(rank), "argument 'x' must have 2 dimensions, not 1 (column_scale/split)");
  Arguments scalar = good();
  scalar["out"] = int64_t{3};
  EXPECT_EQ(failure(scalar),
            "argument 'out' must be a float32 tensor, not an integer (column_scale/split)");
  Arguments tensor_for_scalar = good();
  tensor_for_scalar["alpha"] = Tensor{&x_data, {1}, "float32"};
  EXPECT_EQ(failure(tensor_for_scalar),
            "argument 'alpha' is a scalar (float32), not a tensor (column_scale/split)");
  // rows goes to an int32 parameter: 2^31 rows do not fit.
  Arguments huge = good();
  huge["x"] = Tensor{&x_data, {int64_t{1} << 31, 512}, "float32"};
  EXPECT_NE(failure(huge).find("value 2147483648 does not fit the int32 parameter"),
            std::string::npos);
}

TEST_F(LaunchFixture, KernelWithoutManifestCannotBeLaunched) {
  write_text(root / "relu" / "seed" / "kernel.cu", kKernel);
  const Library library = Library::scan(root.path());
  const ShippedKernel& seed = library.kernels().at(1);
  ASSERT_EQ(seed.task, "relu");
  EXPECT_EQ(message_of([&] { prepare_launch(seed, read_kernel_file(seed.source), good()); }),
            "the kernel has no manifest with a signature, so it cannot be launched (relu/seed)");
}

TEST_F(LaunchFixture, SeedsFolderIsScannedAsSeeds) {
  write_text(root / "seeds" / "relu" / "vectorized" / "kernel.cu", kKernel);
  const Library library = Library::scan(root.path());
  ASSERT_EQ(library.kernels().size(), 2u);
  EXPECT_FALSE(library.kernels()[0].seed);
  EXPECT_TRUE(library.kernels()[1].seed);
  EXPECT_EQ(library.kernels()[1].task, "relu");
  EXPECT_EQ(library.tasks(), (std::vector<std::string>{"column_scale", "relu"}));
  Runtime runtime({.library_root = root.path(), .fatbin_dir = "/opt/fatbin"});
  EXPECT_EQ(runtime.fatbin_path(library.kernels()[1]), "/opt/fatbin/seeds/relu/vectorized.fatbin");
  EXPECT_EQ(runtime.fatbin_path(library.kernels()[0]), "/opt/fatbin/column_scale/split.fatbin");
}

TEST_F(LaunchFixture, LaunchWithoutADriverSaysSo) {
  if (std::getenv("KFORGE_TEST_HAS_GPU"))
    GTEST_SKIP() << "a GPU is present";
  Runtime runtime({.library_root = root.path()});
  EXPECT_EQ(runtime.library().kernels().size(), 1u);
  const std::string message = message_of([&] { runtime.launch("column_scale", good()); });
  EXPECT_NE(message.find("cannot open the CUDA driver"), std::string::npos) << message;
}

// The resolved plan kforge's evaluator writes (ResolvedPlan::to_json) is read back, by the GPU
// worker, as this library's PreparedLaunch: one model of a bound plan on both sides.
TEST(PreparedLaunchJson, ReadsTheResolvedPlanKforgeWrites) {
  kforge::ResolvedPlan plan;
  kforge::ResolvedLaunch launch;
  launch.kernel = "k";
  launch.grid = {40, 2, 1};
  launch.block = {256, 1, 1};
  launch.shared_bytes = 1024;
  kforge::ResolvedArgument tensor;
  tensor.kind = kforge::ResolvedArgument::Kind::kTensor;
  tensor.tensor = "x";
  kforge::ResolvedArgument count;
  count.kind = kforge::ResolvedArgument::Kind::kInteger;
  count.type = kforge::ScalarType::kInt32;
  count.width = 4;
  count.integer = -3;
  launch.args = {tensor, count};
  plan.launches.push_back(launch);
  plan.scratch.push_back({"partial", kforge::DType::kF32, 10, 40});
  const PreparedLaunch prepared = prepared_launch_from_json(plan.to_json().dump(), "plan");
  ASSERT_EQ(prepared.kernels.size(), 1u);
  const PreparedKernel& kernel = prepared.kernels[0];
  EXPECT_EQ(kernel.name, "k");
  EXPECT_EQ(kernel.grid, (std::array<unsigned, 3>{40, 2, 1}));
  EXPECT_EQ(kernel.block, (std::array<unsigned, 3>{256, 1, 1}));
  EXPECT_EQ(kernel.shared_bytes, 1024u);
  ASSERT_EQ(kernel.arguments.size(), 2u);
  EXPECT_EQ(kernel.arguments[0].buffer, "x");
  EXPECT_EQ(kernel.arguments[0].bytes.size(), sizeof(void*));
  EXPECT_TRUE(kernel.arguments[1].buffer.empty());
  EXPECT_EQ(kernel.arguments[1].bytes, (std::vector<unsigned char>{0xfd, 0xff, 0xff, 0xff}));
  ASSERT_EQ(prepared.scratch.size(), 1u);
  EXPECT_EQ(prepared.scratch[0].name, "partial");
  EXPECT_EQ(prepared.scratch[0].bytes, 40u);
}

TEST(PreparedLaunchJson, RefusesWhatTheDriverCouldNotTake) {
  const std::string launch = R"({"kernel": "k", "grid": [1, 1, 1], "block": [1, 1, 1],
                                 "shared_bytes": 0, "args": [ARG]})";
  auto plan = [&](const std::string& argument, const std::string& changed_launch = {}) {
    std::string text = changed_launch.empty() ? launch : changed_launch;
    text.replace(text.find("ARG"), 3, argument);
    return R"({"launches": [)" + text + "]}";
  };
  const std::string value = R"({"kind": "integer", "bytes": "0100", "width": 2})";
  EXPECT_EQ(prepared_launch_from_json(plan(value), "p").kernels[0].arguments[0].bytes,
            (std::vector<unsigned char>{1, 0}));
  EXPECT_EQ(message_of([&] {
              prepared_launch_from_json(plan(R"({"kind": "integer", "bytes": "010", "width": 2})"),
                                        "p");
            }),
            "argument bytes '010' have an odd length (p: kernel k)");
  EXPECT_EQ(message_of([&] {
              prepared_launch_from_json(plan(R"({"kind": "float", "bytes": "zz", "width": 1})"),
                                        "p");
            }),
            "argument bytes 'zz' are not hexadecimal (p: kernel k)");
  EXPECT_EQ(message_of([&] {
              prepared_launch_from_json(plan(R"({"kind": "integer", "bytes": "0100", "width": 4})"),
                                        "p");
            }),
            "an argument has bytes of another width (p: kernel k)");
  std::string zero_grid = launch;
  zero_grid.replace(zero_grid.find("[1, 1, 1]"), 9, "[0, 1, 1]");
  EXPECT_EQ(message_of([&] { prepared_launch_from_json(plan(value, zero_grid), "p"); }),
            "grid extent 0 is out of range (p: kernel k)");
  EXPECT_EQ(message_of([&] {
              prepared_launch_from_json(
                  R"({"launches": [], "scratch": [{"name": "s", "bytes": -1}]})", "p");
            }),
            "scratch buffer 's' has a negative size (p)");
  EXPECT_EQ(message_of([&] {
              prepared_launch_from_json("{\"launches\": 3", "p");
            }).rfind("the plan is malformed: ", 0),
            0u);
  EXPECT_EQ(message_of([&] { prepared_launch_from_json("{}", "p"); }).rfind("the plan is", 0), 0u);
}

}  // namespace
}  // namespace kforge::kernels

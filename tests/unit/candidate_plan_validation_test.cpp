#include "harness/candidate/plan_validation.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "harness/util/files.hpp"
#include "harness/util/subprocess.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

std::string fixture(const std::string& name) {
  return files::read(testing::source_dir() / "tests/unit/data/candidate" / name);
}

// The task of docs/candidate-format.md: forward(x, temperature) returns
// (softmax(x / temperature, dim=1), logsumexp(x / temperature, dim=1)).
Signature softmax_signature(int64_t rows, int64_t cols) {
  Signature signature;
  signature.inputs.push_back({"x", ArgumentKind::kTensor, DType::kF32, {rows, cols}, {}});
  signature.inputs.push_back({"temperature", ArgumentKind::kScalar, DType::kF64, {}, 0.5});
  signature.outputs.push_back({"out0", ArgumentKind::kTensor, DType::kF32, {rows, cols}, {}});
  signature.outputs.push_back({"out1", ArgumentKind::kTensor, DType::kF32, {rows}, {}});
  signature.returns_tuple = true;
  return signature;
}

// row_softmax.cu, with each `edits` pair replaced in its text, parsed.
PlanResult<CandidateFile> softmax_candidate(
    const std::vector<std::pair<std::string, std::string>>& edits) {
  std::string text = fixture("row_softmax.cu");
  for (const auto& [from, to] : edits) {
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos)
      text.replace(at, from.size(), to);
  }
  return parse_candidate(text, "row_softmax.cu");
}

// Binds row_softmax.cu, with each `edits` pair replaced in its text, to its nvcc PTX.
PlanResult<ResolvedPlan> bind_softmax(const std::vector<std::pair<std::string, std::string>>& edits,
                                      const Signature& signature = softmax_signature(4096, 1000),
                                      const std::map<std::string, int64_t>& defines = {},
                                      const Limits& limits = {}) {
  PlanResult<CandidateFile> candidate = softmax_candidate(edits);
  if (!candidate.ok())
    return candidate.error();
  return bind_candidate(candidate.value(), fixture("row_softmax.ptx"), signature, defines, limits);
}

std::string error_of(const PlanResult<ResolvedPlan>& result) {
  if (result.ok()) {
    ADD_FAILURE() << "bound without error";
    return "";
  }
  return result.error().message();
}

TEST(CandidatePlanValidation, UnknownNames) {
  EXPECT_EQ(error_of(bind_softmax({{"\"2 * x.shape[0]\"", "\"2 * y.shape[0]\""}})),
            "row_softmax.cu:13:67: launch plan: scratch 'stats' numel \"2 * y.shape[0]\": unknown "
            "name 'y'; did you mean 'x'? (allowed: ROWS_PER_BLOCK, out0, out1, temperature, x)");
  EXPECT_EQ(error_of(bind_softmax({{"[\"x\", \"stats\", \"temperature\", \"x.shape[0]\"",
                                    "[\"x\", \"stat\", \"temperature\", \"x.shape[0]\""}})),
            "row_softmax.cu:7:21: launch plan: kernel 'row_stats' argument 2 \"stat\": parameter "
            "2 'stats' (float*) is a pointer, and unknown tensor 'stat'; did you mean 'stats'? "
            "(allowed: out0, out1, stats, x)");
  EXPECT_EQ(error_of(bind_softmax({{"{\"name\": \"normalize\"", "{\"name\": \"normalise\""}})),
            "row_softmax.cu:8:5: launch plan: unknown kernel 'normalise'; did you mean "
            "'normalize'? (allowed: row_stats, normalize)");
  EXPECT_EQ(error_of(bind_softmax({}, softmax_signature(4096, 1000), {{"ROWS", 8}})),
            "unknown define 'ROWS' (allowed: ROWS_PER_BLOCK)");
}

TEST(CandidatePlanValidation, NamesThatShadowTheSignature) {
  EXPECT_EQ(error_of(bind_softmax(
                {{"\"ROWS_PER_BLOCK\": {", "\"x\": {\"default\": 1}, \"ROWS_PER_BLOCK\": {"}})),
            "row_softmax.cu:14:15: launch plan: define 'x' has the name of the task's input 'x'; "
            "rename the define");
  EXPECT_EQ(error_of(bind_softmax({{"{\"name\": \"stats\"", "{\"name\": \"out1\""}})),
            "row_softmax.cu:13:15: launch plan: scratch buffer 'out1' has the name of the task's "
            "output 'out1'; rename the buffer");
}

TEST(CandidatePlanValidation, ArgumentsThatDoNotFitTheirParameters) {
  EXPECT_EQ(error_of(bind_softmax({{", \"x.shape[0]\", \"x.shape[1]\"]}", ", \"x.shape[0]\"]}"}})),
            "row_softmax.cu:4:5: launch plan: kernel 'row_stats' takes 5 parameters ("
            "float* x, float* stats, float temperature, int rows, int cols) but the plan passes 4 "
            "arguments");
  EXPECT_EQ(error_of(bind_softmax({{"\"temperature\", \"x.shape[0]\"", "\"temperature\", \"x\""}})),
            "row_softmax.cu:7:45: launch plan: kernel 'row_stats' argument 4 \"x\": 'x' is a "
            "tensor (input), but parameter 4 'rows' (int) is a value, not a pointer");
  EXPECT_EQ(error_of(bind_softmax({{"[\"x\", \"stats\", \"temperature\", \"x.shape[0]\"",
                                    "[\"x.numel\", \"stats\", \"temperature\", \"x.shape[0]\""}})),
            "row_softmax.cu:7:16: launch plan: kernel 'row_stats' argument 1 \"x.numel\": "
            "parameter 1 'x' (float*) is a pointer: pass a tensor or scratch buffer name");
  EXPECT_EQ(
      error_of(bind_softmax({{"[\"x\", \"stats\", \"temperature\", \"x.shape[0]\"",
                              "[\"temperature\", \"stats\", \"temperature\", \"x.shape[0]\""}})),
      "row_softmax.cu:7:16: launch plan: kernel 'row_stats' argument 1 \"temperature\": "
      "parameter 1 'x' (float*) is a pointer: pass a tensor or scratch buffer name, "
      "not the scalar input 'temperature'");
  EXPECT_EQ(error_of(bind_softmax(
                {{"\"temperature\", \"x.shape[0]\"", "\"temperature\", \"temperature\""}})),
            "row_softmax.cu:7:45: launch plan: kernel 'row_stats' argument 4 \"temperature\": "
            "'temperature' is a floating-point scalar input, but parameter 4 'rows' (int) is an "
            "integer");
  EXPECT_EQ(error_of(bind_softmax({{"\"stats\", \"temperature\", \"x.shape[0]\"",
                                    "\"stats\", \"2\", \"x.shape[0]\""}})),
            "row_softmax.cu:7:30: launch plan: kernel 'row_stats' argument 3 \"2\": parameter 3 "
            "'temperature' (float) is floating-point: pass a float scalar input of the task, not "
            "an integer expression");
}

TEST(CandidatePlanValidation, IntegersMustFitTheParameterWidth) {
  // 3e9 elements fit the 64-bit expression but not the kernel's 32-bit `int cols`.
  EXPECT_EQ(error_of(bind_softmax(
                {{"\"x.shape[0]\", \"x.shape[1]\"]}", "\"x.shape[0]\", \"3000000000\"]}"}})),
            "row_softmax.cu:7:59: launch plan: kernel 'row_stats' argument 5 \"3000000000\": is "
            "3000000000, which does not fit parameter 5 'cols' (int) (32-bit signed: -2147483648 "
            "to 2147483647)");
  EXPECT_EQ(error_of(bind_softmax(
                {{"\"x.shape[0]\", \"x.shape[1]\"]}", "\"x.shape[0]\", \"-x.numel * 1000\"]}"}})),
            "row_softmax.cu:7:59: launch plan: kernel 'row_stats' argument 5 \"-x.numel * 1000\": "
            "is -4096000000, which does not fit parameter 5 'cols' (int) (32-bit signed: "
            "-2147483648 to 2147483647)");

  // Unsigned, bool and 16-bit parameters, and a struct, from the nvcc fixture.
  std::string source = fixture("parameters.cu");
  std::string plan = R"(/* kforge:launch {"kernels": [{"name": "every_type", "grid": [1],
  "block": [1], "args": [ARGS]}],
  "defines": {"A": {"default": 1}}} */
)";
  std::vector<KernelDeclaration> kernels = find_kernel_declarations(SourceText("p.cu", source));
  std::vector<PtxEntry> entries = parse_ptx_entries(fixture("parameters.ptx"), "parameters.ptx");
  Signature signature;
  signature.inputs.push_back({"f", ArgumentKind::kScalar, DType::kF64, {}, 1.0});
  signature.outputs.push_back({"out", ArgumentKind::kTensor, DType::kF32, {4}, {}});
  auto bind_every = [&](const std::string& args) {
    std::string text = plan;
    text.replace(text.find("ARGS"), 4, args);
    PlanResult<CandidateFile> candidate = parse_candidate(text + source, "p.cu");
    EXPECT_TRUE(candidate.ok()) << candidate.error().message();
    return bind_plan(candidate.value().plan, kernels, entries, signature, {});
  };
  EXPECT_EQ(error_of(bind_every(
                R"("A", "-1", "3", "4", "5", "6", "1", "f", "f", "f", "f", "0", "0", "0")")),
            "p.cu:2:32: launch plan: kernel 'every_type' argument 2 \"-1\": is -1, which does not "
            "fit parameter 2 'b' (unsigned) (32-bit unsigned: 0 to 4294967295)");
  EXPECT_EQ(
      error_of(bind_every(
          R"("A", "4294967296", "3", "4", "5", "6", "1", "f", "f", "f", "f", "0", "0", "0")")),
      "p.cu:2:32: launch plan: kernel 'every_type' argument 2 \"4294967296\": is 4294967296, "
      "which does not fit parameter 2 'b' (unsigned) (32-bit unsigned: 0 to 4294967295)");
  EXPECT_EQ(error_of(bind_every(
                R"("A", "1", "3", "4", "5", "6", "7", "f", "f", "f", "f", "0", "0", "0")")),
            "p.cu:2:57: launch plan: kernel 'every_type' argument 7 \"7\": is 7, which does not "
            "fit parameter 7 'g' (bool) (bool: 0 or 1)");
  std::string struct_error = error_of(
      bind_every(R"("A", "1", "3", "4", "5", "6", "1", "f", "f", "f", "f", "0", "0", "0")"));
  EXPECT_EQ(struct_error,
            "p.cu:2:82: launch plan: kernel 'every_type' argument 12 \"0\": "
            "parameter 12 'p' (Pair) is a value of a type a launch plan cannot pass "
            "(it passes pointers, integers and floating-point scalars)");
}

TEST(CandidatePlanValidation, KernelsMustBeDeclaredExternCAndDefined) {
  std::string source = fixture("parameters.cu");
  std::vector<KernelDeclaration> kernels = find_kernel_declarations(SourceText("p.cu", source));
  std::vector<PtxEntry> entries = parse_ptx_entries(fixture("parameters.ptx"), "parameters.ptx");
  Signature signature = softmax_signature(4, 4);
  auto launch = [&](const std::string& name, const std::string& args) {
    LaunchPlan plan = LaunchPlan::from_json(
        nlohmann::json::parse(R"({"kernels": [{"name": ")" + name +
                              R"(", "grid": [1], "block": [1], "args": )" + args + "}]}"));
    return bind_plan(plan, kernels, entries, signature, {});
  };
  EXPECT_EQ(error_of(launch("mangled", "[\"x\"]")),
            "launch plan: kernel 'mangled' (p.cu:28:17) is not declared extern \"C\", so its "
            "compiled name is mangled; declare it extern \"C\" __global__");
  std::vector<KernelDeclaration> with_declaration = kernels;
  with_declaration.push_back({"declared_only", true, false, {}, "p.cu:40:1"});
  LaunchPlan plan = LaunchPlan::from_json(nlohmann::json::parse(
      R"({"kernels": [{"name": "declared_only", "grid": [1], "block": [1], "args": []}]})"));
  EXPECT_EQ(error_of(bind_plan(plan, with_declaration, entries, signature, {})),
            "launch plan: kernel 'declared_only' is declared (p.cu:40:1) but not defined: the "
            "compiled PTX has no .entry for it");
  std::vector<PtxEntry> with_entry = entries;
  with_entry.push_back({"from_a_macro", {}});
  plan.kernels[0].name = "from_a_macro";
  EXPECT_NE(error_of(bind_plan(plan, kernels, with_entry, signature, {}))
                .find("kernel 'from_a_macro' is in the compiled PTX but its extern \"C\" "
                      "__global__ declaration cannot be read"),
            std::string::npos);
  std::vector<PtxEntry> short_entries = entries;
  short_entries[0].parameters.pop_back();
  plan.kernels[0].name = "scale_rows";
  EXPECT_EQ(error_of(bind_plan(plan, kernels, short_entries, signature, {})),
            "launch plan: kernel 'scale_rows': its declaration (p.cu:14:5) has 3 parameters but "
            "its PTX .entry has 2");
  EXPECT_EQ(error_of(bind_plan(plan, {}, entries, signature, {})),
            "launch plan: kernel 'scale_rows' is in the compiled PTX but its extern \"C\" "
            "__global__ declaration cannot be read from the source (kernels made by macros are "
            "not supported): declare it plainly");
}

TEST(CandidatePlanValidation, Limits) {
  // 70000 rows put normalize's grid y over 65535.
  EXPECT_EQ(error_of(bind_softmax({}, softmax_signature(70000, 1000))),
            "row_softmax.cu:9:45: launch plan: kernel 'normalize' grid[1] \"x.shape[0]\": is "
            "70000, over the limit of 65535 for grid dimension y");
  EXPECT_EQ(error_of(bind_softmax({}, softmax_signature(0, 1000))),
            "row_softmax.cu:5:16: launch plan: kernel 'row_stats' grid[0] \"ceil_div(x.shape[0], "
            "ROWS_PER_BLOCK)\": is 0; every grid dimension must be at least 1");
  EXPECT_EQ(error_of(bind_softmax({}, softmax_signature(4096, 1000), {{"ROWS_PER_BLOCK", 64}})),
            "row_softmax.cu:4:5: launch plan: kernel 'row_stats': a block of 32 x 64 x 1 = 2048 "
            "threads is over the limit of 1024");
  EXPECT_EQ(error_of(bind_softmax({{"\"block\": [\"256\"]", "\"block\": [\"1\", \"1\", \"65\"]"}})),
            "row_softmax.cu:9:80: launch plan: kernel 'normalize' block[2] \"65\": is 65, over the "
            "limit of 64 for block dimension z");
  EXPECT_EQ(error_of(bind_softmax({{"\"block\": [\"256\"]", "\"block\": [\"0\"]"}})),
            "row_softmax.cu:9:70: launch plan: kernel 'normalize' block[0] \"0\": is 0; every "
            "block dimension must be at least 1");
  EXPECT_EQ(
      error_of(bind_softmax({{"\"shared_bytes\": \"0\"", "\"shared_bytes\": \"228 * 1024\""}})),
      "row_softmax.cu:6:23: launch plan: kernel 'row_stats' shared_bytes \"228 * 1024\": is "
      "233472 bytes, over the dynamic shared memory limit of 232448");
  EXPECT_EQ(error_of(bind_softmax({{"\"shared_bytes\": \"0\"", "\"shared_bytes\": \"4 - 8\""}})),
            "row_softmax.cu:6:23: launch plan: kernel 'row_stats' shared_bytes \"4 - 8\": is -4, "
            "and a size cannot be negative");
  EXPECT_EQ(error_of(bind_softmax({{"\"2 * x.shape[0]\"", "\"-2 * x.shape[0]\""}})),
            "row_softmax.cu:13:63: launch plan: scratch 'stats' numel \"-2 * x.shape[0]\": is "
            "-8192, and a size cannot be negative");
  Limits small;
  small.max_scratch_bytes = 4 * 8191;
  EXPECT_EQ(error_of(bind_softmax({}, softmax_signature(4096, 1000), {}, small)),
            "row_softmax.cu:13:63: launch plan: scratch 'stats' numel \"2 * x.shape[0]\": brings "
            "the scratch memory of the plan over the limit of 32764 bytes (8192 elements of "
            "float32)");
  EXPECT_NE(error_of(bind_softmax({{"\"2 * x.shape[0]\"", "\"x.numel * 4611686018427387904\""}}))
                .find("overflows 64-bit integers"),
            std::string::npos);
  Limits one_kernel;
  one_kernel.max_kernels = 1;
  EXPECT_EQ(error_of(bind_softmax({}, softmax_signature(4096, 1000), {}, one_kernel)),
            "row_softmax.cu:8:5: launch plan: the plan launches 2 kernels, over the limit of 1");
}

// The launch limits without a compile (no PTX): the same error as bind gives, word for word, for
// each limit; what needs the compiled kernel is left to bind.
TEST(CandidatePlanValidation, LaunchLimitsAreCheckedWithoutACompile) {
  auto limits_error = [](const std::vector<std::pair<std::string, std::string>>& edits,
                         const Signature& signature, const std::map<std::string, int64_t>& defines,
                         const Limits& limits) {
    PlanResult<CandidateFile> candidate = softmax_candidate(edits);
    if (!candidate.ok())
      return "does not parse: " + candidate.error().message();
    PlanResult<bool> within = check_plan_limits(candidate.value().plan, signature, defines, limits);
    return within.ok() ? std::string() : within.error().message();
  };
  Limits one_kernel;
  one_kernel.max_kernels = 1;
  Limits small;
  small.max_scratch_bytes = 4 * 8191;
  struct Case {
    std::vector<std::pair<std::string, std::string>> edits;
    Signature signature;
    std::map<std::string, int64_t> defines;
    Limits limits;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{}, softmax_signature(4096, 1000), {{"ROWS_PER_BLOCK", 64}}, {}, "2048 threads"},
      {{}, softmax_signature(70000, 1000), {}, {}, "for grid dimension y"},
      {{{"\"block\": [\"256\"]", "\"block\": [\"1\", \"1\", \"65\"]"}},
       softmax_signature(4096, 1000),
       {},
       {},
       "for block dimension z"},
      {{{"\"shared_bytes\": \"0\"", "\"shared_bytes\": \"228 * 1024\""}},
       softmax_signature(4096, 1000),
       {},
       {},
       "dynamic shared memory limit of 232448"},
      {{}, softmax_signature(4096, 1000), {}, small, "scratch memory"},
      {{}, softmax_signature(4096, 1000), {}, one_kernel, "launches 2 kernels"},
  };
  for (const Case& c : cases) {
    const std::string message = limits_error(c.edits, c.signature, c.defines, c.limits);
    EXPECT_NE(message.find(c.needle), std::string::npos) << message;
    EXPECT_EQ(message, error_of(bind_softmax(c.edits, c.signature, c.defines, c.limits)));
  }
  // Within every limit; a block over the kernel's __launch_bounds__ (ROWS_PER_BLOCK 16) is known
  // only from the compiled PTX, so it passes here and fails at bind.
  EXPECT_EQ(limits_error({}, softmax_signature(4096, 1000), {}, {}), "");
  EXPECT_EQ(limits_error({}, softmax_signature(4096, 1000), {{"ROWS_PER_BLOCK", 16}}, {}), "");
  EXPECT_FALSE(bind_softmax({}, softmax_signature(4096, 1000), {{"ROWS_PER_BLOCK", 16}}).ok());
}

// row_softmax.ptx was compiled with ROWS_PER_BLOCK = 8: row_stats is __launch_bounds__(256).
TEST(CandidatePlanValidation, BlocksOverTheKernelsLaunchBoundsArePlanErrors) {
  EXPECT_EQ(error_of(bind_softmax({}, softmax_signature(4096, 1000), {{"ROWS_PER_BLOCK", 16}})),
            "row_softmax.cu:4:5: launch plan: kernel 'row_stats': a block of 32 x 16 x 1 = 512 "
            "threads is over the kernel's __launch_bounds__ of 256 threads (.maxntid in its PTX)");
  // Within the bounds in another arrangement: the bound is on the product.
  EXPECT_TRUE(
      bind_softmax({{"\"block\": [\"32\", \"ROWS_PER_BLOCK\"]", "\"block\": [\"8\", \"32\"]"}})
          .ok());
}

std::vector<PtxEntry> one_entry(const std::string& directives) {
  return parse_ptx_entries(".visible .entry k(.param .u64 k_param_0)\n" + directives + "\n{\n}\n",
                           "k.ptx");
}

PlanResult<ResolvedPlan> bind_one(const std::string& block, const std::string& shared,
                                  const std::vector<PtxEntry>& entries,
                                  const std::vector<KernelFootprint>& footprints,
                                  const Limits& limits = {}) {
  std::string text =
      "/* kforge:launch\n{\"kernels\": [{\"name\": \"k\", \"grid\": [\"1\"], "
      "\"block\": [" +
      block + "], \"shared_bytes\": \"" + shared +
      "\", \"args\": [\"x\"]}]}\n*/\n"
      "extern \"C\" __global__ void k(float* x) {}\n";
  PlanResult<CandidateFile> candidate = parse_candidate(text, "k.cu");
  if (!candidate.ok())
    return candidate.error();
  Signature signature;
  signature.inputs.push_back({"x", ArgumentKind::kTensor, DType::kF32, {64}, {}});
  return bind_plan(candidate.value().plan, candidate.value().kernels, entries, signature, {},
                   limits, footprints);
}

TEST(CandidatePlanValidation, RequiredBlockMustBeExact) {
  std::vector<PtxEntry> entries = one_entry(".reqntid 64, 2");
  EXPECT_TRUE(bind_one("\"64\", \"2\"", "0", entries, {}).ok());
  EXPECT_EQ(error_of(bind_one("\"128\"", "0", entries, {})),
            "k.cu:2:14: launch plan: kernel 'k': a block of 128 x 1 x 1 threads, but the kernel "
            "requires 64 x 2 x 1 (.reqntid in its PTX)");
}

TEST(CandidatePlanValidation, RegistersOfTheWholeBlockMustFit) {
  std::vector<PtxEntry> entries = one_entry("");
  // 64 registers: 2048 per warp, 32 warps fill the 65536 exactly.
  EXPECT_TRUE(bind_one("\"1024\"", "0", entries, {{"k", 0, 64}}).ok());
  // 65 registers round up to 2304 per warp: 28 warps at most.
  EXPECT_EQ(error_of(bind_one("\"1024\"", "0", entries, {{"k", 0, 65}})),
            "k.cu:2:14: launch plan: kernel 'k': a block of 1024 threads needs 73728 registers "
            "(65 per thread, allocated per warp), over the 65536 a block may have: at most 896 "
            "threads per block");
  EXPECT_TRUE(bind_one("\"896\"", "0", entries, {{"k", 0, 65}}).ok());
  // Another kernel's footprint, or an unreported one, does not count.
  EXPECT_TRUE(bind_one("\"1024\"", "0", entries, {{"other", 0, 255}}).ok());
  EXPECT_TRUE(bind_one("\"1024\"", "0", entries, {{"k", 0, -1}}).ok());
}

TEST(CandidatePlanValidation, StaticPlusDynamicSharedMemoryMustFit) {
  std::vector<PtxEntry> entries = one_entry("");
  const std::vector<KernelFootprint> static_40k = {{"k", 40 * 1024, 32}};
  EXPECT_TRUE(bind_one("\"256\"", "187 * 1024", entries, static_40k).ok());
  EXPECT_EQ(error_of(bind_one("\"256\"", "200 * 1024", entries, static_40k)),
            "k.cu:2:78: launch plan: kernel 'k' shared_bytes \"200 * 1024\": is 204800 bytes of "
            "dynamic shared memory; with the kernel's 40960 bytes of static shared memory that is "
            "245760 bytes per block, over the limit of 232448");
  // Without the static part reported, only the dynamic part is checked.
  EXPECT_TRUE(bind_one("\"256\"", "200 * 1024", entries, {{"k", -1, 32}}).ok());
  // The target architecture's opt-in maximum lowers the configured limit.
  Limits sm86 = Limits{}.for_arch("sm_86");
  EXPECT_EQ(sm86.max_dynamic_shared_bytes, 99 * 1024);
  EXPECT_EQ(error_of(bind_one("\"256\"", "64 * 1024", entries, static_40k, sm86)),
            "k.cu:2:78: launch plan: kernel 'k' shared_bytes \"64 * 1024\": is 65536 bytes of "
            "dynamic shared memory; with the kernel's 40960 bytes of static shared memory that is "
            "106496 bytes per block, over the limit of 101376");
}

TEST(CandidatePlanValidation, SharedMemoryOptInPerArchitecture) {
  EXPECT_EQ(shared_bytes_per_block_opt_in("sm_90"), 232448);
  EXPECT_EQ(shared_bytes_per_block_opt_in("sm_90a"), 232448);
  EXPECT_EQ(shared_bytes_per_block_opt_in("sm_80"), 167936 - 1024);
  EXPECT_EQ(shared_bytes_per_block_opt_in("sm_120"), 101376);
  EXPECT_EQ(shared_bytes_per_block_opt_in("sm_999"), std::nullopt);
  Limits configured;
  configured.max_dynamic_shared_bytes = 1024;
  EXPECT_EQ(configured.for_arch("sm_90").max_dynamic_shared_bytes, 1024);  // never raised
  EXPECT_EQ(configured.for_arch("sm_999").max_dynamic_shared_bytes, 1024);
}

TEST(CandidatePlanValidation, ScalarInputsWithoutAValueAreNotZero) {
  Signature signature = softmax_signature(64, 64);
  signature.inputs[1].scalar.reset();
  EXPECT_EQ(error_of(bind_softmax({}, signature)),
            "row_softmax.cu:7:30: launch plan: kernel 'row_stats' argument 3 \"temperature\": the "
            "signature records no value for the scalar input 'temperature'");
  signature.inputs[1].dtype = DType::kI64;
  EXPECT_EQ(error_of(bind_softmax({{"\"2 * x.shape[0]\"", "\"temperature\""}}, signature)),
            "row_softmax.cu:13:63: launch plan: scratch 'stats' numel \"temperature\": the "
            "signature records no value for the integer scalar input 'temperature'");
}

TEST(CandidatePlanValidation, LimitsComeFromTheConfiguration) {
  Config config;
  Limits defaults = Limits::from_config(config);
  EXPECT_EQ(defaults.max_kernels, Limits{}.max_kernels);
  EXPECT_EQ(defaults.max_dynamic_shared_bytes, 227 * 1024);
  EXPECT_EQ(defaults.max_scratch_bytes, Limits{}.max_scratch_bytes);
  config.set("plan.max_shared_bytes", "1024");
  config.set("plan.max_kernels", "1");
  Limits configured = Limits::from_config(config);
  EXPECT_EQ(configured.max_dynamic_shared_bytes, 1024);
  EXPECT_EQ(error_of(bind_softmax({}, softmax_signature(4096, 1000), {}, configured)),
            "row_softmax.cu:8:5: launch plan: the plan launches 2 kernels, over the limit of 1");
}

// A corrupted plan that still parses binds or fails with a PlanError, never with another
// exception or a crash.
TEST(CandidatePlanValidation, CorruptedPlansBindOrFailCleanly) {
  std::string text = fixture("row_softmax.cu");
  std::string ptx = fixture("row_softmax.ptx");
  size_t plan_end = text.find("*/");
  size_t bound = 0;
  for (size_t at = 0; at < plan_end; ++at) {
    for (char replacement : {'0', '9', 'x', '-', '*', '/', '.'}) {
      std::string corrupt = text;
      corrupt[at] = replacement;
      PlanResult<CandidateFile> candidate = parse_candidate(corrupt, "kernel.cu");
      if (!candidate.ok())
        continue;
      PlanResult<ResolvedPlan> result =
          bind_candidate(candidate.value(), ptx, softmax_signature(300, 70), {});
      bound += result.ok();
    }
  }
  EXPECT_GT(bound, 0u);
}

TEST(CandidatePlanValidation, ResolvesTheWorkedExample) {
  // docs/candidate-format.md walks through these numbers.
  PlanResult<ResolvedPlan> result = bind_softmax({});
  ASSERT_TRUE(result.ok()) << result.error().message();
  const ResolvedPlan& plan = result.value();
  EXPECT_EQ(plan.defines, (std::map<std::string, int64_t>{{"ROWS_PER_BLOCK", 8}}));
  ASSERT_EQ(plan.scratch.size(), 1u);
  EXPECT_EQ(plan.scratch[0].name, "stats");
  EXPECT_EQ(plan.scratch[0].numel, 8192);
  EXPECT_EQ(plan.scratch[0].bytes, 32768);
  ASSERT_EQ(plan.launches.size(), 2u);
  const ResolvedLaunch& stats = plan.launches[0];
  EXPECT_EQ(stats.kernel, "row_stats");
  EXPECT_EQ(stats.grid, (std::array<int64_t, 3>{512, 1, 1}));
  EXPECT_EQ(stats.block, (std::array<int64_t, 3>{32, 8, 1}));
  EXPECT_EQ(stats.shared_bytes, 0);
  ASSERT_EQ(stats.args.size(), 5u);
  EXPECT_EQ(stats.args[0].kind, ResolvedArgument::Kind::kTensor);
  EXPECT_EQ(stats.args[0].tensor, "x");
  EXPECT_EQ(stats.args[0].role, TensorRole::kInput);
  EXPECT_EQ(stats.args[1].tensor, "stats");
  EXPECT_EQ(stats.args[1].role, TensorRole::kScratch);
  EXPECT_EQ(stats.args[2].kind, ResolvedArgument::Kind::kFloat);
  EXPECT_EQ(stats.args[2].real, 0.5);
  EXPECT_EQ(stats.args[2].type, ScalarType::kFloat32);
  EXPECT_EQ(stats.args[2].width, 4u);
  float half_value = 0.5f;
  EXPECT_EQ(stats.args[2].value_bytes(), std::string(reinterpret_cast<char*>(&half_value), 4));
  EXPECT_EQ(stats.args[3].kind, ResolvedArgument::Kind::kInteger);
  EXPECT_EQ(stats.args[3].integer, 4096);
  EXPECT_EQ(stats.args[3].type, ScalarType::kInt32);
  EXPECT_EQ(stats.args[3].value_bytes(), std::string("\x00\x10\x00\x00", 4));
  EXPECT_EQ(stats.args[4].integer, 1000);
  const ResolvedLaunch& normalize = plan.launches[1];
  EXPECT_EQ(normalize.grid, (std::array<int64_t, 3>{4, 4096, 1}));
  EXPECT_EQ(normalize.block, (std::array<int64_t, 3>{256, 1, 1}));
  EXPECT_EQ(normalize.args[3].tensor, "out0");
  EXPECT_EQ(normalize.args[3].role, TensorRole::kOutput);
  EXPECT_EQ(normalize.args[4].tensor, "out1");

  // A check shape that is not a multiple of 32, and another define value (a smaller block than
  // the PTX's __launch_bounds__ of 256 allows).
  PlanResult<ResolvedPlan> small =
      bind_softmax({}, softmax_signature(37, 333), {{"ROWS_PER_BLOCK", 4}});
  ASSERT_TRUE(small.ok()) << small.error().message();
  EXPECT_EQ(small.value().launches[0].grid, (std::array<int64_t, 3>{10, 1, 1}));
  EXPECT_EQ(small.value().launches[0].block, (std::array<int64_t, 3>{32, 4, 1}));
  EXPECT_EQ(small.value().launches[1].grid, (std::array<int64_t, 3>{2, 37, 1}));
  EXPECT_EQ(small.value().scratch[0].numel, 74);

  // The worker's JSON form round-trips.
  nlohmann::json json = plan.to_json();
  EXPECT_EQ(ResolvedPlan::from_json(json, "test").to_json(), json);
  EXPECT_EQ(json["launches"][0]["args"][3], nlohmann::json({{"kind", "integer"},
                                                            {"type", "int32"},
                                                            {"width", 4},
                                                            {"value", 4096},
                                                            {"bytes", "00100000"}}));
  json["launches"][0]["args"][0]["role"] = "weights";
  EXPECT_THROW(ResolvedPlan::from_json(json, "test"), Error);
  EXPECT_THROW(ResolvedPlan::from_json(nlohmann::json::object(), "test"), Error);
}

TEST(CandidatePlanValidation, EncodesNarrowFloatArguments) {
  auto bytes_of = [](double value, ScalarType type) {
    ResolvedArgument argument;
    argument.kind = ResolvedArgument::Kind::kFloat;
    argument.real = value;
    argument.type = type;
    argument.width = scalar_type_size(type);
    std::string bytes = argument.value_bytes();
    uint16_t bits = 0;
    std::memcpy(&bits, bytes.data(), 2);
    return bits;
  };
  EXPECT_EQ(bytes_of(1.0, ScalarType::kFloat16), 0x3c00);
  EXPECT_EQ(bytes_of(-2.5, ScalarType::kFloat16), 0xc100);
  EXPECT_EQ(bytes_of(0.1, ScalarType::kFloat16), 0x2e66);
  EXPECT_EQ(bytes_of(65504.0, ScalarType::kFloat16), 0x7bff);
  EXPECT_EQ(bytes_of(65520.0, ScalarType::kFloat16), 0x7c00);  // rounds up to infinity
  EXPECT_EQ(bytes_of(5.960464477539063e-08, ScalarType::kFloat16), 0x0001);  // smallest subnormal
  EXPECT_EQ(bytes_of(1e-9, ScalarType::kFloat16), 0x0000);
  EXPECT_EQ(bytes_of(1.0, ScalarType::kBFloat16), 0x3f80);
  EXPECT_EQ(bytes_of(0.1, ScalarType::kBFloat16), 0x3dcd);
  EXPECT_EQ(bytes_of(-3.0e38, ScalarType::kBFloat16), 0xff62);
  EXPECT_EQ(bytes_of(std::nan(""), ScalarType::kBFloat16) & 0x7f80, 0x7f80);
  ResolvedArgument negative;
  negative.kind = ResolvedArgument::Kind::kInteger;
  negative.integer = -2;
  negative.type = ScalarType::kInt16;
  negative.width = 2;
  EXPECT_EQ(negative.value_bytes(), std::string("\xfe\xff", 2));
}

// The docs/design.md example end to end with the real nvcc, where it is installed.
TEST(CandidatePlanValidation, DesignExampleWithRealNvcc) {
  std::filesystem::path nvcc = "/usr/local/cuda/bin/nvcc";
  if (!std::filesystem::exists(nvcc))
    GTEST_SKIP() << "nvcc is not installed at " << nvcc;
  std::string text = R"(/* kforge:launch
{
  "kernels": [
    {"name": "scale_rows", "grid": ["x.shape[0]"], "block": ["BLOCK"],
     "shared_bytes": "0", "args": ["x", "out", "x.shape[1]"]}
  ],
  "scratch": [],
  "defines": {"BLOCK": {"default": 256, "values": [128, 256, 512, 1024]}}
}
*/
extern "C" __global__ void scale_rows(const float* x, float* out, long cols) {
  for (long c = threadIdx.x; c < cols; c += BLOCK)
    out[blockIdx.x * cols + c] = 2.0f * x[blockIdx.x * cols + c];
}
)";
  PlanResult<CandidateFile> candidate = parse_candidate(text, "scale.cu");
  ASSERT_TRUE(candidate.ok()) << candidate.error().message();
  std::map<std::string, int64_t> defines = choose_define_values(candidate.value().plan, {});
  testing::TemporaryDirectory dir;
  testing::write_text(dir / "scale.cu", candidate.value().source());
  ProcessSpec spec;
  spec.program = nvcc;
  spec.arguments = {"-ptx", "-arch=sm_90"};
  for (const std::string& option : define_options(defines))
    spec.arguments.push_back(option);
  spec.arguments.insert(spec.arguments.end(),
                        {(dir / "scale.cu").string(), "-o", (dir / "scale.ptx").string()});
  spec.time_limit = std::chrono::minutes(2);
  ProcessResult compiled = run_process(spec);
  ASSERT_TRUE(compiled.succeeded()) << compiled.describe_end() << compiled.standard_error;

  Signature signature;
  signature.inputs.push_back({"x", ArgumentKind::kTensor, DType::kF32, {16, 1024}, {}});
  signature.outputs.push_back({"out", ArgumentKind::kTensor, DType::kF32, {16, 1024}, {}});
  PlanResult<ResolvedPlan> bound =
      bind_candidate(candidate.value(), files::read(dir / "scale.ptx"), signature, defines);
  ASSERT_TRUE(bound.ok()) << bound.error().message();
  const ResolvedLaunch& launch = bound.value().launches[0];
  EXPECT_EQ(launch.grid, (std::array<int64_t, 3>{16, 1, 1}));
  EXPECT_EQ(launch.block, (std::array<int64_t, 3>{256, 1, 1}));
  EXPECT_EQ(launch.args[2].integer, 1024);
  EXPECT_EQ(launch.args[2].type, ScalarType::kInt64);
  EXPECT_EQ(launch.args[2].width, 8u);
}

}  // namespace
}  // namespace kforge

// The two readers of a launch plan agree: kforge's candidate parser (harness/candidate/), which
// checks a kernel before it is shipped, and the kernel library's (kernels/runtime/kernel_file),
// which reads it when the shipped kernel runs. Both find the plan comment through the library's
// find_launch_plan_comment; for every plan the candidate parser accepts, the runtime must read
// the same kernels, expressions, scratch buffers (dtypes the runtime can size), defines and
// targets, and hand NVRTC the same source. A plan kforge accepted and the runtime then misread
// (a `/*kforge:launch` without a space, a decoy in a string literal, "torch.float32", a byte
// order mark) fails here. Both read the plan's JSON with the library's one reader
// (kforge/kernels/located_json.hpp, plan_reader.hpp), so a plan kforge refuses (a duplicate or
// unknown key, an integer past 64 bits, an expression that does not parse) the runtime refuses
// too, at the same line and column: that is checked here, on a table of such plans.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "harness/candidate/candidate_file.hpp"
#include "harness/util/files.hpp"
#include "kforge/kernels/error.hpp"
#include "kforge/kernels/kernel_file.hpp"
#include "kforge/kernels/launch.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The runtime's reading in LaunchPlan::to_json()'s form.
json runtime_plan_json(const kernels::KernelFile& file) {
  json plan = {{"kernels", json::array()}, {"scratch", json::array()}, {"defines", json::object()}};
  for (const kernels::PlannedLaunch& launch : file.launches) {
    plan["kernels"].push_back({{"name", launch.name},
                               {"grid", launch.grid},
                               {"block", launch.block},
                               {"shared_bytes", launch.shared_bytes},
                               {"args", launch.args}});
  }
  for (const kernels::PlannedScratch& scratch : file.scratch)
    plan["scratch"].push_back(
        {{"name", scratch.name}, {"dtype", scratch.dtype}, {"numel", scratch.numel}});
  for (const kernels::DefineChoice& define : file.defines)
    plan["defines"][define.name] = {{"default", define.default_value}, {"values", define.values}};
  if (!file.arch_targets.empty())
    plan["arch"] = file.arch_targets;
  if (!file.constraints.empty())
    plan["constraints"] = file.constraints;
  return plan;
}

void expect_same_reading(const std::string& text, const std::string& name) {
  SCOPED_TRACE(name);
  PlanResult<CandidateFile> candidate = parse_candidate(text, name);
  ASSERT_TRUE(candidate.ok()) << candidate.error().message();
  kernels::KernelFile file;
  try {
    file = kernels::parse_kernel_file(text, name);
  } catch (const kernels::KernelError& error) {
    FAIL() << "kforge accepts the plan; the runtime refuses it: " << error.what();
  }
  const nlohmann::json runtime = runtime_plan_json(file);
  const nlohmann::json kforge = candidate.value().plan.to_json();
  EXPECT_EQ(runtime.dump(), kforge.dump());
  EXPECT_EQ(file.source, candidate.value().source());
  for (const kernels::PlannedScratch& scratch : file.scratch)
    EXPECT_NO_THROW(kernels::dtype_size(scratch.dtype)) << scratch.dtype;
}

const char* kKernel = "extern \"C\" __global__ void k(const float* x, float* out, long n) {}\n";

std::string with_plan(const std::string& comment) {
  return comment + "\n" + kKernel;
}

TEST(LaunchPlanReaders, AgreeOnEveryShippedKernel) {
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(testing::source_dir() / "kernels")) {
    if (entry.path().filename() != "kernel.cu")
      continue;
    ++files;
    expect_same_reading(files::read(entry.path()), entry.path().string());
  }
  EXPECT_GT(files, 10);
}

TEST(LaunchPlanReaders, AgreeOnHowThePlanIsWritten) {
  const std::string plan = R"json({"kernels": [{"name": "k",
    "grid": ["ceil_div(x.numel, BLOCK)", 1], "block": ["BLOCK"], "args": ["x", "out", "x.numel"]}],
    "defines": {"VEC": {"default": 4}, "BLOCK": {"default": 256, "values": [512, 256]}}})json";
  expect_same_reading(with_plan("/* kforge:launch " + plan + " */"), "spaced.cu");
  expect_same_reading(with_plan("/*kforge:launch\n" + plan + "*/"), "no_space.cu");
  expect_same_reading(with_plan("/*\n   kforge:launch\n" + plan + "\n*/"), "marker_on_its_line.cu");
  // Decoys the compiler never sees as the plan: in a string literal, and in a line comment
  // that does not hold the marker.
  expect_same_reading("const char* s = \"/* kforge:launch {} */\";\n" +
                          with_plan("/* kforge:launch " + plan + " */"),
                      "decoy_in_string.cu");
  expect_same_reading("// see the /* plan below\n" + with_plan("/* kforge:launch " + plan + " */"),
                      "line_comment_before.cu");
  expect_same_reading("\xEF\xBB\xBF" + with_plan("/* kforge:launch " + plan + " */"),
                      "byte_order_mark.cu");
}

TEST(LaunchPlanReaders, AgreeOnScratchArchAndIntegerExpressions) {
  expect_same_reading(with_plan(R"(/* kforge:launch
{"kernels": [{"name": "k", "grid": [2, "x.numel"], "block": [128],
              "shared_bytes": 4096, "args": ["x", "out", "tmp", 7]}],
 "scratch": [{"name": "tmp", "dtype": "torch.float32", "numel": "x.numel"},
             {"name": "flags", "dtype": "int8", "numel": 64}],
 "arch": "sm_90a"}
*/)"),
                      "scratch_and_arch.cu");
  expect_same_reading(with_plan(R"(/* kforge:launch
{"kernels": [{"name": "k", "grid": ["1"], "block": ["1"], "args": []}],
 "arch": ["sm_100f", "sm_90a"], "scratch": [], "defines": {}}
*/)"),
                      "arch_list.cu");
}

TEST(LaunchPlanReaders, AgreeOnConstraints) {
  expect_same_reading(with_plan(R"j(/* kforge:launch
{"kernels": [{"name": "k", "grid": ["ceil_div(x.numel, BLOCK * VEC)"], "block": ["BLOCK"],
              "args": ["x", "out", "x.numel"]}],
 "defines": {"BLOCK": {"default": 128, "values": [64, 128]}, "VEC": {"default": 1}},
 "constraints": ["BLOCK * VEC <= 4096",
                 "x.shape[0] % VEC == 0 || !(VEC > 1) && BLOCK >= 64"]
}
*/)j"),
                      "constraints.cu");
}

// A file without a usable plan comment is refused by both, at the same place.
TEST(LaunchPlanReaders, RefuseTheSameMissingOrRepeatedComment) {
  for (const std::string& text : std::vector<std::string>{
           std::string(kKernel), "// kforge:launch {}\n" + std::string(kKernel),
           "\n\n/* kforge:launch {\"kernels\": []}\n",
           "/* kforge:launch {} */\n/* kforge:launch {} */\n", "/* kforge:launchX {} */\n"}) {
    SCOPED_TRACE(text);
    PlanResult<CandidateFile> candidate = parse_candidate(text, "k.cu");
    ASSERT_FALSE(candidate.ok());
    try {
      kernels::parse_kernel_file(text, "k.cu");
      FAIL() << "the runtime read a plan kforge refuses: " << candidate.error().message();
    } catch (const kernels::KernelError& error) {
      // kforge: "k.cu:L:C: message"; the runtime: "message (k.cu:L:C)".
      EXPECT_EQ(error.where() + ": " + error.problem(), candidate.error().message());
    }
  }
}

// Plans kforge refuses, each once: the runtime must refuse it too, at the same place, with the
// same words (kforge adds "did you mean" where a name is close to an allowed one).
TEST(LaunchPlanReaders, RefuseTheSameMalformedPlans) {
  const std::string kernel = R"("name": "k", "grid": [1], "block": [32], "args": ["x", "out"])";
  const std::string good = "{\"kernels\": [{" + kernel + "}]}";
  const std::vector<std::string> plans = {
      // Keys: repeated (nlohmann::json keeps the last), unknown (nlohmann::json ignores it).
      "{\"kernels\": [{" + kernel + "}], \"kernels\": []}",
      "{\"kernels\": [{" + kernel + ", \"grid\": [2]}]}",
      R"({"defines": {"B": {"default": 1}, "B": {"default": 2}}, "kernels": [{)" + kernel + "}]}",
      "{\"kernels\": [{" + kernel + "}], \"kernals\": 1}",
      "{\"kernels\": [{" + kernel + ", \"threads\": 64}]}",
      "{\"kernels\": [{" + kernel + "}], \"scratch\": [{\"name\": \"t\", \"dtype\": \"float32\", " +
          "\"numel\": 4, \"size\": 4}]}",
      "{\"kernels\": [{" + kernel + "}], \"defines\": {\"B\": {\"default\": 1, \"value\": [1]}}}",
      // Integers past 64 bits (nlohmann::json reads 2^64 - 1 as unsigned and wraps it).
      R"({"kernels": [{"name": "k", "grid": [18446744073709551615], "block": [32], "args": []}]})",
      R"({"kernels": [{"name": "k", "grid": [1], "block": [-9223372036854775809], "args": []}]})",
      "{\"kernels\": [{" + kernel + "}], \"defines\": {\"B\": {\"default\": 9223372036854775808}}}",
      "{\"kernels\": [{" + kernel +
          "}], \"defines\": {\"B\": {\"default\": 1, \"values\": [1, 18446744073709551615]}}}",
      R"({"kernels": [{"name": "k", "grid": [1], "block": [32], "args": [], "shared_bytes": 1e3}]})",
      // Expressions that do not parse, names that are not identifiers.
      R"({"kernels": [{"name": "k", "grid": ["x.numel +"], "block": [32], "args": []}]})",
      R"j({"kernels": [{"name": "k", "grid": ["cel_div(x.numel, 2)"], "block": [32], "args": []}]})j",
      R"({"kernels": [{"name": "k", "grid": ["1"], "block": ["32"], "args": ["x @ 2"]}]})",
      R"({"kernels": [{"name": "my kernel", "grid": [1], "block": [32], "args": []}]})",
      "{\"kernels\": [{" + kernel + "}], \"defines\": {\"min\": {\"default\": 1}}}",
      // Values: a repeated define value, a default outside them, a scratch dtype or target that
      // does not exist, a repeated scratch buffer.
      "{\"kernels\": [{" + kernel +
          "}], \"defines\": {\"B\": {\"default\": 1, \"values\": [1, 1]}}}",
      "{\"kernels\": [{" + kernel +
          "}], \"defines\": {\"B\": {\"default\": 3, \"values\": [1, 2]}}}",
      "{\"kernels\": [{" + kernel +
          "}], \"scratch\": [{\"name\": \"t\", \"dtype\": \"flaot32\", \"numel\": 4}]}",
      "{\"kernels\": [{" + kernel +
          "}], \"scratch\": [{\"name\": \"t\", \"dtype\": \"float32\", \"numel\": 4}, " +
          "{\"name\": \"t\", \"dtype\": \"int8\", \"numel\": 4}]}",
      "{\"kernels\": [{" + kernel + "}], \"arch\": \"sm_90\"}",
      "{\"kernels\": [{" + kernel + "}], \"arch\": [\"sm_90a\", \"sm_90a\"]}",
      "{\"kernels\": []}",
      // Constraints: not an array, not a string, a condition that does not parse, a value that
      // is not a define (with defines, then without).
      "{\"kernels\": [{" + kernel + "}], \"constraints\": \"B <= 4\"}",
      "{\"kernels\": [{" + kernel + "}], \"constraints\": [4]}",
      "{\"kernels\": [{" + kernel +
          "}], \"defines\": {\"B\": {\"default\": 1}}, \"constraints\": [\"B = 1\"]}",
      "{\"kernels\": [{" + kernel +
          "}], \"defines\": {\"BLOCK\": {\"default\": 1}}, \"constraints\": [\"x.numel > 0\", "
          "\"BLOK <= 4\"]}",
      "{\"kernels\": [{" + kernel + "}], \"constraints\": [\"n % 2 == 0\"]}",
      // JSON that is not JSON: a trailing comma, single quotes, an unknown escape, text after it.
      "{\"kernels\": [{" + kernel + "},]}",
      "{'kernels': []}",
      R"({"kernels": [{"name": "k\q", "grid": [1], "block": [32], "args": []}]})",
      good + " {}",
  };
  // kforge: "k.cu:L:C: launch plan: <what>"; the runtime: "launch plan: <what> (k.cu:L:C)".
  const std::regex did_you_mean("; did you mean '[^']*'\\?");
  for (const std::string& plan : plans) {
    const std::string text = "/* kforge:launch\n" + plan + "\n*/\n" + kKernel;
    SCOPED_TRACE(plan);
    PlanResult<CandidateFile> candidate = parse_candidate(text, "k.cu");
    ASSERT_FALSE(candidate.ok()) << "kforge accepts it: the table is wrong";
    try {
      kernels::parse_kernel_file(text, "k.cu");
      ADD_FAILURE() << "the runtime reads a plan kforge refuses: " << candidate.error().message();
    } catch (const kernels::KernelError& error) {
      EXPECT_EQ(error.where() + ": " + error.problem(),
                std::regex_replace(candidate.error().message(), did_you_mean, ""));
    }
  }
  expect_same_reading(with_plan("/* kforge:launch " + good + " */"), "good.cu");
}

}  // namespace
}  // namespace kforge

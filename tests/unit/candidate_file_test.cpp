#include "harness/candidate/candidate_file.hpp"

#include <gtest/gtest.h>

#include "harness/util/files.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

// The plan error of parsing `text` as kernel.cu.
std::string error_of(const std::string& text) {
  PlanResult<CandidateFile> result = parse_candidate(text, "kernel.cu");
  if (result.ok()) {
    ADD_FAILURE() << "parsed without error:\n" << text;
    return "";
  }
  return result.error().message();
}

const char* kKernel =
    "extern \"C\" __global__ void scale_rows(const float* x, float* out, long cols) {}\n";

// The docs/design.md example, verbatim apart from the kernel body.
const std::string kDesignExample = R"(/* kforge:launch
{
  "kernels": [
    {"name": "scale_rows", "grid": ["x.shape[0]"], "block": ["BLOCK"],
     "shared_bytes": "0", "args": ["x", "out", "x.shape[1]"]}
  ],
  "scratch": [],
  "defines": {"BLOCK": {"default": 256, "values": [128, 256, 512, 1024]}}
}
*/
extern "C" __global__ void scale_rows(const float* x, float* out, long cols) { /* ... */ }
)";

TEST(CandidateFile, MissingOrRepeatedPlanBlock) {
  EXPECT_EQ(error_of(kKernel),
            "kernel.cu:1:1: no launch plan: the file needs one block comment "
            "/* kforge:launch {...} */ holding the plan as JSON");
  EXPECT_EQ(error_of(std::string("// kforge:launch {}\n") + kKernel),
            "kernel.cu:1:4: kforge:launch must open a block comment (/* kforge:launch {...} */), "
            "not a line comment");
  EXPECT_EQ(error_of("/* kforge:launch {\"kernels\": []}\n"),
            "kernel.cu:1:1: the kforge:launch comment is not closed with */");
  std::string plan =
      "/* kforge:launch {\"kernels\": [{\"name\": \"scale_rows\", \"grid\": [1], "
      "\"block\": [1], \"args\": []}]} */\n";
  EXPECT_EQ(error_of(plan + kKernel + "\n" + plan),
            "kernel.cu:4:1: a second kforge:launch block (the first is at line 1); a candidate "
            "has exactly one launch plan");
  EXPECT_EQ(error_of("/* kforge:launcher {} */\n"),
            "kernel.cu:1:17: expected white space and the plan's JSON after kforge:launch");
}

// Hostile or broken text ends as a PlanError, never as a crash or another exception: every
// prefix of a real candidate, and the candidate with each byte of its plan replaced.
TEST(CandidateFile, EveryTruncationOrCorruptionIsAPlanErrorOrAPlan) {
  std::string text =
      files::read(testing::source_dir() / "tests/unit/data/candidate/row_softmax.cu");
  size_t failures = 0;
  for (size_t length = 0; length <= text.size(); ++length) {
    PlanResult<CandidateFile> result = parse_candidate(text.substr(0, length), "kernel.cu");
    failures += !result.ok();
  }
  EXPECT_GT(failures, 0u);
  size_t plan_end = text.find("*/");
  for (size_t at = 0; at < plan_end; ++at) {
    for (char replacement : {'"', '{', ']', '\\', '\0', ',', '('}) {
      std::string corrupt = text;
      corrupt[at] = replacement;
      PlanResult<CandidateFile> result = parse_candidate(corrupt, "kernel.cu");
      if (!result.ok()) {
        EXPECT_EQ(result.error().message().rfind("kernel.cu:", 0), 0u) << result.error().message();
      }
    }
  }
}

TEST(CandidateFile, MarkersInStringsAndOtherCommentsDoNotCount) {
  std::string text = std::string("const char* s = \"/* kforge:launch {} */\";\n") +
                     "/* an ordinary comment mentioning kforge:launch */\n" + kDesignExample;
  PlanResult<CandidateFile> result = parse_candidate(text, "kernel.cu");
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result.value().plan.kernels.size(), 1u);
}

TEST(CandidateFile, JsonSyntaxErrorsMapToFilePositions) {
  EXPECT_EQ(
      error_of("// header\n/* kforge:launch\n{\n  \"kernels\": [\n    {\"name\": 'k'}\n]}\n*/"),
      "kernel.cu:5:14: launch plan: JSON strings take double quotes, not single quotes");
  EXPECT_EQ(error_of("/* kforge:launch\n{\"kernels\": [1, 2,]}\n*/"),
            "kernel.cu:2:19: launch plan: trailing comma before ']' (JSON allows none)");
  EXPECT_EQ(error_of("/* kforge:launch\n{\"kernels\": [] \"scratch\": []}\n*/"),
            "kernel.cu:2:16: launch plan: expected ',' or '}' in the object");
  EXPECT_EQ(error_of("/* kforge:launch\n{\"kernels\": [],\n \"kernels\": []}\n*/"),
            "kernel.cu:3:2: launch plan: duplicate key \"kernels\"");
  EXPECT_EQ(error_of("/* kforge:launch\n{\"kernels\": [\n*/"),
            "kernel.cu:3:1: launch plan: expected a JSON value before the end of the comment");
  EXPECT_EQ(error_of("/* kforge:launch {\"kernels\": \"abc\n\"} */"),
            "kernel.cu:1:34: launch plan: control character or line break inside a string");
  EXPECT_EQ(error_of("/* kforge:launch {} {} */"),
            "kernel.cu:1:21: launch plan: unexpected text after the JSON value");
  EXPECT_EQ(error_of("/* kforge:launch {\"kernels\": [01]} */"),
            "kernel.cu:1:31: launch plan: numbers may not have leading zeros");
}

TEST(CandidateFile, PlanErrorsNameTheValuesPosition) {
  // The error of the task brief: a grid that is not 1 to 3 expressions.
  std::string text =
      "/* kforge:launch\n"
      "{\"kernels\": [\n"
      "  {\"name\": \"scale_rows\",\n"
      "   \"grid\":      [\"1\", \"2\", \"3\", \"4\"], \"block\": [\"1\"], \"args\": []}\n"
      "]} */\n";
  EXPECT_EQ(error_of(text),
            "kernel.cu:4:17: launch plan: \"grid\" must be an array of 1 to 3 expressions");
  EXPECT_EQ(error_of("/* kforge:launch\n{\"kernels\": [{\"name\": \"k\", \"grid\": [],\n"
                     "\"block\": [1], \"args\": []}]} */"),
            "kernel.cu:2:36: launch plan: \"grid\" must be an array of 1 to 3 expressions");
  EXPECT_EQ(error_of("/* kforge:launch\n{\"kernels\": [{\"name\": \"k\", \"grid\": [1],\n"
                     "\"block\": [\"1\", \"x.shape[\"], \"args\": []}]} */"),
            "kernel.cu:3:25: launch plan: kernel 'k' block[1] \"x.shape[\": shape index must be "
            "an integer literal");
  EXPECT_EQ(error_of("/* kforge:launch\n{\"kernel\": []} */"),
            "kernel.cu:2:2: launch plan: unknown launch plan key 'kernel'; did you mean "
            "'kernels'? (allowed: kernels, scratch, defines, arch, constraints)");
}

TEST(CandidateFile, ExpressionPositionsFollowEscapes) {
  // `\u0020` is one character of the expression but six of the file.
  std::string text =
      "/* kforge:launch {\"kernels\": [{\"name\": \"k\", \"grid\": "
      "[\"1\\u0020+\\u0020)\"], \"block\": [1], \"args\": []}]} */";
  EXPECT_EQ(error_of(text),
            "kernel.cu:1:69: launch plan: kernel 'k' grid[0] \"1 + )\": "
            "unexpected ')' where a value was expected");
}

TEST(CandidateFile, ParsesTheDesignExample) {
  PlanResult<CandidateFile> result = parse_candidate(kDesignExample, "kernel.cu");
  ASSERT_TRUE(result.ok()) << result.error().message();
  const CandidateFile& candidate = result.value();
  EXPECT_EQ(candidate.file_name(), "kernel.cu");
  EXPECT_EQ(candidate.source(), kDesignExample);
  ASSERT_EQ(candidate.plan.kernels.size(), 1u);
  const KernelLaunch& launch = candidate.plan.kernels[0];
  EXPECT_EQ(launch.name, "scale_rows");
  ASSERT_EQ(launch.grid.size(), 1u);
  EXPECT_EQ(launch.grid[0].text(), "x.shape[0]");
  EXPECT_EQ(launch.block[0].text(), "BLOCK");
  EXPECT_EQ(launch.shared_bytes.text(), "0");
  ASSERT_EQ(launch.args.size(), 3u);
  EXPECT_EQ(launch.args[2].text(), "x.shape[1]");
  EXPECT_EQ(launch.where, "kernel.cu:4:5: launch plan");
  ASSERT_EQ(candidate.defines().size(), 1u);
  EXPECT_EQ(candidate.defines()[0].name, "BLOCK");
  EXPECT_EQ(candidate.defines()[0].default_value, 256);
  EXPECT_EQ(candidate.defines()[0].values, (std::vector<int64_t>{128, 256, 512, 1024}));
  ASSERT_EQ(candidate.kernels.size(), 1u);
  EXPECT_EQ(candidate.kernels[0].name, "scale_rows");
  EXPECT_TRUE(candidate.kernels[0].extern_c);
  EXPECT_EQ(candidate.kernels[0].parameters.size(), 3u);
}

TEST(CandidateFile, ReadsFromDiskAndFailsOnAMissingFile) {
  testing::TemporaryDirectory dir;
  testing::write_text(dir / "scale.cu", kDesignExample);
  PlanResult<CandidateFile> result = read_candidate(dir / "scale.cu");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.value().file_name(), "scale.cu");
  EXPECT_THROW(read_candidate(dir / "missing.cu"), Error);
}

}  // namespace
}  // namespace kforge

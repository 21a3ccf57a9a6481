#include "agents/response_parser.hpp"

#include <gtest/gtest.h>

namespace kforge::agents {
namespace {

const std::string kKernel =
    "/* kforge:launch\n{\"kernels\": [{\"name\": \"k\", \"grid\": [\"1\"], \"block\": [\"32\"], "
    "\"shared_bytes\": \"0\", \"args\": [\"x\", \"out\"]}]}\n*/\n"
    "extern \"C\" __global__ void k(const float* x, float* out) { out[threadIdx.x] = "
    "x[threadIdx.x]; }\n";

TEST(AgentsResponseParser, TakesTheFencedBlockOutOfProse) {
  ParsedReply parsed =
      parse_reply("Here is my kernel.\n\n```cuda\n" + kKernel + "```\n\nIt copies x.\n");
  ASSERT_TRUE(parsed.source) << parsed.reason;
  EXPECT_EQ(*parsed.source, kKernel);
  EXPECT_EQ(parsed.code_blocks, 1);
  EXPECT_TRUE(parsed.reason.empty());
}

TEST(AgentsResponseParser, ChoosesTheBlockWithTheLaunchPlanAndTheLastOfSeveral) {
  std::string older = kKernel;
  older.replace(older.find("out[threadIdx.x]"), 3, "old");
  std::string reply = "```python\nprint('reference')\n```\n```cpp\n" + older +
                      "```\nBetter:\n  ~~~~\n" + kKernel +
                      "  ~~~~\n```\n__global__ void helper() {}\n```\n";
  ParsedReply parsed = parse_reply(reply);
  ASSERT_TRUE(parsed.source) << parsed.reason;
  EXPECT_EQ(*parsed.source, kKernel);
  EXPECT_EQ(parsed.code_blocks, 4);
}

TEST(AgentsResponseParser, AcceptsUnfencedCodeAndAnAnswerCutOffInsideItsBlock) {
  ParsedReply bare = parse_reply("Sure:\n" + kKernel + "\nDone.");
  ASSERT_TRUE(bare.source) << bare.reason;
  EXPECT_EQ(bare.source->find("/* kforge:launch"), 0u);
  EXPECT_EQ(bare.source->find("Done."), std::string::npos);

  ParsedReply cut = parse_reply("```cuda\n" + kKernel);
  ASSERT_TRUE(cut.source) << cut.reason;
  EXPECT_EQ(*cut.source, kKernel);
}

TEST(AgentsResponseParser, NoUsableCandidateGivesTheReason) {
  EXPECT_EQ(parse_reply("  \n").reason, "the answer is empty");
  ParsedReply prose = parse_reply("I would tile it in shared memory.");
  EXPECT_FALSE(prose.source);
  EXPECT_NE(prose.reason.find("no code block"), std::string::npos);
  ParsedReply no_plan = parse_reply("```cuda\n__global__ void k() {}\n```\n```\nx\n```");
  EXPECT_FALSE(no_plan.source);
  EXPECT_NE(no_plan.reason.find("2 code block(s) but none has a kforge:launch"), std::string::npos)
      << no_plan.reason;
  ParsedReply no_kernel = parse_reply("```cuda\n/* kforge:launch {} */\nint x;\n```");
  EXPECT_FALSE(no_kernel.source);
  EXPECT_NE(no_kernel.reason.find("no __global__"), std::string::npos);
  std::string big = "```cuda\n" + kKernel + std::string(kMaxCandidateBytes, ' ') + "\n```";
  ParsedReply too_big = parse_reply(big);
  EXPECT_FALSE(too_big.source);
  EXPECT_NE(too_big.reason.find("more than the limit"), std::string::npos);
}

}  // namespace
}  // namespace kforge::agents

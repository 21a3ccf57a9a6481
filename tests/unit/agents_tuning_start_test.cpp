// The LLM's start of a tuning run, on the agent's side: the conversation shows the kernel, its
// space and the task; the points are read out of an answer however it wraps them; and a request
// through a real provider to the fake server on 127.0.0.1 gives the points, or one line saying
// why there are none, never an exception.
#include "agents/tuning_start.hpp"

#include <gtest/gtest.h>

#include "harness/util/files.hpp"
#include "tests/support/fake_llm_server.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::agents {
namespace {

using nlohmann::json;

TuningStartAsk tiled_ask() {
  TuningStartAsk ask;
  ask.task = {"tiny/tiny_relu",
              "import torch\nclass Model(torch.nn.Module): pass  # marker\n",
              {{"inputs", {{{"name", "x"}, {"shape", {64, 100}}}}}}};
  ask.gpu = {"NVIDIA H100 80GB HBM3", "sm_90", 132, 3350, 232448};
  ask.file_name = "tiled.cu";
  ask.source = "extern \"C\" __global__ void tiled_relu() {} // kernel marker\n";
  ask.defines = {{"BLOCK", 128, {32, 64, 128, 256}}, {"ITEMS", 1, {1, 2, 4}}};
  ask.constraints = {"BLOCK * ITEMS <= 256"};
  ask.declared_points = 12;
  ask.valid_points = 9;
  ask.count = 4;
  return ask;
}

TEST(AgentsTuningStart, TheConversationShowsTheKernelItsSpaceTheTaskAndTheCount) {
  Conversation conversation = tuning_start_conversation(PromptLibrary::load(), tiled_ask());
  EXPECT_NE(conversation.system.find("defines"), std::string::npos);
  EXPECT_NE(conversation.system.find("```json"), std::string::npos);
  ASSERT_EQ(conversation.messages.size(), 1u);
  EXPECT_EQ(conversation.messages[0].role, "user");
  const std::string& user = conversation.messages[0].content;
  for (const char* expected :
       {"tiny/tiny_relu", "# marker", "\"shape\"", "NVIDIA H100 80GB HBM3",
        "streaming multiprocessors: 132", "tiled.cu", "// kernel marker",
        "- BLOCK: 32, 64, 128, 256 (default 128)", "- ITEMS: 1, 2, 4 (default 1)",
        "- `BLOCK * ITEMS <= 256`", "12 combinations, of which 9 satisfy", "up to 4 points",
        R"([{"BLOCK":128,"ITEMS":1}])"})
    EXPECT_NE(user.find(expected), std::string::npos) << expected << "\n" << user;
  EXPECT_EQ(user.find("{{"), std::string::npos) << user;

  TuningStartAsk free = tiled_ask();
  free.constraints.clear();
  free.sampled = true;
  free.valid_points = 5;
  const std::string other =
      tuning_start_conversation(PromptLibrary::load(), free).messages[0].content;
  EXPECT_NE(other.find("(none: every combination"), std::string::npos) << other;
  EXPECT_NE(other.find("a uniform sample of 5 points"), std::string::npos) << other;
}

TEST(AgentsTuningStart, PointsAreReadFromTheLastJsonBlockOrTheBareAnswer) {
  ParsedPoints fenced = parse_points_reply(
      "Thinking aloud:\n```json\n[{\"BLOCK\": 32}]\n```\nOn reflection:\n```json\n"
      "[{\"BLOCK\": 256, \"ITEMS\": 1}, {\"BLOCK\": 128, \"ITEMS\": 2}]\n```\nDone.");
  ASSERT_TRUE(fenced.points) << fenced.reason;
  EXPECT_EQ(*fenced.points, json::parse(R"([{"BLOCK": 256, "ITEMS": 1}, {"BLOCK": 128,
                                             "ITEMS": 2}])"));
  ParsedPoints wrapped = parse_points_reply("```\n{\"points\": [{\"BLOCK\": 64}]}\n```");
  ASSERT_TRUE(wrapped.points) << wrapped.reason;
  EXPECT_EQ(*wrapped.points, json::parse(R"([{"BLOCK": 64}])"));
  ParsedPoints bare = parse_points_reply("  [{\"BLOCK\": 64, \"ITEMS\": 4}]\n");
  ASSERT_TRUE(bare.points) << bare.reason;
  ParsedPoints inline_list =
      parse_points_reply("Try these: [{\"BLOCK\": 64, \"ITEMS\": 4}] and tell me.");
  ASSERT_TRUE(inline_list.points) << inline_list.reason;
  EXPECT_EQ(inline_list.points->size(), 1u);

  ParsedPoints empty = parse_points_reply(" \n");
  EXPECT_FALSE(empty.points);
  EXPECT_EQ(empty.reason, "the answer is empty");
  ParsedPoints prose = parse_points_reply("I would use a block of 256 threads.");
  EXPECT_FALSE(prose.points);
  EXPECT_EQ(prose.reason, "the answer holds no JSON list of points");
  ParsedPoints broken = parse_points_reply("```json\n[{\"BLOCK\": 256,\n```\n");
  EXPECT_FALSE(broken.points);
  EXPECT_EQ(broken.reason, "the answer has 1 code block(s) but none holds a JSON list of points");
}

ProviderSettings settings(const testing::FakeLlmServer& server, const std::string& model) {
  ProviderSettings settings;
  settings.base_url = server.base_url();
  settings.model = model;
  settings.retries = 0;
  settings.timeout = std::chrono::seconds(20);
  return settings;
}

TEST(AgentsTuningStart, ARequestToTheFakeServerGivesPointsOrOneLineWhyNot) {
  testing::TemporaryDirectory folder;
  const std::string answer =
      "Block 256 with 4 items per thread should coalesce well.\n```json\n"
      "[{\"BLOCK\": 256, \"ITEMS\": 4}, {\"BLOCK\": 128, \"ITEMS\": 2}]\n```\n";
  testing::write_text(folder.path() / "answer.md", answer);
  testing::FakeLlmServer server({"--answer", (folder.path() / "answer.md").string()});
  Conversation conversation = tuning_start_conversation(PromptLibrary::load(), tiled_ask());

  TuningStartProposal proposed =
      propose_tuning_start(*make_provider(settings(server, "ok")), conversation);
  ASSERT_TRUE(proposed.points) << proposed.failure << proposed.response.error;
  EXPECT_TRUE(proposed.failure.empty());
  EXPECT_EQ(proposed.points->size(), 2u);
  EXPECT_EQ(proposed.response.text, answer);
  // What was sent: the system prompt and the one user turn, as the provider's protocol has them.
  json requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const std::string body = requests[0]["body"].dump();
  EXPECT_NE(body.find("BLOCK * ITEMS <= 256"), std::string::npos);
  EXPECT_NE(body.find("up to 4 points"), std::string::npos);

  TuningStartProposal prose =
      propose_tuning_start(*make_provider(settings(server, "nocode")), conversation);
  EXPECT_TRUE(prose.response.ok());
  EXPECT_FALSE(prose.points);
  EXPECT_EQ(prose.failure, "the answer holds no JSON list of points");

  TuningStartProposal failed =
      propose_tuning_start(*make_provider(settings(server, "500")), conversation);
  EXPECT_FALSE(failed.response.ok());
  EXPECT_FALSE(failed.points);
  EXPECT_EQ(failed.failure.rfind("the LLM request failed (server_error): ", 0), 0u)
      << failed.failure;
  EXPECT_EQ(failed.failure.find('\n'), std::string::npos) << failed.failure;

  TuningStartProposal malformed =
      propose_tuning_start(*make_provider(settings(server, "malformed")), conversation);
  EXPECT_FALSE(malformed.points);
  EXPECT_EQ(malformed.failure.rfind("the LLM request failed (malformed)", 0), 0u)
      << malformed.failure;
}

}  // namespace
}  // namespace kforge::agents

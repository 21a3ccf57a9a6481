// The protocol of cli/mcp/server.hpp on string streams, with a small table of tools written
// here (kforge's own tools are tested through the real binary: tests/system/mcp_test.cpp).
#include "cli/mcp/server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <thread>

namespace kforge::mcp {
namespace {

using nlohmann::json;

class TestContent : public ServerContent {
 public:
  TestContent() {
    tools_ = {
        {.name = "echo",
         .title = "Echo",
         .description = "returns its text",
         .input_schema = {{"type", "object"},
                          {"properties", {{"text", {{"type", "string"}}}}},
                          {"required", {"text"}},
                          {"additionalProperties", false}},
         .output_schema = {{"type", "object"}, {"properties", {{"text", {{"type", "string"}}}}}},
         .call =
             [](const json& arguments, CallContext& context) {
               context.progress(1, 1, "echoed");
               return ToolResult{.structured = {{"text", arguments["text"]},
                                                {"client", context.client_info()["name"]}}};
             }},
        // Runs until the client cancels it (or ten seconds pass, which fails the test).
        {.name = "wait",
         .title = "Wait",
         .description = "waits to be cancelled",
         .input_schema = {{"type", "object"}},
         .output_schema = nullptr,
         .call =
             [this](const json&, CallContext& context) {
               started = true;
               auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
               while (!context.cancelled() && std::chrono::steady_clock::now() < limit)
                 std::this_thread::sleep_for(std::chrono::milliseconds(5));
               saw_cancel = context.cancelled();
               return ToolResult{.text = "done waiting"};
             }},
        {.name = "throws",
         .title = "Throws",
         .description = "fails",
         .input_schema = {{"type", "object"}},
         .output_schema = nullptr,
         .call = [](const json&, CallContext&) -> ToolResult {
           throw std::runtime_error("the tool broke");
         }},
    };
  }
  const std::vector<Tool>& tools() const override { return tools_; }
  std::vector<Resource> resources() override {
    return {{"test://one", "one", "the first", "text/plain"}};
  }
  std::optional<ResourceText> read_resource(const std::string& uri) override {
    if (uri != "test://one")
      return std::nullopt;
    return ResourceText{uri, "text/plain", "one"};
  }

  std::atomic<bool> started{false}, saw_cancel{false};

 private:
  std::vector<Tool> tools_;
};

// A stream whose reader blocks until `release` is called at a line: lets a test hold the
// server's input open until a tool is running.
class GatedInput : public std::streambuf {
 public:
  GatedInput(std::string before, std::string after, std::atomic<bool>& gate)
      : before_(std::move(before)), after_(std::move(after)), gate_(gate) {
    setg(before_.data(), before_.data(), before_.data() + before_.size());
  }

 protected:
  int_type underflow() override {
    if (!switched_) {
      while (!gate_.load())
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      switched_ = true;
      setg(after_.data(), after_.data(), after_.data() + after_.size());
      if (!after_.empty())
        return traits_type::to_int_type(after_[0]);
    }
    return traits_type::eof();
  }

 private:
  std::string before_, after_;
  std::atomic<bool>& gate_;
  bool switched_ = false;
};

std::vector<json> serve_lines(TestContent& content, const std::string& input) {
  std::istringstream in(input);
  std::ostringstream out;
  serve(content, {.version = "test"}, in, out, [](const std::string&) {});
  std::vector<json> messages;
  std::istringstream lines(out.str());
  std::string line;
  while (std::getline(lines, line))
    messages.push_back(json::parse(line));
  return messages;
}

const char* kInitialize =
    R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
    R"("capabilities":{},"clientInfo":{"name":"unit","version":"1"}}})"
    "\n";

TEST(McpServer, CallsAToolWithProgressAndTheClientsName) {
  TestContent content;
  auto messages = serve_lines(
      content, std::string(kInitialize) +
                   R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo",)"
                   R"("arguments":{"text":"hi"},"_meta":{"progressToken":"p"}}})"
                   "\n");
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[1]["method"], "notifications/progress");
  EXPECT_EQ(messages[1]["params"]["progressToken"], "p");
  EXPECT_EQ(messages[2]["id"], 1);
  EXPECT_EQ(messages[2]["result"]["structuredContent"]["text"], "hi");
  EXPECT_EQ(messages[2]["result"]["structuredContent"]["client"], "unit");
  EXPECT_EQ(json::parse(messages[2]["result"]["content"][0]["text"].get<std::string>())["text"],
            "hi");
}

TEST(McpServer, AToolsExceptionIsAToolErrorAndTheServerGoesOn) {
  TestContent content;
  auto messages = serve_lines(
      content,
      std::string(kInitialize) +
          R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"throws"}})"
          "\n"
          R"({"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"test://one"}})"
          "\n"
          R"({"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"test://two"}})"
          "\n");
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[1]["result"]["isError"], true);
  EXPECT_NE(messages[1]["result"]["content"][0]["text"].get<std::string>().find("the tool broke"),
            std::string::npos);
  EXPECT_FALSE(messages[1]["result"].contains("structuredContent"));
  EXPECT_EQ(messages[2]["result"]["contents"][0]["text"], "one");
  EXPECT_EQ(messages[3]["error"]["code"], kResourceNotFound);
}

// The cancellation arrives while the tool runs (the input is held open until it started): the
// tool sees it, its answer is not sent, and a ping after it is answered.
TEST(McpServer, ARunningCallSeesItsCancellationAndIsNotAnswered) {
  TestContent content;
  GatedInput input(
      std::string(kInitialize) +
          R"({"jsonrpc":"2.0","id":"w","method":"tools/call","params":{"name":"wait"}})"
          "\n",
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"w"}})"
      "\n"
      R"({"jsonrpc":"2.0","id":5,"method":"ping"})"
      "\n",
      content.started);
  std::istream in(&input);
  std::ostringstream out;
  serve(content, {.version = "test"}, in, out, [](const std::string&) {});
  EXPECT_TRUE(content.saw_cancel.load());
  std::istringstream lines(out.str());
  std::string line;
  std::vector<json> messages;
  while (std::getline(lines, line))
    messages.push_back(json::parse(line));
  ASSERT_EQ(messages.size(), 2u) << out.str();
  EXPECT_EQ(messages[0]["id"], 0);
  EXPECT_EQ(messages[1]["id"], 5);
}

TEST(McpServer, ARequestIdInUseIsRefused) {
  TestContent content;
  GatedInput input(
      std::string(kInitialize) +
          R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"wait"}})"
          "\n",
      R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"wait"}})"
      "\n"
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}})"
      "\n",
      content.started);
  std::istream in(&input);
  std::ostringstream out;
  serve(content, {.version = "test"}, in, out, [](const std::string&) {});
  EXPECT_NE(out.str().find("already in use"), std::string::npos) << out.str();
}

}  // namespace
}  // namespace kforge::mcp

// What an MCP server serves, apart from the protocol: tools (each a name, a description, JSON
// Schemas for its arguments and its result, and the call) and resources (read-only texts by
// URI). The protocol (server.hpp) knows nothing of kforge; kforge's tools are in
// kforge_tools.hpp.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kforge::mcp {

// What a running tool call may use: whether the client cancelled it, and progress reports
// (sent only where the client asked for them with a progress token; `done` must grow).
class CallContext {
 public:
  virtual ~CallContext() = default;
  virtual bool cancelled() const = 0;
  virtual void progress(double done, double total, const std::string& message) = 0;
  // The client's name and version from `initialize` ("claude-code 1.0.3"), for the store.
  virtual const nlohmann::json& client_info() const = 0;
};

// A tool's answer. A failure the model should see (a task that does not exist, a feature this
// build lacks) is an error result with a message, never an exception out of the server.
struct ToolResult {
  nlohmann::json structured = nlohmann::json::object();  // conforms to the output schema
  std::string text;                                      // "" gives the structured JSON as text
  bool is_error = false;

  static ToolResult error(std::string message) {
    return {.structured = nlohmann::json::object(), .text = std::move(message), .is_error = true};
  }
};

struct Tool {
  std::string name;
  std::string title;
  std::string description;
  nlohmann::json input_schema;
  nlohmann::json output_schema;  // null: the tool returns no structured content
  bool read_only = false;
  std::function<ToolResult(const nlohmann::json& arguments, CallContext& context)> call;
};

struct Resource {
  std::string uri;
  std::string name;
  std::string description;
  std::string mime_type;
};

struct ResourceText {
  std::string uri;
  std::string mime_type;
  std::string text;
};

// Everything a server serves. Calls come from one thread at a time (the server's worker), so
// an implementation may hold a store connection.
class ServerContent {
 public:
  virtual ~ServerContent() = default;
  virtual const std::vector<Tool>& tools() const = 0;
  virtual std::vector<Resource> resources() = 0;
  // Nothing for a URI it does not know.
  virtual std::optional<ResourceText> read_resource(const std::string& uri) = 0;
};

}  // namespace kforge::mcp

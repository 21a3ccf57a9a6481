// A Model Context Protocol server over a pair of streams (stdio for `kforge mcp`): JSON-RPC 2.0,
// one message per line, UTF-8. What it implements of the specification (revisions 2024-11-05 to
// 2025-11-25, the initialize handshake):
//   initialize        protocol version negotiation (the client's when supported, else the
//                     newest here), capabilities `tools` and `resources`, server info
//   ping              answered at any time, also while a tool runs
//   tools/list        every tool with its input and output JSON Schemas
//   tools/call        arguments checked against the input schema first; the result's content
//                     (the JSON as text) and structuredContent, isError for a tool's failure
//   resources/list, resources/read
//   notifications/cancelled   a queued call is dropped; a running one sees `cancelled()` and
//                     its answer is not sent
//   notifications/progress    sent for a call whose request carries `_meta.progressToken`
// Errors: -32700 for a line that is not JSON, -32600 for a message that is not a request (a
// batch, no method, a bad id, a call before initialize), -32601 for an unknown method, -32602
// for bad parameters and unknown tools or resources; from 2025-11-25 on, arguments that break a
// tool's schema are a tool error (isError) the model can read, as that revision asks, and -32602
// before it. The server answers and keeps reading after every one of them.
//
// Threads: the calling thread reads the input and answers what is quick (initialize, ping, the
// lists of tools, cancellation); tool calls and resource reads go, in order, to one worker
// thread, so ping and cancellation work while an evaluation runs. Output lines are written
// whole under one lock. Nothing but protocol messages goes to the output stream: logging is the
// caller's, on stderr.
#pragma once

#include <functional>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/mcp/tool.hpp"

namespace kforge::mcp {

// The protocol revisions this server speaks, oldest first; the last is offered when a client
// asks for one not in the list.
inline constexpr const char* kProtocolVersions[] = {"2024-11-05", "2025-03-26", "2025-06-18",
                                                    "2025-11-25"};

// JSON-RPC and MCP error codes.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kResourceNotFound = -32002;

struct ServerInfo {
  std::string name = "kforge";
  std::string version;
  std::string instructions;  // told to the client at initialize
};

// Serves `content` on `input`/`output` until the input ends, then waits for the call in hand.
// `log` hears one line per notable event (for stderr).
void serve(ServerContent& content, const ServerInfo& info, std::istream& input,
           std::ostream& output, const std::function<void(const std::string&)>& log);

}  // namespace kforge::mcp

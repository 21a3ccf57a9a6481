// kforge mcp [--arch sm_XX]
// A Model Context Protocol server on stdin/stdout (cli/mcp/server.hpp) serving kforge's tools
// (cli/mcp/kforge_tools.hpp) on the workspace's store: what a coding agent (Claude Code,
// Cursor, any MCP client) evaluates, imports and promotes lands where `kforge runs`, `show` and
// the exports see it. stdout carries protocol messages only; log lines go to stderr.
#include <csignal>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/mcp/kforge_tools.hpp"
#include "cli/mcp/server.hpp"
#include "harness/util/version.hpp"

namespace kforge::cli {

void add_mcp_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand(
      "mcp", "serve kforge's tools to coding agents: a Model Context Protocol server on stdio");
  auto arch = std::make_shared<std::string>();
  command->add_option("--arch", *arch,
                      "architecture to compile for (default: the GPU's, else config `arch`)");
  command->callback([arch, &context] {
    // A client that goes away mid-answer must not kill the server with SIGPIPE before the
    // evaluation in hand is stored.
    std::signal(SIGPIPE, SIG_IGN);
    Workspace& workspace = context.workspace();
    workspace.store();  // a store that cannot open is an error now, not at the first call
    mcp::KforgeTools tools(workspace, *arch, context.options.gpu_worker_command);
    mcp::ServerInfo info{
        .version = kVersion,
        .instructions =
            "kforge judges CUDA kernels for PyTorch tasks. Read kforge://docs/candidate-format "
            "for how a candidate is written, show_task for the signature it binds to, then "
            "evaluate: the verdict is trustworthy (sandboxed compile, verification on several "
            "seeds and shapes, timing with baselines); without a GPU the best verdict is "
            "`compiled`."};
    context.progress("kforge mcp: serving " + workspace.db_path().string() + " on stdio");
    mcp::serve(tools, info, std::cin, std::cout,
               [&context](const std::string& line) { context.progress("kforge mcp: " + line); });
  });
}

}  // namespace kforge::cli

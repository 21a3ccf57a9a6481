// The table of subcommands: each row names a command and the function that adds it (its
// flags and its action) to the parser. One file per command, cli/command_<name>.cpp.
#pragma once

#include <CLI/CLI.hpp>
#include <span>
#include <string_view>

#include "cli/context.hpp"

namespace kforge::cli {

struct CommandEntry {
  std::string_view name;
  void (*add)(CLI::App& parent, Context& context);
};

std::span<const CommandEntry> commands();

// One declaration per command file.
void add_config_command(CLI::App& parent, Context& context);
void add_doctor_command(CLI::App& parent, Context& context);
void add_eval_command(CLI::App& parent, Context& context);
void add_optimize_command(CLI::App& parent, Context& context);
void add_promote_command(CLI::App& parent, Context& context);
void add_library_command(CLI::App& parent, Context& context);

// The kernel library folder: `flag` when given, else config `library.dir` under the workspace.
std::filesystem::path library_root(Workspace& workspace, const std::string& flag);
void add_runs_command(CLI::App& parent, Context& context);
void add_show_command(CLI::App& parent, Context& context);
void add_tasks_command(CLI::App& parent, Context& context);
void add_dataset_command(CLI::App& parent, Context& context);
void add_version_command(CLI::App& parent, Context& context);
void add_worker_command(CLI::App& parent, Context& context);
void add_watch_command(CLI::App& parent, Context& context);

}  // namespace kforge::cli

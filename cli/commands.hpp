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
void add_mcp_command(CLI::App& parent, Context& context);
void add_runs_command(CLI::App& parent, Context& context);
void add_show_command(CLI::App& parent, Context& context);
void add_tasks_command(CLI::App& parent, Context& context);
void add_dataset_command(CLI::App& parent, Context& context);
void add_tune_command(CLI::App& parent, Context& context);
void add_version_command(CLI::App& parent, Context& context);
void add_worker_command(CLI::App& parent, Context& context);
void add_profile_command(CLI::App& parent, Context& context);
// The `profile` group's subcommands, one file each (command_profile_<name>.cpp).
void add_profile_metrics_command(CLI::App& profile, Context& context);
void add_profile_explain_command(CLI::App& profile, Context& context);
// The group's own positional FILE, flags and action: evaluate and profile one candidate.
void add_profile_candidate(CLI::App& profile, Context& context);
void add_nightly_command(CLI::App& parent, Context& context);
// The `nightly` group: the night itself (its flags and action on the group) and its reports.
void add_nightly_run(CLI::App& nightly, Context& context);
void add_nightly_report_command(CLI::App& nightly, Context& context);
void add_watch_command(CLI::App& parent, Context& context);
void add_db_command(CLI::App& parent, Context& context);

}  // namespace kforge::cli

// kforge nightly: the unattended night (command_nightly_run.cpp: the group's own flags and the
// night itself) and its reports (command_nightly_report.cpp: `kforge nightly report`).
#include "cli/commands.hpp"

namespace kforge::cli {

void add_nightly_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand(
      "nightly", "one unattended night: re-verify, tune, optimise, promote, report");
  command->require_subcommand(0, 1);
  add_nightly_run(*command, context);
  add_nightly_report_command(*command, context);
}

}  // namespace kforge::cli

// `kforge profile`: hardware counters and what they say. Each subcommand adds itself from its own
// file (command_profile_<name>.cpp).
#include "cli/commands.hpp"

namespace kforge::cli {

void add_profile_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand("profile", "hardware counters: the metric set");
  command->require_subcommand(1);
  add_profile_metrics_command(*command, context);
}

}  // namespace kforge::cli

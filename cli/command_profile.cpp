// kforge profile: hardware counters and what they say. One group, a file per subcommand
// (command_profile_<name>.cpp), each added here; the group's own action, `kforge profile FILE.cu
// --task T`, evaluates and profiles a candidate (command_profile_candidate.cpp).
#include "cli/commands.hpp"

namespace kforge::cli {

void add_profile_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand("profile", "hardware counters, the roofline, diagnosis");
  command->require_subcommand(0, 1);
  add_profile_candidate(*command, context);
  add_profile_metrics_command(*command, context);
  add_profile_explain_command(*command, context);
}

}  // namespace kforge::cli

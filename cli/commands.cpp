#include "cli/commands.hpp"

#include <array>

namespace kforge::cli {

namespace {
constexpr std::array kCommands = std::to_array<CommandEntry>({
    {"config", add_config_command},
    {"doctor", add_doctor_command},
    {"eval", add_eval_command},
    {"optimize", add_optimize_command},
    {"promote", add_promote_command},
    {"library", add_library_command},
    {"mcp", add_mcp_command},
    {"runs", add_runs_command},
    {"show", add_show_command},
    {"tasks", add_tasks_command},
    {"dataset", add_dataset_command},
    {"tune", add_tune_command},
    {"version", add_version_command},
    {"worker", add_worker_command},
    {"profile", add_profile_command},
    {"nightly", add_nightly_command},
    {"watch", add_watch_command},
    {"db", add_db_command},
});
}  // namespace

std::span<const CommandEntry> commands() {
  return kCommands;
}

}  // namespace kforge::cli

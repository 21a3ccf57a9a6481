#include "cli/commands.hpp"

#include <array>

namespace kforge::cli {

namespace {
constexpr std::array kCommands = std::to_array<CommandEntry>({
    {"config", add_config_command},
    {"dataset", add_dataset_command},
    {"version", add_version_command},
});
}  // namespace

std::span<const CommandEntry> commands() {
  return kCommands;
}

}  // namespace kforge::cli

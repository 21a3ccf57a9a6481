#include "cli/commands.hpp"
#include "harness/config.hpp"

namespace kforge::cli {

void add_config_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand("config", "show the configuration keys and their values");
  command->require_subcommand(1);
  auto json = std::make_shared<bool>(false);

  auto* keys = command->add_subcommand("keys", "list every key kforge.toml may set");
  keys->add_flag("--json", *json, "print a JSON array");
  keys->callback([json] {
    nlohmann::json rows = nlohmann::json::array();
    for (const ConfigKey& key : config_keys()) {
      rows.push_back({{"key", key.name}, {"default", key.default_value}, {"help", key.help}});
    }
    if (*json)
      return Context::print_json(rows);
    for (const auto& row : rows) {
      print("%-24s %-10s %s\n", row["key"].get<std::string>().c_str(),
            row["default"].get<std::string>().c_str(), row["help"].get<std::string>().c_str());
    }
  });

  auto* show =
      command->add_subcommand("show", "print the effective configuration of the workspace");
  show->add_flag("--json", *json, "print a JSON object");
  show->callback([json, &context] {
    Workspace& workspace = context.workspace();
    nlohmann::json values = workspace.config().to_json();
    if (*json)
      return Context::print_json(values);
    for (const auto& [key, value] : values.items()) {
      print("%-24s %-20s (%s)\n", key.c_str(), value.dump().c_str(),
            workspace.config().source(key).c_str());
    }
  });
}

}  // namespace kforge::cli

#include "cli/commands.hpp"
#include "datasets/store.hpp"
#include "harness/util/version.hpp"

namespace kforge::cli {

void add_version_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand("version", "print kforge's version and schema version");
  auto json = std::make_shared<bool>(false);
  command->add_flag("--json", *json, "print one JSON object");
  command->callback([json] {
    nlohmann::json info = {{"version", kVersion},
                           {"commit", kGitCommit},
                           {"schema_version", Store::latest_schema_version()}};
    if (*json) {
      Context::print_json(info);
    } else {
      std::cout << "kforge " << kVersion << " (" << kGitCommit << "), store schema "
                << Store::latest_schema_version() << "\n";
    }
  });
}

}  // namespace kforge::cli

#include "cli/context.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "harness/options/run_settings.hpp"
#include "harness/util/error.hpp"
#include "harness/util/formatted.hpp"
#include "harness/util/json_text.hpp"
#include "harness/util/strings.hpp"

namespace kforge::cli {

Workspace& Context::workspace() {
  if (!workspace_) {
    WorkspaceOptions paths;
    if (!options.workspace.empty())
      paths.root = options.workspace;
    if (!options.db.empty())
      paths.db_path = options.db;
    workspace_ = std::make_unique<Workspace>(paths);
    if (!options.python.empty())
      workspace_->config().set("python", options.python);
  }
  return *workspace_;
}

void apply_profiler_flag(Config& config, const std::string& name) {
  if (name.empty())
    return;
  std::vector<std::string> names = profiler_names();
  if (std::find(names.begin(), names.end(), name) == names.end())
    throw Error(strings::unknown_name_message("profiler", name, names), "--profiler");
  config.set("profile.profiler", name);
}

void add_profiler_flag(CLI::App& command, std::string& name) {
  command.add_option("--profiler", name,
                     "who collects the profile's counters (sets profile.profiler): cupti, ncu "
                     "(Nsight Compute's CLI, where CUPTI is blocked) or auto");
}

void add_key_flags(CLI::App& command, std::span<const KeyFlag> flags, KeyFlagValues& values) {
  for (const KeyFlag& flag : flags) {
    command.add_option_function<std::string>(
        flag.flag,
        [&values, key = std::string(flag.key),
         name = std::string(flag.flag)](const std::string& value) {
          values.keys[key] = value;
          values.given.push_back(name);
        },
        flag.help);
  }
}

std::vector<std::string> gpu_worker_command_from(const char* variable) {
  std::vector<std::string> words;
  if (variable == nullptr)
    return words;
  for (const std::string& word : strings::split(variable, ' ')) {
    if (!strings::trim(word).empty())
      words.emplace_back(strings::trim(word));
  }
  return words;
}

void Context::progress(const std::string& line) const {
  if (!options.quiet)
    std::cerr << strings::printable(line) << std::endl;
}

void Context::print_json(const nlohmann::json& document) {
  std::cout << json_text(document, 2) << "\n";
}

void print(const char* format, ...) {
  std::va_list arguments;
  va_start(arguments, format);
  std::string text = vformatted(format, arguments);
  va_end(arguments);
  std::fputs(strings::printable(text).c_str(), stdout);
}

}  // namespace kforge::cli

#include "harness/nightly/nightly_config.hpp"

#include <fnmatch.h>

#include <algorithm>

#include "harness/util/error.hpp"
#include "harness/util/formatted.hpp"
#include "harness/util/strings.hpp"

namespace kforge::nightly {
namespace {

namespace fs = std::filesystem;

void check_name(const std::string& key, const std::string& value,
                const std::vector<std::string>& allowed, const Config& config) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end())
    return;
  throw Error(key + " = '" + value + "' is not one of: " + strings::join(allowed, ", "),
              config.source(key));
}

fs::path under(const fs::path& root, const std::string& path) {
  const fs::path folder = path;
  return folder.is_absolute() ? folder : root / folder;
}

}  // namespace

NightlyConfig NightlyConfig::from(const Config& config, const fs::path& workspace_root) {
  NightlyConfig night;
  NightlyOptions& options = night.options;
  options.library = config.boolean("nightly.library");
  options.tasks = config.string("nightly.tasks");
  options.wall_time_s = config.integer("nightly.wall_time_s");
  options.max_evaluations = config.integer("nightly.max_evaluations");
  options.max_tokens = config.integer("nightly.max_tokens");
  options.max_cost_usd = config.real("nightly.max_cost_usd");
  options.agents = config.string("nightly.agents");
  options.promote = config.string("nightly.promote");
  options.report_dir = config.string("nightly.report_dir");
  options.on_regression = config.string("nightly.on_regression");
  check_name("nightly.agents", options.agents, {"tune", "llm", "both", "none"}, config);
  check_name("nightly.promote", options.promote, {"rules", "none"}, config);
  if (options.report_dir.empty())
    throw Error("nightly.report_dir must name a folder", config.source("nightly.report_dir"));
  for (const std::string& part : strings::split(options.tasks, ',')) {
    const std::string pattern(strings::trim(part));
    if (!pattern.empty())
      night.task_patterns.push_back(pattern);
  }
  night.library_root = under(workspace_root, config.string("library.dir"));
  night.report_dir = under(workspace_root, options.report_dir);
  return night;
}

void overlay_config_file(Config& config, const fs::path& path) {
  const Config file = Config::load(path);
  NightlyConfig::from(file, fs::path("/"));  // names the file for a bad [nightly] value
  for (const ConfigKey& key : config_keys()) {
    const std::string name(key.name);
    if (file.source(name) != path.string())
      continue;
    switch (key.type) {
      case ConfigType::kString:
        config.set(name, file.string(name));
        break;
      case ConfigType::kInteger:
        config.set(name, std::to_string(file.integer(name)));
        break;
      case ConfigType::kReal:
        config.set(name, formatted("%.17g", file.real(name)));
        break;
      case ConfigType::kBoolean:
        config.set(name, file.boolean(name) ? "true" : "false");
        break;
    }
  }
}

std::vector<std::string> matching_names(const std::vector<std::string>& patterns,
                                        const std::vector<std::string>& names) {
  std::vector<std::string> matched;
  for (const std::string& name : names) {
    const bool matches = std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
      return ::fnmatch(p.c_str(), name.c_str(), 0) == 0;
    });
    if (matches && std::find(matched.begin(), matched.end(), name) == matched.end())
      matched.push_back(name);
  }
  return matched;
}

}  // namespace kforge::nightly

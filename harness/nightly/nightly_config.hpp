// The [nightly] section of the configuration, read and checked once: what a night covers, its
// budgets, its agents, its promotion policy, where its reports go and what runs on a regression.
// The keys are rows of the one configuration table (harness/config.cpp); this adds the checks a
// row cannot state (the names `agents` and `promote` take).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "harness/config.hpp"
#include "harness/options/nightly_options.hpp"

namespace kforge::nightly {

struct NightlyConfig {
  NightlyOptions options;
  std::filesystem::path library_root;  // library.dir under the workspace
  std::filesystem::path report_dir;    // nightly.report_dir under the workspace
  std::vector<std::string> task_patterns;

  bool tune() const { return options.agents == "tune" || options.agents == "both"; }
  bool llm() const { return options.agents == "llm" || options.agents == "both"; }
  bool promote() const { return options.promote == "rules"; }

  // Throws Error naming the key for a value outside its names.
  static NightlyConfig from(const Config& config, const std::filesystem::path& workspace_root);
};

// Sets on `config` every key the TOML file `path` sets (of any section), after checking the file
// as the configuration and the [nightly] section are checked, so that an error names the file:
// how `kforge nightly --config nightly.toml` adds its file over kforge.toml.
void overlay_config_file(Config& config, const std::filesystem::path& path);

// The names among `names` that one of `patterns` matches (fnmatch globs: `builtin/*`), in the
// order of `names`, each once.
std::vector<std::string> matching_names(const std::vector<std::string>& patterns,
                                        const std::vector<std::string>& names);

}  // namespace kforge::nightly

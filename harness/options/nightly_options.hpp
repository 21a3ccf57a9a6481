// The nightly run's options (the [nightly] section of kforge.toml or of `kforge nightly --config
// FILE`): plain settings whose defaults harness/config.cpp reads. They sit at the bottom of the
// layers so that the configuration table includes nothing above it; harness/nightly/ reads them
// from a Config through nightly_config.hpp.
#pragma once

#include <cstdint>
#include <string>

namespace kforge {

struct NightlyOptions {
  bool library = true;          // re-verify the workspace's kernel library (library.dir)
  std::string tasks;            // tasks to optimise: names or globs, comma-separated ("builtin/*")
  int64_t wall_time_s = 0;      // the night's wall-time budget; 0: none
  int64_t max_evaluations = 0;  // evaluations the night may make; 0: no limit
  int64_t max_tokens = 0;       // LLM tokens (input + output) the night may spend; 0: no limit
  double max_cost_usd = 0;      // LLM cost the night may spend; 0: no limit
  std::string agents = "none";  // which agents run beside the search: tune, llm, both, none
  std::string promote = "rules";       // rules: promote what passes the promotion rules; none
  std::string report_dir = "nightly";  // where report files go (relative to the workspace)
  std::string on_regression;           // a shell command run when a regression is found
};

}  // namespace kforge

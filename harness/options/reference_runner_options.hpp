// The reference runner's options (python, reference.*): plain settings whose defaults
// harness/config.cpp reads. They sit at the bottom of the layers so that the configuration table
// includes nothing above it; harness/reference_runner.hpp includes it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kforge {

struct ReferenceRunnerOptions {
  std::optional<std::string> python;  // configured interpreter (config key, --python, env)
  int timeout_s = 300;
  int jobs = 0;  // 0: one per core
  // Peak resident memory of one runner process, in MiB (reference.memory_mb); past it the
  // runner is killed and the task it was on fails with a memory_limit error naming it. 0: no
  // limit. An RSS watchdog rather than an address-space limit: the runner may start CUDA.
  int64_t memory_mb = 0;
  // Environment variables the runner must not see even if the allowed list has them (the
  // configured llm.api_key_env); the runner gets the minimal environment (child_process.hpp).
  std::vector<std::string> refused_environment;
  std::filesystem::path cache_dir;
};

}  // namespace kforge

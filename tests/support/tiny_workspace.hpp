// Workspaces for runs on the emulated GPU worker (tests/support/emulated_gpu_worker.py) through
// the real binary, with a kforge.toml that keeps each evaluation short (four timing samples).
#pragma once

#include <filesystem>

#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::testing {

// Two tasks, problems/tiny_a.py and tiny_b.py (both kTinyReluTask, to import as suite `tiny`);
// one seed, no baselines, no profile.
inline void write_two_tiny_tasks(const std::filesystem::path& root) {
  std::filesystem::create_directories(root / "problems");
  write_text(root / "problems/tiny_a.py", kTinyReluTask);
  write_text(root / "problems/tiny_b.py", kTinyReluTask);
  write_text(root / "kforge.toml",
             "python = \"/usr/bin/python3\"\n"
             "[verify]\nseeds = 1\n"
             "[timing]\ninput_sets = 2\nwarmup = 1\nmin_samples = 4\n"
             "max_samples = 4\nbaselines = false\n[profile]\nenabled = false\n");
}

// One task, tiny/tiny_relu (kTinyReluTask), imported into the workspace's store; two seeds.
// Returns the import's result, for the caller to assert on.
inline ProcessResult import_tiny_relu_workspace(const std::filesystem::path& root) {
  std::filesystem::create_directories(root / "problems");
  write_text(root / "problems/tiny_relu.py", kTinyReluTask);
  write_text(root / "kforge.toml",
             "python = \"/usr/bin/python3\"\n"
             "[verify]\nseeds = 2\n"
             "[timing]\ninput_sets = 2\nwarmup = 1\nmin_samples = 4\n"
             "max_samples = 4\n");
  return run_kforge({"tasks", "import", "problems", "--suite", "tiny"}, root);
}

}  // namespace kforge::testing

// The environment under which kforge starts tests/support/emulated_gpu_worker.py as its GPU
// worker (KFORGE_GPU_WORKER), for system tests that run the real binary.
#pragma once

#include <map>
#include <string>

#include "tests/support/test_support.hpp"

namespace kforge::testing {

inline std::map<std::string, std::string> emulated_gpu_environment() {
  return {{"KFORGE_GPU_WORKER",
           "/usr/bin/python3 " + (source_dir() / "tests/support/emulated_gpu_worker.py").string()}};
}

}  // namespace kforge::testing

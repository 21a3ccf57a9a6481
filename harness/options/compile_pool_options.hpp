// The compile pool's options (compile.*): plain settings whose defaults harness/config.cpp reads.
// They sit at the bottom of the layers so that the configuration table includes nothing above it;
// sandbox/compile_pool.hpp includes it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace kforge {

// The largest candidate source the compile takes (sandbox/source_policy.hpp).
inline constexpr size_t kDefaultMaxSourceBytes = 1 << 20;

struct CompilePoolOptions {
  int workers = 0;  // compile.workers; 0: one per core
  std::chrono::milliseconds time_limit{std::chrono::seconds(60)};  // compile.timeout_s
  int64_t memory_mb = 4096;                                        // compile.memory_mb
  std::filesystem::path cache_dir;  // required: the cache, and where compile outputs go
  // false: every call compiles (benchmarks), and the outputs stay in cache_dir/staging/, which
  // the caller then owns.
  bool use_cache = true;
  size_t max_source_bytes = kDefaultMaxSourceBytes;
  // The program to start as a worker, and its arguments; default: this executable (which must
  // be kforge) with `worker compile`. The supervision tests start
  // tests/support/misbehaving_compile_worker.cpp instead.
  std::filesystem::path worker_program;
  std::vector<std::string> worker_arguments = {"worker", "compile"};
};

}  // namespace kforge

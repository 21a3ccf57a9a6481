// The evaluator's options (arch, compile.max_local_bytes): plain settings whose defaults
// harness/config.cpp reads. They sit at the bottom of the layers so that the configuration table
// includes nothing above it; harness/evaluation/evaluator.hpp includes it.
#pragma once

#include <cstdint>
#include <string>

#include "harness/options/plan_limits.hpp"
#include "harness/options/run_settings.hpp"

namespace kforge {

class GpuPool;
class GpuWorkerClient;
class ReferenceRunner;

struct EvaluatorOptions {
  std::string arch = "sm_90";  // what to compile for
  Limits limits;
  // Per-thread local memory (stack frame or ptxas's lmem) a kernel may need; 512 KiB is what
  // the hardware gives a thread. A kernel over it compiles but could never launch, so it ends
  // as compile_error (local_memory_limit) rather than reaching a GPU.
  int64_t max_local_bytes_per_thread = 512 * 1024;
  // Why nothing runs after bind, recorded with the `compiled` verdict ("no GPU visible").
  std::string no_run_reason =
      "no GPU visible: the candidate compiled and its plan fits; nothing ran";
  // The GPUs the GPU stages run on (harness/evaluation/gpu_pool.hpp; owned by the caller,
  // outliving the Evaluator). Or one GPU as a worker and a reference runner, which the Evaluator
  // makes a pool of one device of. With neither, a candidate that binds ends as `compiled`.
  GpuPool* gpus = nullptr;
  GpuWorkerClient* gpu = nullptr;
  ReferenceRunner* reference = nullptr;
  RunSettings run;
};

}  // namespace kforge

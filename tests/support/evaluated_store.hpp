// A store for the export tests built the way kforge builds one: tasks imported and analysed by
// the real reference runner (torch on the CPU), every candidate evaluated by the real Evaluator
// (NVRTC compiles in the compile pool; verify, time and baseline against
// tests/support/emulated_gpu_worker.py, which speaks the real GPU worker protocol and runs no
// CUDA), runs and LLM exchanges written by the store functions `optimize` uses. No evaluation row
// is written by hand, so the exports read exactly what the evaluator stores.
//
// Two emulated GPUs (different names) are available; a candidate evaluated on neither ends as
// `compiled`, as on a machine without a GPU. Baselines are put in the store's cache as a GPU run
// leaves them (the emulated device cannot time PyTorch), so `correct` rows carry speedups.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "datasets/exchange_records.hpp"
#include "datasets/measurement_records.hpp"
#include "datasets/records.hpp"
#include "harness/evaluation/evaluator.hpp"
#include "harness/reference_runner.hpp"
#include "harness/task_import.hpp"
#include "harness/util/error.hpp"
#include "harness/workspace.hpp"
#include "sandbox/compile_pool.hpp"
#include "sandbox/gpu_worker_client.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::testing {

// The names the two emulated GPUs report.
inline constexpr const char* kEmulatedGpu = "kforge emulated GPU (tests only)";
inline constexpr const char* kOtherEmulatedGpu = "kforge emulated GPU B (tests only)";

enum class EvaluateOn { kNoGpu, kEmulatedGpu, kOtherEmulatedGpu };

class EvaluatedStore {
 public:
  explicit EvaluatedStore(const std::filesystem::path& root)
      : workspace_(WorkspaceOptions{.root = created(root)}) {
    workspace_.config().set("python", "/usr/bin/python3");
    reference_ = std::make_unique<ReferenceRunner>(ReferenceRunner::for_workspace(workspace_));
    CompilePoolOptions pool_options;
    pool_options.workers = 1;
    pool_options.cache_dir = workspace_.cache_dir("compile");
    pool_options.worker_program = kforge_binary();
    pool_ = std::make_unique<CompilePool>(pool_options);
  }

  Store& store() { return workspace_.store(); }

  // Imports `programs` (file stem -> KernelBench-style Python program) as `suite`.
  void import(const std::string& suite, const std::map<std::string, std::string>& programs) {
    std::filesystem::path folder = workspace_.root() / ("import-" + suite);
    std::filesystem::create_directories(folder);
    for (const auto& [stem, program] : programs)
      write_text(folder / (stem + ".py"), program);
    for (const ImportLine& line : import_tasks(store(), *reference_, folder, suite)) {
      if (line.status != ImportStatus::kImported)
        throw Error("the test task did not import: " + line.detail, line.file);
    }
    for (const auto& [stem, program] : programs) {
      std::string name = suite + "/" + stem;
      tasks_.emplace(name, load_task(workspace_, name));
    }
  }

  const Task& task(const std::string& name) const { return tasks_.at(name); }

  // The baseline cache row a GPU run leaves, for the task's benchmark shape on `gpu`, under
  // the reference Python's torch version (the key the run stage looks up).
  void cache_baseline(const std::string& task_name, const std::string& gpu, double eager_us,
                      double compile_us) {
    BaselineRow row;
    row.key = {task(task_name).id, "benchmark", "float32", gpu, reference_->python().torch_version};
    row.eager_us = eager_us;
    row.compile_us = compile_us;
    row.detail = {{"method", "cached by the export tests"}};
    store_baseline(store(), row);
  }

  int64_t run(const std::string& model) {
    RunRow run;
    run.kind = "optimize";
    run.agent = "llm";
    run.model = model;
    run.gpu = kEmulatedGpu;
    return insert_run(store(), run);
  }

  int64_t exchange(int64_t run_id, const std::string& task_name, const std::string& model,
                   const std::string& response) {
    ExchangeRow exchange;
    exchange.run_id = run_id;
    exchange.task_id = task(task_name).id;
    exchange.provider = "openai";
    exchange.model = model;
    exchange.request = {{"ask_id", "ask-" + std::to_string(++asks_)}};
    exchange.response = response;
    exchange.status = "ok";
    exchange.prompt_tokens = 100;
    exchange.completion_tokens = 200;
    return insert_exchange(store(), exchange);
  }

  EvaluationOutcome evaluate(const std::string& task_name, EvaluationRequest request,
                             EvaluateOn where = EvaluateOn::kEmulatedGpu) {
    EvaluatorOptions options;
    if (where != EvaluateOn::kNoGpu) {
      options.gpu = &gpu(where == EvaluateOn::kEmulatedGpu ? kEmulatedGpu : kOtherEmulatedGpu);
      options.reference = reference_.get();
      options.run.seeds = 1;
      options.run.input_sets = 2;
      options.run.timing.warmup = 1;
      options.run.timing.min_samples = 6;
      options.run.timing.max_samples = 6;
    }
    Evaluator evaluator(store(), *pool_, options);
    return evaluator.evaluate(task(task_name), request);
  }

  // A consistent copy of the store file (for a test to change without touching the original).
  void copy_to(const std::filesystem::path& path) {
    auto vacuum = store().db().prepare("VACUUM INTO ?");
    vacuum.bind(1, path.string()).run();
  }

 private:
  static std::filesystem::path created(const std::filesystem::path& folder) {
    std::filesystem::create_directories(folder);
    return folder;
  }

  GpuWorkerClient& gpu(const std::string& name) {
    auto found = gpus_.find(name);
    if (found != gpus_.end())
      return *found->second;
    GpuWorkerOptions options;
    options.job_dir = workspace_.cache_dir("gpu-" + std::to_string(gpus_.size()));
    options.worker_program = "/usr/bin/python3";
    options.worker_arguments = {(source_dir() / "tests/support/emulated_gpu_worker.py").string(),
                                "--name", name};
    options.run_limit = std::chrono::seconds(60);
    options.time_limit = std::chrono::seconds(60);
    return *gpus_.emplace(name, std::make_unique<GpuWorkerClient>(options)).first->second;
  }

  Workspace workspace_;
  std::unique_ptr<ReferenceRunner> reference_;
  std::unique_ptr<CompilePool> pool_;
  std::map<std::string, std::unique_ptr<GpuWorkerClient>> gpus_;
  std::map<std::string, Task> tasks_;
  int asks_ = 0;
};

// A candidate for a ReLU task over a float tensor `x`, whose one kernel is called `kernel` (the
// emulated worker's behaviour: "relu" honest, "slow_relu" honest and three times slower,
// "unwritten" incorrect) and whose body line is `body`, so that sources differ as a test needs.
inline std::string relu_candidate_named(const std::string& kernel, const std::string& body) {
  return "/* kforge:launch\n"
         "{\"kernels\": [{\"name\": \"" +
         kernel +
         "\", \"grid\": [\"ceil_div(x.numel, BLOCK)\"], \"block\": [\"BLOCK\"],\n"
         "  \"shared_bytes\": \"0\", \"args\": [\"x\", \"out\", \"x.numel\"]}],\n"
         " \"scratch\": [], \"defines\": {\"BLOCK\": {\"default\": 128, \"values\": [128, "
         "256]}}}\n*/\n"
         "extern \"C\" __global__ void " +
         kernel +
         "(const float* __restrict__ x, float* out, long long n) {\n"
         "  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;\n"
         "  if (i < n) {\n    " +
         body + "\n  }\n}\n";
}

}  // namespace kforge::testing

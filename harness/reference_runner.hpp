// The bridge to the Python reference runner (harness/reference/kforge_reference.py, embedded in
// the binary). kforge writes the script into the workspace cache under its hash, finds a Python
// that imports torch, and runs the script as a child process with a time limit. Replies are
// cached in the workspace cache by content hash (script, task source, request), so asking twice
// costs one run.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "harness/options/reference_runner_options.hpp"
#include "harness/options/timing_settings.hpp"
#include "harness/reference_failure.hpp"
#include "harness/signature.hpp"
#include "harness/task.hpp"
#include "harness/util/safetensors.hpp"

namespace kforge {

class Workspace;

struct PythonInterpreter {
  std::filesystem::path path;
  std::string torch_version;
  bool cuda_available = false;  // torch.cuda.is_available() when it was probed
};

// A task the runner could not handle: its own failure, not kforge's.
struct ReferenceFailure {
  ReferenceFailureKind kind = ReferenceFailureKind::kUnknown;
  std::string message;
  std::string traceback;  // the last lines of the Python traceback, if any

  // One line (message), then the traceback indented, for reports.
  std::string describe() const;
};

struct TaskSource {
  std::string name;
  std::string source;
  std::string filename;  // shown in tracebacks
};

using AnalysisOutcome = std::variant<TaskAnalysis, ReferenceFailure>;

struct ReferenceRequest {
  TaskSource task;
  SizeConstants constants;  // overrides of the benchmark shape; empty: the benchmark shape
  int64_t seed = 0;
  std::string dtype = "float32";
  std::string device = "cpu";
  bool count_flops = false;  // also count one forward's FLOPs (torch 2.1 and later)
  // Scale float scalar inputs by a factor drawn from the seed (seed 0 keeps the task's own):
  // verification seeds differ in their scalars, so a kernel with the constant compiled in fails.
  bool vary_scalars = false;
  // For dtype float32, also compute the outputs in float64 (ReferenceResult::outputs_float64);
  // off where only the inputs are wanted (the timing's rotation sets).
  bool float64_reference = true;
};

struct ReferenceResult {
  Signature signature;
  SizeConstants constants;
  TensorMap inputs;
  TensorMap parameters;
  TensorMap outputs;
  std::string torch_version;
  std::string device;
  double duration_s = 0;
  bool from_cache = false;
  std::filesystem::path directory;  // where the safetensors files are
  std::optional<double> flops;      // with count_flops, where torch could count them
  std::string flops_method;         // how they were counted, or why not
  // For dtype float32: the float32 outputs computed in float64 (model and inputs cast to
  // double), by name; empty where the float64 forward failed (float64_note says why).
  TensorMap outputs_float64;
  std::string float64_note;
  std::optional<double> scalar_factor;  // with vary_scalars: the factor the scalars were scaled by
  std::string scalars_note;             // why a varied seed kept the task's own scalars
};

// Timing PyTorch itself on the GPU: eager and torch.compile of the task's forward, each the
// device time of all kernels of one forward (torch.profiler), with the timing protocol's
// warm-up, L2 flush, repetition rule and caps.
struct BaselineRequest {
  TaskSource task;
  SizeConstants constants;  // empty: the benchmark shape
  int64_t seed = 0;
  std::string dtype = "float32";
  int device_index = 0;
  TimingSettings timing;
};

struct BaselineMode {
  std::vector<double> samples_us;  // per timed iteration
  bool hit_time_cap = false;
  std::string error;  // this mode failed (torch.compile without a backend, ...): no samples
};

struct BaselineTimes {
  BaselineMode eager;
  BaselineMode compile;
  std::string torch_version;
  std::string device_name;
  std::string method;
};

class ReferenceRunner {
 public:
  explicit ReferenceRunner(ReferenceRunnerOptions options);
  // Options from the workspace: config `python` (set by --python too), else KFORGE_PYTHON,
  // `reference.timeout_s`, `reference.jobs`, `reference.memory_mb` (0 there: half of this
  // machine's memory), cache under .kforge/reference.
  static ReferenceRunner for_workspace(const Workspace& workspace);

  // The interpreter, found on first use: the configured one, or else python3 on PATH,
  // /usr/bin/python3, python on PATH, taking the first that imports torch. Throws Error naming
  // every interpreter tried and why each failed.
  const PythonInterpreter& python();

  // Analyses tasks, `jobs` processes at once, several tasks per process (importing torch is
  // the slow part). `on_done` is called (serialised) as each task's outcome is known.
  std::vector<AnalysisOutcome> analyze(
      const std::vector<TaskSource>& tasks,
      const std::function<void(size_t index, const AnalysisOutcome&)>& on_done = {});

  // One reference run: inputs, parameters, outputs. Throws Error with the traceback's tail
  // when the task fails.
  ReferenceResult run(const ReferenceRequest& request);

  // Times the task's forward in PyTorch eager and torch.compile on the GPU. Not cached here
  // (the store's baselines table is the cache). A task or machine that cannot (torch sees no
  // CUDA: kind no_cuda) is a ReferenceFailure; only a runner that cannot start throws.
  std::variant<BaselineTimes, ReferenceFailure> baseline(const BaselineRequest& request);

  // The embedded script and its hash (part of every cache key).
  static const std::string& script_source();
  static const std::string& script_hash();

 private:
  std::filesystem::path script_path();
  std::vector<nlohmann::json> run_script(const nlohmann::json& request,
                                         std::chrono::seconds time_limit, std::string* ended,
                                         bool* memory_exceeded = nullptr);

  ReferenceRunnerOptions options_;
  std::optional<PythonInterpreter> python_;
};

}  // namespace kforge

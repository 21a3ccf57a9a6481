// A real store file filled with real SQL for the export tests: tasks, runs, LLM exchanges,
// candidates and evaluations, with just the columns a test cares about given.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "datasets/store.hpp"

namespace kforge::testing {

struct EvaluationSpec {
  std::string verdict = "correct";
  std::optional<std::string> gpu = "NVIDIA H100";
  std::optional<std::string> arch = "sm_90";
  std::optional<double> device_time_us;
  std::optional<double> speedup_eager;
  std::optional<double> speedup_compile;
  std::string timing = "";  // JSON, "" for NULL
  std::string evidence = "{}";
  std::string environment =
      R"({"torch": "2.4.0", "cuda": "12.4", "driver": "550.54", "nvrtc": "12.4"})";
  std::optional<std::string> reason;
  int64_t harness_version = 1;
  std::optional<std::string> created_at;
};

struct CandidateSpec {
  std::string origin = "llm";
  std::optional<int64_t> run_id;
  std::optional<int64_t> parent_id;
  std::optional<int64_t> iteration;
  std::optional<int64_t> exchange_id;
  std::string defines = "{}";
};

class ExportStore {
 public:
  explicit ExportStore(const std::filesystem::path& path) : store_(Store::open(path)) {}

  Store& store() { return *store_; }
  const sql::Connection& db() { return store_->db(); }

  int64_t task(const std::string& name, const std::string& source,
               const std::string& suite = "builtin",
               const std::optional<std::string>& license = std::nullopt,
               const std::optional<std::string>& signature = std::nullopt) {
    auto insert = db().prepare(
        "INSERT INTO tasks (name, suite, version, source, source_hash, license, signature) "
        "VALUES (?, ?, 1, ?, ?, ?, ?)");
    insert.bind(1, name).bind(2, suite).bind(3, source).bind(4, "hash-" + name);
    insert.bind(5, license).bind(6, signature).run();
    return db().last_insert_id();
  }

  int64_t run(const std::string& model, const std::string& gpu = "NVIDIA H100") {
    auto insert = db().prepare(
        "INSERT INTO runs (kind, agent, model, gpu, environment) VALUES ('optimize', 'llm', ?, "
        "?, '{\"torch\": \"2.4.0\"}')");
    insert.bind(1, model).bind(2, gpu).run();
    return db().last_insert_id();
  }

  int64_t exchange(int64_t run_id, int64_t task_id, const std::string& model,
                   const std::string& response) {
    auto insert = db().prepare(
        "INSERT INTO llm_exchanges (run_id, task_id, provider, model, request, response, status, "
        "prompt_tokens, completion_tokens) VALUES (?, ?, 'openai', ?, '{}', ?, 'ok', 100, 200)");
    insert.bind(1, run_id).bind(2, task_id).bind(3, model).bind(4, response).run();
    return db().last_insert_id();
  }

  // A candidate and, when `evaluation` is given, its evaluation. Returns the candidate id.
  int64_t candidate(int64_t task_id, const std::string& source, const CandidateSpec& spec = {},
                    const std::optional<EvaluationSpec>& evaluation = EvaluationSpec{},
                    const std::optional<std::string>& plan = kDefaultPlan) {
    auto insert = db().prepare(
        "INSERT INTO candidates (task_id, run_id, parent_id, llm_exchange_id, iteration, origin, "
        "source, source_hash, plan, defines) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    insert.bind(1, task_id).bind(2, spec.run_id).bind(3, spec.parent_id);
    insert.bind(4, spec.exchange_id).bind(5, spec.iteration).bind(6, spec.origin);
    insert.bind(7, source).bind(8, "h" + std::to_string(source.size())).bind(9, plan);
    insert.bind(10, spec.defines).run();
    int64_t id = db().last_insert_id();
    if (evaluation)
      evaluate(id, *evaluation);
    return id;
  }

  int64_t evaluate(int64_t candidate_id, const EvaluationSpec& spec) {
    auto insert = db().prepare(
        "INSERT INTO evaluations (candidate_id, verdict, reason, evidence, arch, gpu, timing, "
        "device_time_us, speedup_eager, speedup_compile, harness_version, environment, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "coalesce(?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))");
    insert.bind(1, candidate_id).bind(2, spec.verdict).bind(3, spec.reason);
    insert.bind(4, spec.evidence).bind(5, spec.arch).bind(6, spec.gpu);
    if (spec.timing.empty())
      insert.bind(7, std::nullopt);
    else
      insert.bind(7, spec.timing);
    insert.bind(8, spec.device_time_us).bind(9, spec.speedup_eager);
    insert.bind(10, spec.speedup_compile).bind(11, spec.harness_version);
    insert.bind(12, spec.environment).bind(13, spec.created_at).run();
    return db().last_insert_id();
  }

  static constexpr const char* kDefaultPlan =
      R"json({"kernels": [{"name": "relu_kernel", "grid": ["ceil_div(x.numel, BLOCK)"], "block": ["BLOCK"], "shared_bytes": "0", "args": ["x", "out", "x.numel"]}], "scratch": [], "defines": {"BLOCK": {"default": 256, "values": [128, 256]}}})json";

 private:
  std::unique_ptr<Store> store_;
};

// A KernelBench-style task program.
inline std::string relu_task_source(const std::string& size = "4096") {
  return "import torch\nimport torch.nn as nn\n\n\nclass Model(nn.Module):\n"
         "    def __init__(self):\n        super().__init__()\n\n"
         "    def forward(self, x):\n        return torch.relu(x)\n\n\n"
         "batch_size = 16\ndim = " +
         size +
         "\n\n\n"
         "def get_inputs():\n    return [torch.randn(batch_size, dim)]\n\n\n"
         "def get_init_inputs():\n    return []\n";
}

// A candidate file whose kernel body varies with `variant`.
inline std::string relu_candidate(const std::string& variant) {
  return "/* kforge:launch\n{\"kernels\": [{\"name\": \"relu_kernel\", \"grid\": "
         "[\"ceil_div(x.numel, BLOCK)\"], \"block\": [\"BLOCK\"], \"shared_bytes\": \"0\", "
         "\"args\": [\"x\", \"out\", \"x.numel\"]}], \"scratch\": [], \"defines\": {\"BLOCK\": "
         "{\"default\": 256, \"values\": [128, 256]}}}\n*/\n"
         "extern \"C\" __global__ void relu_kernel(const float* __restrict__ x, float* out, "
         "long n) {\n  long i = blockIdx.x * (long)blockDim.x + threadIdx.x;\n"
         "  if (i < n) {\n    " +
         variant + "\n  }\n}\n";
}

}  // namespace kforge::testing

// What the agent side sees of the rest of kforge: plain values the loop fills in. Strategies,
// prompts and providers are written against these types only, never against the harness, the
// sandbox or CUDA, so that they can be tested with a recorded history and no GPU.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace kforge::agents {

// The task as the agent is shown it.
struct TaskView {
  std::string name;          // "level1/19_ReLU"
  std::string source;        // the PyTorch reference program
  nlohmann::json signature;  // the harness's signature JSON (inputs, parameters, outputs)
};

// The GPU the candidates are for, as the loop describes it.
struct GpuTarget {
  std::string name;          // "NVIDIA H100 80GB HBM3"
  std::string architecture;  // "sm_90"
  int64_t sm_count = 0;
  double memory_bandwidth_gb_s = 0;  // measured or specified; 0 when unknown
  int64_t shared_memory_per_block_bytes = 0;
};

// What became of one proposal: told to a strategy, shown to the LLM in later prompts.
struct Feedback {
  std::string ask_id;  // the Ask this answers
  std::string reply;   // the LLM's whole answer ("" if the request failed)
  std::string source;  // the candidate .cu parsed from it ("" if none)
  // A verdict name (compile_error, plan_error, launch_error, runtime_error, timeout, incorrect,
  // suspicious, correct, compiled) or an agent-side outcome: no_candidate (the reply had no
  // usable code; evidence.reason says why) or llm_error (evidence.status, evidence.error).
  std::string verdict;
  nlohmann::json evidence = nlohmann::json::object();  // the evaluation's evidence, as stored
  std::optional<double> speedup;  // baseline / candidate device time, when it was timed
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  double cost_usd = 0;

  nlohmann::json to_json() const;
  static Feedback from_json(const nlohmann::json& json);
};

}  // namespace kforge::agents

// What the agent side sees of the rest of kforge: plain values the loop fills in. Strategies,
// prompts and providers are written against these types only, never against the harness, the
// sandbox or CUDA, so that they can be tested with a recorded history and no GPU. The one
// harness header they see is the Verdict enum (its own CMake target, kforge_verdict).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "harness/verdict.hpp"

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

// Whether a proposal reached the harness. Only a judged proposal has a verdict.
enum class Outcome {
  kJudged,       // its candidate was evaluated: Feedback::verdict says how it fared
  kNoCandidate,  // the reply had no usable code; evidence.reason says why
  kLlmError,     // the request failed; evidence.status and evidence.error say how
};

// What became of one proposal: told to a strategy, shown to the LLM in later prompts.
struct Feedback {
  std::string ask_id;  // the Ask this answers
  std::string reply;   // the LLM's whole answer ("" if the request failed)
  std::string source;  // the candidate .cu parsed from it ("" if none)
  Outcome outcome = Outcome::kJudged;
  std::optional<Verdict> verdict;                      // set exactly when outcome is kJudged
  nlohmann::json evidence = nlohmann::json::object();  // the evaluation's evidence, as stored
  std::optional<double> speedup;  // baseline / candidate device time, when it was timed
  // The candidate's profile for the prompt: its roofline position and top findings, as
  // profiler/diagnosis.hpp's render_for_prompt writes them; empty where it was not profiled.
  std::string profile;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  double cost_usd = 0;

  // Whether the candidate was judged and got `expected`.
  bool judged(Verdict expected) const { return verdict == expected; }
  // The verdict's name, or no_candidate / llm_error: the word the JSON state, prompts and
  // progress counts use.
  std::string_view result_name() const;

  nlohmann::json to_json() const;
  // Throws Error for a result name that is neither a verdict nor an outcome.
  static Feedback from_json(const nlohmann::json& json);
};

}  // namespace kforge::agents

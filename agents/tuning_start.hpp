// The LLM's start of a tuning run (`kforge tune --llm-start N`): before a search strategy asks
// its first point, the model is shown the kernel, its define space and the task, and proposes up
// to N points it expects to be fast, which the tuner evaluates first. This file is the agent's
// side: the conversation (templates tune_system and tune_start, agents/prompts/), one request
// through a Provider, and the points read out of the answer as JSON, unchecked. Whether a point
// belongs to the space is the tuning layer's business (harness/tuning/proposed_points.hpp); what
// becomes of the points, the tuner's (harness/autotune/tuner.hpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agents/agent.hpp"
#include "agents/prompt.hpp"
#include "agents/provider.hpp"

namespace kforge::agents {

// A define as the model is shown it.
struct TuningDefine {
  std::string name;
  int64_t default_value = 0;
  std::vector<int64_t> values;
};

// Everything the model is shown, and how many points it is asked for.
struct TuningStartAsk {
  TaskView task;
  GpuTarget gpu;
  std::string file_name;  // the kernel's file, as the engineer named it
  std::string source;     // the kernel .cu, launch plan included
  std::vector<TuningDefine> defines;
  std::vector<std::string> constraints;  // as written in the plan
  uint64_t declared_points = 0;          // the product of the defines' values
  uint64_t valid_points = 0;             // the points the search covers
  bool sampled = false;                  // the search covers a sample of a larger space
  size_t count = 0;                      // points asked for
};

// The system prompt and the one user turn.
Conversation tuning_start_conversation(const PromptLibrary& library, const TuningStartAsk& ask);

// The points of an answer: the JSON array in its last fenced block that holds one (a block
// holding an object with a "points" array counts too), else the whole answer, else the text
// from its first '[' to its last ']'. The array's elements are not checked here.
struct ParsedPoints {
  std::optional<nlohmann::json> points;  // a JSON array
  std::string reason;                    // why there is none; empty when there is
};
ParsedPoints parse_points_reply(std::string_view reply);

struct TuningStartProposal {
  LlmResponse response;                  // response.request_json is safe to store
  std::optional<nlohmann::json> points;  // the proposed points (a JSON array), unchecked
  std::string failure;                   // one line: why there are none
};

// Sends the conversation (model, temperature and token limit from the provider's settings) and
// reads the points out of the answer. Never throws for what the server did or answered.
TuningStartProposal propose_tuning_start(Provider& provider, const Conversation& conversation,
                                         const std::atomic<bool>* cancel = nullptr);

}  // namespace kforge::agents

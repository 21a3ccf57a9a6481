// One step of the LLM agent, between a strategy's Ask and its Feedback: send the ask through a
// provider, find the candidate in the answer, and turn what happened into Feedback. The loop
// evaluates the candidate in between; a proposal with nothing to evaluate (the request failed,
// or the answer had no usable candidate) already has its Feedback.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "agents/agent.hpp"
#include "agents/provider.hpp"
#include "agents/response_parser.hpp"
#include "agents/strategy.hpp"

namespace kforge::agents {

struct Proposal {
  Ask ask;
  LlmResponse response;               // response.request_json is safe to store
  std::optional<std::string> source;  // the candidate .cu, when the answer had one
  std::string no_candidate_reason;    // why not, when it did not

  // For a proposal without a candidate: outcome kLlmError (evidence: status, error,
  // http_status, attempts) or kNoCandidate (evidence: reason, finish_reason).
  // Empty when there is a candidate to evaluate.
  std::optional<Feedback> feedback_without_candidate() const;
  // For an evaluated candidate: the harness's verdict, evidence and speedup.
  Feedback feedback(Verdict verdict, nlohmann::json evidence, std::optional<double> speedup) const;
};

// Sends the ask (model, temperature and max tokens from the provider's settings) and parses the
// answer. Never throws for what the server did; the caller stops the run when
// llm_status_is_fatal(proposal.response.status). Setting `*cancel` (from another thread) ends
// the request early with status kCancelled.
Proposal propose(Provider& provider, const Ask& ask, const TextCallback& on_text = {},
                 const std::atomic<bool>* cancel = nullptr);

}  // namespace kforge::agents

#include "agents/llm_agent.hpp"

namespace kforge::agents {

Proposal propose(Provider& provider, const Ask& ask, const TextCallback& on_text,
                 const std::atomic<bool>* cancel) {
  LlmRequest request;
  request.cancel = cancel;
  request.conversation = ask.conversation;
  request.sample_index = ask.sample_index;
  Proposal proposal;
  proposal.ask = ask;
  proposal.response = provider.complete(request, on_text);
  if (proposal.response.ok()) {
    ParsedReply parsed = parse_reply(proposal.response.text);
    proposal.source = std::move(parsed.source);
    proposal.no_candidate_reason = std::move(parsed.reason);
    if (!proposal.source && proposal.response.finish_reason == "length")
      proposal.no_candidate_reason += " (the answer hit the max_tokens limit)";
  }
  return proposal;
}

Feedback Proposal::feedback(std::string verdict, nlohmann::json evidence,
                            std::optional<double> speedup) const {
  Feedback out;
  out.ask_id = ask.id;
  out.reply = response.text;
  out.source = source.value_or("");
  out.verdict = std::move(verdict);
  out.evidence = std::move(evidence);
  out.speedup = speedup;
  out.input_tokens = response.input_tokens;
  out.output_tokens = response.output_tokens;
  out.cost_usd = response.cost_usd;
  return out;
}

std::optional<Feedback> Proposal::feedback_without_candidate() const {
  if (!response.ok()) {
    return feedback("llm_error",
                    {{"status", std::string(llm_status_name(response.status))},
                     {"error", response.error},
                     {"http_status", response.http_status},
                     {"attempts", response.attempts}},
                    std::nullopt);
  }
  if (!source) {
    return feedback("no_candidate",
                    {{"reason", no_candidate_reason}, {"finish_reason", response.finish_reason}},
                    std::nullopt);
  }
  return std::nullopt;
}

}  // namespace kforge::agents

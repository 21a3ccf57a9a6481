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
  const LlmResponse& response = proposal.response;
  if (response.ok()) {
    ParsedReply parsed = parse_reply(response.text);
    std::string limit = "the answer stopped at its token limit (finish reason " +
                        response.finish_reason + "; raise llm.max_tokens)";
    if (response.truncated && parsed.source && !parsed.closed) {
      // The candidate runs into the cut: it would fail to compile for a reason the model never
      // wrote, and teach the strategy nothing.
      proposal.no_candidate_reason = "the candidate was cut off: " + limit;
    } else {
      proposal.source = std::move(parsed.source);
      proposal.no_candidate_reason = std::move(parsed.reason);
      if (!proposal.source && response.truncated)
        proposal.no_candidate_reason += " (" + limit + ")";
    }
  }
  return proposal;
}

namespace {

Feedback make_feedback(const Proposal& proposal, Outcome outcome, std::optional<Verdict> verdict,
                       nlohmann::json evidence, std::optional<double> speedup) {
  Feedback out;
  out.ask_id = proposal.ask.id;
  out.reply = proposal.response.text;
  out.source = proposal.source.value_or("");
  out.outcome = outcome;
  out.verdict = verdict;
  out.evidence = std::move(evidence);
  out.speedup = speedup;
  out.input_tokens = proposal.response.input_tokens;
  out.output_tokens = proposal.response.output_tokens;
  out.cost_usd = proposal.response.cost_usd;
  return out;
}

}  // namespace

Feedback Proposal::feedback(Verdict verdict, nlohmann::json evidence,
                            std::optional<double> speedup) const {
  return make_feedback(*this, Outcome::kJudged, verdict, std::move(evidence), speedup);
}

std::optional<Feedback> Proposal::feedback_without_candidate() const {
  if (!response.ok()) {
    return make_feedback(*this, Outcome::kLlmError, std::nullopt,
                         {{"status", std::string(llm_status_name(response.status))},
                          {"error", response.error},
                          {"http_status", response.http_status},
                          {"attempts", response.attempts}},
                         std::nullopt);
  }
  if (!source) {
    return make_feedback(
        *this, Outcome::kNoCandidate, std::nullopt,
        {{"reason", no_candidate_reason}, {"finish_reason", response.finish_reason}}, std::nullopt);
  }
  return std::nullopt;
}

}  // namespace kforge::agents

#include "agents/tuning_start.hpp"

#include "agents/response_parser.hpp"
#include "harness/util/strings.hpp"

namespace kforge::agents {
namespace {

using nlohmann::json;

// The JSON array a text holds: an array, or an object with a "points" array.
std::optional<json> points_in(std::string_view text) {
  json parsed = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_array())
    return parsed;
  if (parsed.is_object() && parsed.contains("points") && parsed["points"].is_array())
    return parsed["points"];
  return std::nullopt;
}

std::string defines_text(const TuningStartAsk& ask) {
  std::string text;
  for (const TuningDefine& define : ask.defines) {
    std::vector<std::string> values;
    for (int64_t value : define.values)
      values.push_back(std::to_string(value));
    text += "- " + define.name + ": " + strings::join(values, ", ") + " (default " +
            std::to_string(define.default_value) + ")\n";
  }
  return text;
}

std::string constraints_text(const TuningStartAsk& ask) {
  if (ask.constraints.empty())
    return "(none: every combination of the values is a point)\n";
  std::string text;
  for (const std::string& constraint : ask.constraints)
    text += "- `" + constraint + "`\n";
  return text;
}

std::string size_text(const TuningStartAsk& ask) {
  std::string product = std::to_string(ask.declared_points);
  if (ask.sampled)
    return "The defines' values make " + product +
           " combinations; the search covers a uniform sample of " +
           std::to_string(ask.valid_points) + " points that satisfy the constraints.";
  return "The defines' values make " + product + " combinations, of which " +
         std::to_string(ask.valid_points) + " satisfy the constraints.";
}

}  // namespace

Conversation tuning_start_conversation(const PromptLibrary& library, const TuningStartAsk& ask) {
  json example = json::object();
  for (const TuningDefine& define : ask.defines)
    example[define.name] = define.default_value;
  Conversation conversation;
  conversation.system = library.render("tune_system", {});
  conversation.messages.push_back(
      {"user", library.render("tune_start", {{"task_name", ask.task.name},
                                             {"task_source", ask.task.source},
                                             {"signature", ask.task.signature.dump(1)},
                                             {"gpu", gpu_description(ask.gpu)},
                                             {"file_name", ask.file_name},
                                             {"source", ask.source},
                                             {"defines", defines_text(ask)},
                                             {"constraints", constraints_text(ask)},
                                             {"size", size_text(ask)},
                                             {"count", std::to_string(ask.count)},
                                             {"example", json::array({example}).dump()}})});
  return conversation;
}

ParsedPoints parse_points_reply(std::string_view reply) {
  ParsedPoints parsed;
  if (strings::trim(reply).empty()) {
    parsed.reason = "the answer is empty";
    return parsed;
  }
  std::vector<FencedBlock> blocks = fenced_blocks(reply);
  // The last block with points: a model that revises itself puts the final list last.
  for (auto block = blocks.rbegin(); block != blocks.rend(); ++block) {
    if ((parsed.points = points_in(block->text)))
      return parsed;
  }
  if ((parsed.points = points_in(reply)))
    return parsed;
  size_t open = reply.find('[');
  size_t close = reply.rfind(']');
  if (open != std::string_view::npos && close != std::string_view::npos && close > open) {
    if ((parsed.points = points_in(reply.substr(open, close - open + 1))))
      return parsed;
  }
  parsed.reason = blocks.empty() ? "the answer holds no JSON list of points"
                                 : "the answer has " + std::to_string(blocks.size()) +
                                       " code block(s) but none holds a JSON list of points";
  return parsed;
}

TuningStartProposal propose_tuning_start(Provider& provider, const Conversation& conversation,
                                         const std::atomic<bool>* cancel) {
  LlmRequest request;
  request.conversation = conversation;
  request.cancel = cancel;
  TuningStartProposal proposal;
  proposal.response = provider.complete(request);
  const LlmResponse& response = proposal.response;
  if (!response.ok()) {
    proposal.failure = "the LLM request failed (" + std::string(llm_status_name(response.status)) +
                       "): " + response.error;
    return proposal;
  }
  ParsedPoints parsed = parse_points_reply(response.text);
  if (!parsed.points) {
    proposal.failure = parsed.reason;
    if (response.truncated)
      proposal.failure += " (the answer stopped at its token limit, finish reason " +
                          response.finish_reason + "; raise llm.max_tokens)";
    return proposal;
  }
  proposal.points = std::move(parsed.points);
  return proposal;
}

}  // namespace kforge::agents

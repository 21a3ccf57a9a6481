#include "agents/agent.hpp"

#include "harness/util/error.hpp"

namespace kforge::agents {
namespace {

constexpr std::string_view kNoCandidate = "no_candidate";
constexpr std::string_view kLlmError = "llm_error";

}  // namespace

std::string_view Feedback::result_name() const {
  switch (outcome) {
    case Outcome::kNoCandidate:
      return kNoCandidate;
    case Outcome::kLlmError:
      return kLlmError;
    case Outcome::kJudged:
      break;
  }
  return verdict ? verdict_name(*verdict) : "unknown";
}

nlohmann::json Feedback::to_json() const {
  nlohmann::json out = {{"ask_id", ask_id},
                        {"reply", reply},
                        {"source", source},
                        {"verdict", result_name()},
                        {"evidence", evidence},
                        {"input_tokens", input_tokens},
                        {"output_tokens", output_tokens},
                        {"cost_usd", cost_usd}};
  if (speedup)
    out["speedup"] = *speedup;
  if (!profile.empty())
    out["profile"] = profile;
  return out;
}

Feedback Feedback::from_json(const nlohmann::json& json) {
  Feedback feedback;
  feedback.ask_id = json.at("ask_id").get<std::string>();
  feedback.reply = json.value("reply", "");
  feedback.source = json.value("source", "");
  std::string result = json.at("verdict").get<std::string>();
  if (result == kNoCandidate) {
    feedback.outcome = Outcome::kNoCandidate;
  } else if (result == kLlmError) {
    feedback.outcome = Outcome::kLlmError;
  } else {
    feedback.verdict = verdict_from_name(result);
    if (!feedback.verdict)
      throw Error("a saved strategy state is damaged: the feedback for " + feedback.ask_id +
                  " has an unknown verdict \"" + result + "\"");
  }
  feedback.evidence = json.value("evidence", nlohmann::json::object());
  if (json.contains("speedup") && json["speedup"].is_number())
    feedback.speedup = json["speedup"].get<double>();
  if (json.contains("profile") && json["profile"].is_string())
    feedback.profile = json["profile"].get<std::string>();
  feedback.input_tokens = json.value("input_tokens", int64_t{0});
  feedback.output_tokens = json.value("output_tokens", int64_t{0});
  feedback.cost_usd = json.value("cost_usd", 0.0);
  return feedback;
}

}  // namespace kforge::agents

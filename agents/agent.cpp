#include "agents/agent.hpp"

namespace kforge::agents {

nlohmann::json Feedback::to_json() const {
  nlohmann::json out = {{"ask_id", ask_id},
                        {"reply", reply},
                        {"source", source},
                        {"verdict", verdict},
                        {"evidence", evidence},
                        {"input_tokens", input_tokens},
                        {"output_tokens", output_tokens},
                        {"cost_usd", cost_usd}};
  if (speedup)
    out["speedup"] = *speedup;
  return out;
}

Feedback Feedback::from_json(const nlohmann::json& json) {
  Feedback feedback;
  feedback.ask_id = json.at("ask_id").get<std::string>();
  feedback.reply = json.value("reply", "");
  feedback.source = json.value("source", "");
  feedback.verdict = json.at("verdict").get<std::string>();
  feedback.evidence = json.value("evidence", nlohmann::json::object());
  if (json.contains("speedup") && json["speedup"].is_number())
    feedback.speedup = json["speedup"].get<double>();
  feedback.input_tokens = json.value("input_tokens", int64_t{0});
  feedback.output_tokens = json.value("output_tokens", int64_t{0});
  feedback.cost_usd = json.value("cost_usd", 0.0);
  return feedback;
}

}  // namespace kforge::agents

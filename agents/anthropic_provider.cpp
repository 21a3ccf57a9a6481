// Anthropic Messages (POST {base}/messages, `x-api-key`, `anthropic-version`). Streaming:
// named events message_start (input tokens), content_block_delta (text_delta pieces),
// message_delta (stop reason, output tokens), message_stop (the end marker), ping, error.
// Extended thinking (model_family.hpp) adds thinking blocks (thinking_delta, signature_delta),
// which are the model's reasoning, not its answer, and are left out.
#include <memory>

#include "agents/wire_protocol.hpp"

namespace kforge::agents {
namespace {

using nlohmann::json;

// The API version this code was written against; Anthropic keeps old versions working.
constexpr const char* kAnthropicVersion = "2023-06-01";

class AnthropicProtocol final : public WireProtocol {
 public:
  std::string_view name() const override { return "anthropic"; }

  std::string url(const std::string& base_url) const override { return base_url + "/messages"; }

  json body(const LlmRequest& request, const RequestSettings& settings,
            bool stream) const override {
    json messages = json::array();
    for (const Message& message : request.conversation.messages)
      messages.push_back({{"role", message.role}, {"content", message.content}});
    const ModelSettings& model = settings.model;
    json body = {{"model", request.model}, {"messages", messages}};
    // Thinking tokens count against max_tokens, which must exceed the budget: the budget comes on
    // top of the answer's own limit. A thinking request takes no temperature but 1.
    if (model.thinking == "enabled") {
      body["thinking"] = {{"type", "enabled"}, {"budget_tokens", model.thinking_budget}};
      body["max_tokens"] = settings.max_tokens + model.thinking_budget;
    } else {
      if (model.thinking == "adaptive")
        body["thinking"] = {{"type", "adaptive"}};
      body["max_tokens"] = settings.max_tokens;
    }
    if (model.send_temperature && model.thinking == "off")
      body["temperature"] = settings.temperature;
    if (!model.reasoning_effort.empty())
      body["output_config"] = {{"effort", model.reasoning_effort}};
    if (!request.conversation.system.empty())
      body["system"] = request.conversation.system;
    if (stream)
      body["stream"] = true;
    return body;
  }

  bool is_truncated(std::string_view finish_reason) const override {
    return finish_reason == "max_tokens";
  }

  std::vector<std::pair<std::string, std::string>> headers(
      const std::string& api_key) const override {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"anthropic-version", kAnthropicVersion}};
    if (!api_key.empty())
      headers.emplace_back("x-api-key", api_key);
    return headers;
  }

  std::optional<std::string> parse_answer(const json& answer,
                                          LlmResponse& response) const override {
    if (!answer.is_object() || !answer.contains("content") || !answer["content"].is_array())
      return "the answer has no content array";
    response.text.clear();
    for (const json& block : answer["content"]) {
      if (block.is_object() && text(block, "type") == "text" && block.contains("text") &&
          block["text"].is_string())
        response.text += block["text"].get<std::string>();
    }
    if (answer.contains("stop_reason") && answer["stop_reason"].is_string())
      response.finish_reason = answer["stop_reason"].get<std::string>();
    if (answer.contains("usage") && answer["usage"].is_object()) {
      const json& usage = answer["usage"];
      response.input_tokens = integer(usage, "input_tokens", response.input_tokens);
      response.output_tokens = integer(usage, "output_tokens", response.output_tokens);
    }
    return std::nullopt;
  }

  void on_event(const SseEvent& event, StreamState& state) const override {
    json data = json::parse(event.data, nullptr, false);
    if (data.is_discarded() || !data.is_object()) {
      state.problem = {LlmStatus::kMalformed,
                       "a stream event (" + event.event + ") is not a JSON object"};
      return;
    }
    std::string type = data.contains("type") ? text(data, "type") : event.event;
    if (type == "message_start") {
      if (data.contains("message") && data["message"].is_object() &&
          data["message"].contains("usage") && data["message"]["usage"].is_object()) {
        const json& usage = data["message"]["usage"];
        state.input_tokens = integer(usage, "input_tokens", state.input_tokens);
        state.output_tokens = integer(usage, "output_tokens", state.output_tokens);
      }
    } else if (type == "content_block_delta") {
      if (data.contains("delta") && data["delta"].is_object() &&
          text(data["delta"], "type") == "text_delta" && data["delta"].contains("text") &&
          data["delta"]["text"].is_string()) {
        std::string piece = data["delta"]["text"].get<std::string>();
        state.text += piece;
        if (state.on_text != nullptr && *state.on_text && !piece.empty())
          (*state.on_text)(piece);
      }
    } else if (type == "message_delta") {
      if (data.contains("delta") && data["delta"].is_object() &&
          data["delta"].contains("stop_reason") && data["delta"]["stop_reason"].is_string())
        state.finish_reason = data["delta"]["stop_reason"].get<std::string>();
      if (data.contains("usage") && data["usage"].is_object())
        state.output_tokens = integer(data["usage"], "output_tokens", state.output_tokens);
    } else if (type == "message_stop") {
      state.done = true;
    } else if (type == "error") {
      // Mid-stream errors are overload or API errors: worth another attempt.
      state.problem = {LlmStatus::kServerError, "the stream reported: " + error_message(data)};
    }
  }

  std::string error_message(const json& body) const override {
    if (body.is_object() && body.contains("error") && body["error"].is_object() &&
        body["error"].contains("message") && body["error"]["message"].is_string())
      return body["error"]["message"].get<std::string>();
    return {};
  }

  bool says_unknown_model(long status, const json& body) const override { return status == 404; }

 private:
  // A string field, or "" when it is missing or not a string (json::value would throw for a
  // field of another type, and a server's answer is outside input).
  static std::string text(const json& object, const char* key) {
    if (object.contains(key) && object[key].is_string())
      return object[key].get<std::string>();
    return {};
  }

  static int64_t integer(const json& object, const char* key, int64_t fallback) {
    if (object.contains(key) && object[key].is_number_integer())
      return object[key].get<int64_t>();
    return fallback;
  }
};

}  // namespace

std::unique_ptr<WireProtocol> make_anthropic_protocol() {
  return std::make_unique<AnthropicProtocol>();
}

}  // namespace kforge::agents

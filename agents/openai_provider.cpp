// OpenAI Chat Completions (POST {base}/chat/completions), the protocol vLLM, SGLang,
// llama.cpp's server, Ollama and OpenRouter also serve. Streaming: `data:` chunks carrying
// choices[0].delta.content, ended by `data: [DONE]`; token usage arrives in a last chunk when
// stream_options.include_usage is set (local servers may send none: the tokens stay 0). Text in
// `reasoning_content` (vLLM's and SGLang's reasoning parsers) is the model's thinking, not its
// answer, and is left out. The limit, temperature and effort fields follow the model's family
// (model_family.hpp).
#include <memory>

#include "agents/wire_protocol.hpp"

namespace kforge::agents {
namespace {

using nlohmann::json;

class OpenAiProtocol final : public WireProtocol {
 public:
  std::string_view name() const override { return "openai"; }

  std::string url(const std::string& base_url) const override {
    return base_url + "/chat/completions";
  }

  json body(const LlmRequest& request, const RequestSettings& settings,
            bool stream) const override {
    json messages = json::array();
    if (!request.conversation.system.empty())
      messages.push_back({{"role", "system"}, {"content", request.conversation.system}});
    for (const Message& message : request.conversation.messages)
      messages.push_back({{"role", message.role}, {"content", message.content}});
    json body = {{"model", request.model}, {"messages", messages}};
    // Reasoning models refuse max_tokens and any temperature but their default (400).
    body[settings.model.token_field] = settings.max_tokens;
    if (settings.model.send_temperature)
      body["temperature"] = settings.temperature;
    if (!settings.model.reasoning_effort.empty())
      body["reasoning_effort"] = settings.model.reasoning_effort;
    if (stream) {
      body["stream"] = true;
      body["stream_options"] = {{"include_usage", true}};
    }
    return body;
  }

  // Local servers say "length" too (vLLM, SGLang, llama.cpp, Ollama).
  bool is_truncated(std::string_view finish_reason) const override {
    return finish_reason == "length";
  }

  std::vector<std::pair<std::string, std::string>> headers(
      const std::string& api_key) const override {
    if (api_key.empty())
      return {};
    return {{"Authorization", "Bearer " + api_key}};
  }

  std::optional<std::string> parse_answer(const json& answer,
                                          LlmResponse& response) const override {
    if (!answer.is_object() || !answer.contains("choices") || !answer["choices"].is_array() ||
        answer["choices"].empty())
      return "the answer has no choices";
    const json& choice = answer["choices"][0];
    const json* content = nullptr;
    if (choice.contains("message") && choice["message"].is_object() &&
        choice["message"].contains("content"))
      content = &choice["message"]["content"];
    if (content == nullptr || !(content->is_string() || content->is_null()))
      return "the answer's first choice has no message content";
    response.text = content->is_string() ? content->get<std::string>() : "";
    if (choice.contains("finish_reason") && choice["finish_reason"].is_string())
      response.finish_reason = choice["finish_reason"].get<std::string>();
    read_usage(answer, response.input_tokens, response.output_tokens);
    return std::nullopt;
  }

  void on_event(const SseEvent& event, StreamState& state) const override {
    if (event.data == "[DONE]") {
      state.done = true;
      return;
    }
    json chunk = json::parse(event.data, nullptr, false);
    if (chunk.is_discarded() || !chunk.is_object()) {
      state.problem = {LlmStatus::kMalformed, "a stream chunk is not JSON"};
      return;
    }
    if (chunk.contains("error")) {
      state.problem = {LlmStatus::kServerError, "the stream reported: " + error_message(chunk)};
      return;
    }
    read_usage(chunk, state.input_tokens, state.output_tokens);
    if (!chunk.contains("choices") || !chunk["choices"].is_array() || chunk["choices"].empty())
      return;
    const json& choice = chunk["choices"][0];
    if (choice.contains("delta") && choice["delta"].is_object()) {
      const json& delta = choice["delta"];
      if (delta.contains("content") && delta["content"].is_string()) {
        std::string piece = delta["content"].get<std::string>();
        state.text += piece;
        if (state.on_text != nullptr && *state.on_text && !piece.empty())
          (*state.on_text)(piece);
      }
    }
    if (choice.contains("finish_reason") && choice["finish_reason"].is_string())
      state.finish_reason = choice["finish_reason"].get<std::string>();
  }

  std::string error_message(const json& body) const override {
    if (body.is_object() && body.contains("error")) {
      const json& error = body["error"];
      if (error.is_object() && error.contains("message") && error["message"].is_string())
        return error["message"].get<std::string>();
      if (error.is_string())  // Ollama and llama.cpp write {"error": "..."}
        return error.get<std::string>();
    }
    return {};
  }

  bool says_unknown_model(long status, const json& body) const override {
    if (status == 404)
      return true;
    if (body.is_object() && body.contains("error") && body["error"].is_object()) {
      const json& error = body["error"];
      if (error.contains("code") && error["code"] == "model_not_found")
        return true;
    }
    return false;
  }

 private:
  static void read_usage(const json& object, int64_t& input, int64_t& output) {
    if (!object.contains("usage") || !object["usage"].is_object())
      return;
    const json& usage = object["usage"];
    if (usage.contains("prompt_tokens") && usage["prompt_tokens"].is_number_integer())
      input = usage["prompt_tokens"].get<int64_t>();
    if (usage.contains("completion_tokens") && usage["completion_tokens"].is_number_integer())
      output = usage["completion_tokens"].get<int64_t>();
  }
};

}  // namespace

std::unique_ptr<WireProtocol> make_openai_protocol() {
  return std::make_unique<OpenAiProtocol>();
}

}  // namespace kforge::agents

// What differs between LLM wire protocols, behind one interface, so that retries, caching and
// accounting (provider.cpp) are written once. Internal to agents/.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agents/http_client.hpp"
#include "agents/model_family.hpp"
#include "agents/provider.hpp"

namespace kforge::agents {

// What a stream has delivered so far.
struct StreamState {
  std::string text;
  std::string finish_reason;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  bool done = false;  // the protocol's end marker arrived
  // Set when an event is malformed or reports an error; the transfer is then aborted.
  std::optional<std::pair<LlmStatus, std::string>> problem;
  const TextCallback* on_text = nullptr;
};

// What one request sends besides its conversation: the answer's token limit and temperature
// (the request's own or the configured ones) and what the model accepts.
struct RequestSettings {
  int64_t max_tokens = 0;
  double temperature = 0;
  ModelSettings model;
};

class WireProtocol {
 public:
  virtual ~WireProtocol() = default;
  virtual std::string_view name() const = 0;
  virtual std::string url(const std::string& base_url) const = 0;
  // The request body, with the model already resolved in `request`; `model` says which of the
  // limit, temperature, effort and thinking fields the model takes.
  virtual nlohmann::json body(const LlmRequest& request, const RequestSettings& settings,
                              bool stream) const = 0;
  // Whether a finish reason says the answer stopped at its token limit.
  virtual bool is_truncated(std::string_view finish_reason) const = 0;
  // Every header but Content-Type; `api_key` may be empty (local servers need none).
  virtual std::vector<std::pair<std::string, std::string>> headers(
      const std::string& api_key) const = 0;
  // Fills text, finish reason and tokens from a whole JSON answer; a reason if it does not
  // have the protocol's shape.
  virtual std::optional<std::string> parse_answer(const nlohmann::json& answer,
                                                  LlmResponse& response) const = 0;
  // Takes one server-sent event into `state`.
  virtual void on_event(const SseEvent& event, StreamState& state) const = 0;
  // The provider's own message in an error body, if it has one.
  virtual std::string error_message(const nlohmann::json& body) const = 0;
  // Whether an error response says that the model does not exist (by status and error code).
  virtual bool says_unknown_model(long status, const nlohmann::json& body) const = 0;
};

std::unique_ptr<WireProtocol> make_openai_protocol();
std::unique_ptr<WireProtocol> make_anthropic_protocol();

}  // namespace kforge::agents

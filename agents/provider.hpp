// LLM providers: one interface, `Provider::complete`, and one implementation per wire protocol
// beside it (openai_provider.cpp: Chat Completions, which vLLM, SGLang, llama.cpp's server,
// Ollama and OpenRouter also speak; anthropic_provider.cpp: Messages). Retries, the response
// cache, token and cost accounting and the API key are handled here once for both protocols.
//
// Secrets: the API key is read from the environment variable the settings name, sent only as
// an HTTP header, and scrubbed from every error text; it never enters the cache key, the
// sanitized request JSON, logs or responses.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agents/model_family.hpp"
#include "harness/options/provider_settings.hpp"

namespace kforge::agents {

struct Message {
  std::string role;  // "user" or "assistant"
  std::string content;
};

// A system prompt and the turns that follow it.
struct Conversation {
  std::string system;
  std::vector<Message> messages;
};

struct LlmRequest {
  std::string model;  // empty: the provider's configured model
  Conversation conversation;
  std::optional<double> temperature;  // empty: the configured one
  std::optional<int64_t> max_tokens;  // empty: the configured one
  int64_t sample_index = 0;           // the i-th answer to this same prompt: part of the cache key
  // Set by another thread to give up at once (Ctrl-C): the request ends as kCancelled,
  // whether it is waiting for a slot, in flight or between retries.
  const std::atomic<bool>* cancel = nullptr;
};

// How one request ended. Only kOk carries an answer; the others are outcomes to record.
enum class LlmStatus {
  kOk,
  kAuthFailed,    // 401/403: bad or missing key (fatal for the run)
  kUnknownModel,  // 404 or a provider error naming the model (fatal for the run)
  kUnreachable,   // nothing listens at the base URL (fatal for the run)
  kBadRequest,    // another 4xx: the provider refused this request
  kRateLimited,   // 429 after all retries
  kServerError,   // 5xx after all retries
  kTimeout,       // connect or total time limit after all retries
  kDropped,       // the connection broke, or a stream ended before its end marker
  kMalformed,     // a 2xx body or stream event that is not the protocol's JSON
  kTooLarge,      // the answer exceeded the size limit
  kCancelled,     // the caller gave up (LlmRequest::cancel); nothing to record
};

std::string_view llm_status_name(LlmStatus status);
// The status `name` names (what llm_status_name gives); nullopt for any other text.
std::optional<LlmStatus> llm_status_named(std::string_view name);
// Statuses after which further requests cannot succeed either: the loop should stop the run.
bool llm_status_is_fatal(LlmStatus status);

struct LlmResponse {
  LlmStatus status = LlmStatus::kOk;
  std::string error;          // one line, key scrubbed; empty when kOk
  std::string text;           // the assistant's answer
  std::string finish_reason;  // as the provider says it: "stop", "length", "end_turn", ...
  bool truncated = false;     // the answer stopped at its token limit ("length", "max_tokens")
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  double cost_usd = 0;                   // at the configured prices; 0 for a cache hit
  std::chrono::milliseconds latency{0};  // all attempts and waits together
  int attempts = 0;                      // HTTP requests made (0 for a cache hit)
  long http_status = 0;                  // of the last attempt
  bool from_cache = false;
  std::string cache_key;        // hex; identifies the request and sample index
  nlohmann::json request_json;  // what was sent, without any secret: for the store

  bool ok() const { return status == LlmStatus::kOk; }
};

// Called with each piece of answer text as it streams in (for progress display).
using TextCallback = std::function<void(std::string_view text)>;

// Totals over every request a provider has answered (cache hits count as requests only).
struct UsageTotals {
  int64_t requests = 0;
  int64_t cache_hits = 0;
  int64_t failures = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  double cost_usd = 0;
};

class Provider {
 public:
  virtual ~Provider() = default;
  virtual std::string_view name() const = 0;
  virtual const ProviderSettings& settings() const = 0;
  // Sends the request (or answers from the cache), retrying retryable failures. Never throws
  // for what the server or network did; safe to call from several threads at once.
  virtual LlmResponse complete(const LlmRequest& request, const TextCallback& on_text = {}) = 0;
  virtual UsageTotals totals() const = 0;
};

// The registry of providers: name, help line.
struct ProviderKind {
  std::string_view name;
  std::string_view help;
};
std::span<const ProviderKind> provider_kinds();

// `api_key` is the key the caller read from the variable settings.api_key_env names (the CLI
// does; nothing below it reads the environment), sent in a header and never stored; empty:
// send no key. Throws Error for an unknown provider name (with the allowed list), or a missing
// base URL or model.
std::unique_ptr<Provider> make_provider(const ProviderSettings& settings, std::string api_key = {});

}  // namespace kforge::agents

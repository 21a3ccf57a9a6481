// The part of every provider that does not depend on the wire protocol: resolving settings,
// the API key, the response cache, retries with backoff, and token and cost accounting.
#include "agents/provider.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <semaphore>
#include <thread>

#include "agents/http_client.hpp"
#include "agents/wire_protocol.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/hash.hpp"
#include "harness/util/json_fields.hpp"
#include "harness/util/name_table.hpp"
#include "harness/util/strings.hpp"

namespace kforge::agents {
namespace {

// LlmStatus's one spelling: the names the store's llm_exchanges.status and messages hold.
constexpr std::array kLlmStatuses = std::to_array<std::pair<LlmStatus, std::string_view>>({
    {LlmStatus::kOk, "ok"},
    {LlmStatus::kAuthFailed, "auth_failed"},
    {LlmStatus::kUnknownModel, "unknown_model"},
    {LlmStatus::kUnreachable, "unreachable"},
    {LlmStatus::kBadRequest, "bad_request"},
    {LlmStatus::kRateLimited, "rate_limited"},
    {LlmStatus::kServerError, "server_error"},
    {LlmStatus::kTimeout, "timeout"},
    {LlmStatus::kDropped, "dropped"},
    {LlmStatus::kMalformed, "malformed"},
    {LlmStatus::kTooLarge, "too_large"},
    {LlmStatus::kCancelled, "cancelled"},
});

using nlohmann::json;

// The registry of providers, one row each.
struct ProviderRow {
  ProviderKind kind;
  std::unique_ptr<WireProtocol> (*make_protocol)();
};
const std::array kProviders = {
    ProviderRow{{"openai",
                 "OpenAI Chat Completions; also vLLM, SGLang, llama.cpp server, Ollama, "
                 "OpenRouter"},
                make_openai_protocol},
    ProviderRow{{"anthropic", "Anthropic Messages API"}, make_anthropic_protocol},
};

// Bump when the cached file's layout or the key's ingredients change.
constexpr std::string_view kCacheVersion = "kforge-llm-cache-v1";

std::string one_line(std::string text, size_t limit = 300) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t')
      c = ' ';
  }
  if (text.size() > limit)
    text = text.substr(0, limit) + "...";
  return text;
}

std::string replace_all(std::string text, const std::string& secret, std::string_view replacement) {
  if (secret.empty())
    return text;
  for (size_t at = text.find(secret); at != std::string::npos;
       at = text.find(secret, at + replacement.size()))
    text.replace(at, secret.size(), replacement);
  return text;
}

// A workspace row's values against the allowed ones (the configuration checks them too; this is
// for settings built in code).
void check_model_rule(const ModelRule& rule) {
  auto check = [&](const std::optional<std::string>& value, const char* field,
                   std::span<const std::string_view> allowed, bool empty_allowed) {
    if (!value || (empty_allowed && value->empty()))
      return;
    if (std::find(allowed.begin(), allowed.end(), *value) != allowed.end())
      return;
    std::vector<std::string> names(allowed.begin(), allowed.end());
    throw Error(strings::unknown_name_message(field, *value, names),
                std::string(kModelRulePrefix) + rule.pattern + "." + field);
  };
  check(rule.token_field, "token_field", token_field_names(), false);
  check(rule.reasoning_effort, "reasoning_effort", reasoning_effort_names(), true);
  check(rule.thinking, "thinking", thinking_names(), false);
  // Anthropic's floor for a thinking budget.
  if (rule.thinking_budget && *rule.thinking_budget < 1024)
    throw Error("a thinking budget must be at least 1024 tokens",
                std::string(kModelRulePrefix) + rule.pattern + ".thinking_budget");
}

bool retryable(LlmStatus status) {
  return status == LlmStatus::kRateLimited || status == LlmStatus::kServerError ||
         status == LlmStatus::kTimeout || status == LlmStatus::kDropped;
}

// Retry-After as delta-seconds; an HTTP date (rare from LLM APIs) falls back to backoff.
std::optional<std::chrono::milliseconds> retry_after(const HttpResponse& http) {
  auto found = http.headers.find("retry-after");
  if (found == http.headers.end())
    return std::nullopt;
  try {
    size_t used = 0;
    double seconds = std::stod(found->second, &used);
    if (used == found->second.size() && seconds >= 0)
      return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  } catch (const std::logic_error&) {
  }
  return std::nullopt;
}

class HttpProvider final : public Provider {
 public:
  HttpProvider(ProviderSettings settings, std::unique_ptr<WireProtocol> protocol,
               std::string api_key)
      : settings_(std::move(settings)),
        protocol_(std::move(protocol)),
        api_key_(std::move(api_key)),
        slots_(std::max(1, settings_.concurrency)) {}

  std::string_view name() const override { return protocol_->name(); }
  const ProviderSettings& settings() const override { return settings_; }

  UsageTotals totals() const override {
    std::lock_guard lock(totals_mutex_);
    return totals_;
  }

  LlmResponse complete(const LlmRequest& original, const TextCallback& on_text) override {
    auto started = std::chrono::steady_clock::now();
    LlmRequest request = original;
    if (request.model.empty())
      request.model = settings_.model;
    RequestSettings sent{.max_tokens = request.max_tokens.value_or(settings_.max_tokens),
                         .temperature = request.temperature.value_or(settings_.temperature),
                         .model = resolve_model_settings(request.model, settings_.model_rules)};
    std::string url = protocol_->url(settings_.base_url);
    json plain_body = protocol_->body(request, sent, false);

    LlmResponse response;
    response.request_json = {{"provider", std::string(protocol_->name())},
                             {"url", url},
                             {"sample_index", request.sample_index},
                             {"stream", settings_.stream},
                             {"body", plain_body}};
    // Streaming changes how the answer travels, not what it is: it is not part of the key.
    response.cache_key =
        sha256_hex_fields({kCacheVersion, protocol_->name(), url, plain_body.dump(),
                           std::to_string(request.sample_index)});
    if (read_cache(response)) {
      response.from_cache = true;
      response.truncated = protocol_->is_truncated(response.finish_reason);
      response.latency = elapsed_since(started);
      record(response);
      return response;
    }

    HttpRequest http_request;
    http_request.url = url;
    http_request.headers = protocol_->headers(api_key_);
    http_request.headers.emplace_back("Content-Type", "application/json");
    http_request.body =
        settings_.stream ? protocol_->body(request, sent, true).dump() : plain_body.dump();
    http_request.connect_timeout = settings_.connect_timeout;
    http_request.total_timeout = settings_.timeout;
    http_request.idle_timeout = settings_.idle_timeout;
    http_request.max_body_bytes = settings_.max_response_bytes;
    http_request.cancel = request.cancel;

    for (int attempt = 0;; ++attempt) {
      HttpResponse http = send_once(http_request, response, on_text);
      response.attempts = attempt + 1;
      response.http_status = http.status;
      if (response.ok() || !retryable(response.status) || attempt >= settings_.retries)
        break;
      if (!sleep_unless_cancelled(backoff(attempt, http), request.cancel)) {
        response.status = LlmStatus::kCancelled;
        response.error = "cancelled while waiting to retry";
        break;
      }
    }
    response.error = scrub(response.error);
    response.latency = elapsed_since(started);
    response.truncated = response.ok() && protocol_->is_truncated(response.finish_reason);
    if (response.ok()) {
      response.cost_usd = cost(response.input_tokens, response.output_tokens);
      write_cache(response);
    }
    record(response);
    return response;
  }

 private:
  // One HTTP attempt; fills `response` with its outcome.
  HttpResponse send_once(const HttpRequest& http_request, LlmResponse& response,
                         const TextCallback& on_text) {
    response.status = LlmStatus::kOk;
    response.error.clear();
    response.text.clear();
    response.finish_reason.clear();
    StreamState stream;
    stream.on_text = &on_text;
    SseParser parser([&](const SseEvent& event) {
      protocol_->on_event(event, stream);
      return !stream.problem.has_value() && !stream.done;
    });
    HttpResponse http;
    {
      while (!slots_.try_acquire_for(std::chrono::milliseconds(100))) {
        if (http_request.cancel != nullptr && http_request.cancel->load()) {
          response.status = LlmStatus::kCancelled;
          response.error = "cancelled while waiting for a free request slot";
          http.failure = TransportFailure::kCancelled;
          return http;
        }
      }
      if (settings_.stream)
        http = http_post(http_request, [&](std::string_view chunk) { return parser.feed(chunk); });
      else
        http = http_post(http_request);
      slots_.release();
    }
    std::string where = std::string(protocol_->name()) + " at " + settings_.base_url;
    auto fail = [&](LlmStatus status, const std::string& what) {
      response.status = status;
      response.error = one_line(what) + " (" + where + ", " + http.describe() + ")";
    };

    if (http.failure == TransportFailure::kCancelled) {
      response.status = LlmStatus::kCancelled;
      response.error = "cancelled";
      return http;
    }
    // A stream we stopped ourselves because its end marker or a bad event arrived.
    bool stopped_by_us = http.failure == TransportFailure::kAborted;
    if (!http.completed() && !stopped_by_us) {
      switch (http.failure) {
        case TransportFailure::kUnreachable:
          fail(LlmStatus::kUnreachable, "cannot reach the endpoint " + http_request.url);
          break;
        case TransportFailure::kTimeout:
          fail(LlmStatus::kTimeout, "no complete answer within the time limit");
          break;
        case TransportFailure::kTooLarge:
          fail(LlmStatus::kTooLarge, "the answer is larger than " +
                                         std::to_string(settings_.max_response_bytes) + " bytes");
          break;
        default:
          fail(LlmStatus::kDropped, "the connection broke before the answer was complete");
          break;
      }
      return http;
    }
    if (http.status < 200 || http.status >= 300) {
      json body = json::parse(http.body, nullptr, false);
      std::string message = body.is_discarded() ? "" : protocol_->error_message(body);
      if (message.empty())
        message = files::tail(http.body, 200);
      if (http.status == 401 || http.status == 403) {
        fail(LlmStatus::kAuthFailed,
             "the API key was refused" +
                 (settings_.api_key_env.empty()
                      ? std::string(" (no key is configured: set llm.api_key_env)")
                      : " (from $" + settings_.api_key_env + ")") +
                 ": " + message);
      } else if (http.status == 429) {
        fail(LlmStatus::kRateLimited, "rate limited: " + message);
      } else if (http.status >= 500) {
        fail(LlmStatus::kServerError, "server error: " + message);
      } else if (protocol_->says_unknown_model(http.status, body.is_discarded() ? json() : body)) {
        fail(LlmStatus::kUnknownModel,
             "unknown model '" + settings_.model + "' (or wrong llm.base_url path): " + message);
      } else {
        fail(LlmStatus::kBadRequest, "the request was refused: " + message);
      }
      return http;
    }
    if (settings_.stream) {
      if (stream.problem) {
        fail(stream.problem->first, stream.problem->second);
      } else if (!stream.done) {
        fail(LlmStatus::kDropped, "the stream ended before its end marker");
      } else {
        response.text = std::move(stream.text);
        response.finish_reason = stream.finish_reason;
        response.input_tokens = stream.input_tokens;
        response.output_tokens = stream.output_tokens;
      }
      return http;
    }
    json answer = json::parse(http.body, nullptr, false);
    if (answer.is_discarded()) {
      fail(LlmStatus::kMalformed, "the answer is not JSON");
    } else if (auto problem = protocol_->parse_answer(answer, response)) {
      fail(LlmStatus::kMalformed, *problem);
    }
    return http;
  }

  // Sleeps `wait` in short steps; false as soon as `cancel` is set.
  static bool sleep_unless_cancelled(std::chrono::milliseconds wait,
                                     const std::atomic<bool>* cancel) {
    auto until = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < until) {
      if (cancel != nullptr && cancel->load())
        return false;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(50), until - std::chrono::steady_clock::now()));
    }
    return cancel == nullptr || !cancel->load();
  }

  // Exponential backoff, jittered between half and all of the step; a server's Retry-After wins
  // when it asks for more.
  std::chrono::milliseconds backoff(int attempt, const HttpResponse& http) {
    int64_t ceiling = settings_.backoff_initial.count() << std::min(attempt, 20);
    ceiling = std::min<int64_t>(ceiling, settings_.backoff_max.count());
    int64_t wait = 0;
    {
      std::lock_guard lock(random_mutex_);
      wait = std::uniform_int_distribution<int64_t>(ceiling / 2,
                                                    std::max<int64_t>(ceiling, 1))(random_);
    }
    if (auto asked = retry_after(http))
      wait = std::max<int64_t>(wait, std::min(asked->count(), settings_.backoff_max.count()));
    return std::chrono::milliseconds(wait);
  }

  double cost(int64_t input_tokens, int64_t output_tokens) const {
    return (static_cast<double>(input_tokens) * settings_.price_input_per_mtok +
            static_cast<double>(output_tokens) * settings_.price_output_per_mtok) /
           1e6;
  }

  std::string scrub(std::string text) const {
    return replace_all(std::move(text), api_key_, "[redacted]");
  }

  std::optional<std::filesystem::path> cache_path(const std::string& key) const {
    if (!settings_.cache_dir)
      return std::nullopt;
    return *settings_.cache_dir / key.substr(0, 2) / (key + ".json");
  }

  // The cached answer to `response.cache_key` into `response`; false on a miss. A damaged cache
  // file (unreadable, not JSON, a field missing or of the wrong type) is a miss, not a failure:
  // the request is simply made again.
  bool read_cache(LlmResponse& response) const {
    auto path = cache_path(response.cache_key);
    std::error_code ignored;
    if (!path || !std::filesystem::exists(*path, ignored))
      return false;
    try {
      json cached = json::parse(files::read(*path), nullptr, false);
      JsonFields fields(cached, path->string());
      std::string text = fields.required<std::string>("text");
      std::string finish_reason = fields.optional<std::string>("finish_reason", "");
      int64_t input_tokens = fields.optional<int64_t>("input_tokens", 0);
      int64_t output_tokens = fields.optional<int64_t>("output_tokens", 0);
      response.text = std::move(text);
      response.finish_reason = std::move(finish_reason);
      response.input_tokens = input_tokens;
      response.output_tokens = output_tokens;
      return true;
    } catch (const Error&) {
      return false;
    }
  }

  void write_cache(const LlmResponse& response) const {
    auto path = cache_path(response.cache_key);
    if (!path)
      return;
    files::ensure_directory(path->parent_path());
    json entry = {{"text", response.text},
                  {"finish_reason", response.finish_reason},
                  {"input_tokens", response.input_tokens},
                  {"output_tokens", response.output_tokens},
                  {"latency_ms", response.latency.count()},
                  {"request", response.request_json}};
    files::write_atomic(*path, entry.dump(1));
  }

  void record(const LlmResponse& response) {
    std::lock_guard lock(totals_mutex_);
    totals_.requests += 1;
    totals_.cache_hits += response.from_cache ? 1 : 0;
    totals_.failures += response.ok() ? 0 : 1;
    if (!response.from_cache) {
      totals_.input_tokens += response.input_tokens;
      totals_.output_tokens += response.output_tokens;
      totals_.cost_usd += response.cost_usd;
    }
  }

  static std::chrono::milliseconds elapsed_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  }

  ProviderSettings settings_;
  std::unique_ptr<WireProtocol> protocol_;
  std::string api_key_;
  std::counting_semaphore<> slots_;
  mutable std::mutex totals_mutex_;
  UsageTotals totals_;
  std::mutex random_mutex_;
  std::mt19937_64 random_{std::random_device{}()};
};

}  // namespace

std::string_view llm_status_name(LlmStatus status) {
  return name_in(kLlmStatuses, status);
}

std::optional<LlmStatus> llm_status_named(std::string_view name) {
  return value_named(kLlmStatuses, name);
}

bool llm_status_is_fatal(LlmStatus status) {
  return status == LlmStatus::kAuthFailed || status == LlmStatus::kUnknownModel ||
         status == LlmStatus::kUnreachable;
}

ProviderSettings ProviderSettings::from_config_json(const json& values) {
  ProviderSettings settings;
  auto text = [&](const char* key, std::string& out) {
    if (values.contains(key) && values[key].is_string())
      out = values[key].get<std::string>();
  };
  auto number = [&](const char* key, auto& out) {
    if (values.contains(key) && values[key].is_number())
      out = values[key].get<std::remove_reference_t<decltype(out)>>();
  };
  text("llm.provider", settings.provider);
  text("llm.base_url", settings.base_url);
  text("llm.model", settings.model);
  text("llm.api_key_env", settings.api_key_env);
  number("llm.temperature", settings.temperature);
  number("llm.max_tokens", settings.max_tokens);
  number("llm.concurrency", settings.concurrency);
  number("llm.retries", settings.retries);
  number("llm.price_input_per_mtok", settings.price_input_per_mtok);
  number("llm.price_output_per_mtok", settings.price_output_per_mtok);
  if (values.contains("llm.timeout_s") && values["llm.timeout_s"].is_number())
    settings.timeout = std::chrono::milliseconds(
        static_cast<int64_t>(values["llm.timeout_s"].get<double>() * 1000));
  if (values.contains("llm.stream") && values["llm.stream"].is_boolean())
    settings.stream = values["llm.stream"].get<bool>();
  // llm.models.<pattern>.<field>: the pattern may hold dots ("gpt-4.1*"), a field never does.
  std::map<std::string, ModelRule> rules;
  for (const auto& [key, value] : values.items()) {
    if (key.rfind(kModelRulePrefix, 0) != 0)
      continue;
    size_t dot = key.rfind('.');
    if (dot <= kModelRulePrefix.size())
      continue;
    std::string pattern = key.substr(kModelRulePrefix.size(), dot - kModelRulePrefix.size());
    std::string field = key.substr(dot + 1);
    ModelRule& rule = rules[pattern];
    rule.pattern = pattern;
    rule.origin = "llm.models." + pattern;
    if (field == "token_field" && value.is_string())
      rule.token_field = value.get<std::string>();
    else if (field == "temperature" && value.is_boolean())
      rule.send_temperature = value.get<bool>();
    else if (field == "reasoning_effort" && value.is_string())
      rule.reasoning_effort = value.get<std::string>();
    else if (field == "thinking" && value.is_string())
      rule.thinking = value.get<std::string>();
    else if (field == "thinking_budget" && value.is_number_integer())
      rule.thinking_budget = value.get<int64_t>();
  }
  for (auto& [pattern, rule] : rules)
    settings.model_rules.push_back(std::move(rule));
  return settings;
}

std::span<const ProviderKind> provider_kinds() {
  static const std::vector<ProviderKind> kinds = [] {
    std::vector<ProviderKind> out;
    for (const ProviderRow& row : kProviders)
      out.push_back(row.kind);
    return out;
  }();
  return kinds;
}

std::unique_ptr<Provider> make_provider(const ProviderSettings& settings, std::string api_key) {
  const ProviderRow* row = nullptr;
  std::vector<std::string> names;
  for (const ProviderRow& candidate : kProviders) {
    names.emplace_back(candidate.kind.name);
    if (candidate.kind.name == settings.provider)
      row = &candidate;
  }
  if (row == nullptr)
    throw Error(strings::unknown_name_message("LLM provider", settings.provider, names),
                "llm.provider");
  if (settings.base_url.empty())
    throw Error("no LLM endpoint is configured: set llm.base_url or --base-url", "llm.base_url");
  if (settings.model.empty())
    throw Error("no LLM model is configured: set llm.model or --model", "llm.model");
  if (settings.concurrency < 1 || settings.retries < 0 || settings.max_tokens < 1)
    throw Error("llm.concurrency and llm.max_tokens must be at least 1, llm.retries at least 0",
                "llm.*");
  for (const ModelRule& rule : settings.model_rules)
    check_model_rule(rule);
  ProviderSettings resolved = settings;
  while (!resolved.base_url.empty() && resolved.base_url.back() == '/')
    resolved.base_url.pop_back();
  return std::make_unique<HttpProvider>(std::move(resolved), row->make_protocol(),
                                        std::move(api_key));
}

}  // namespace kforge::agents

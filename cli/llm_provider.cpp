#include "cli/llm_provider.hpp"

#include <cstdlib>
#include <string>

#include "harness/util/error.hpp"

namespace kforge::cli {

std::unique_ptr<agents::Provider> configured_provider(const Workspace& workspace,
                                                      const Config& config) {
  agents::ProviderSettings settings = agents::ProviderSettings::from_config_json(config.to_json());
  settings.cache_dir = workspace.cache_dir("llm");
  std::string api_key;
  if (!settings.api_key_env.empty()) {
    const char* value = std::getenv(settings.api_key_env.c_str());
    if (value == nullptr || *value == '\0')
      throw Error("the environment variable " + settings.api_key_env +
                      " that should hold the API key is not set",
                  "llm.api_key_env");
    api_key = value;
  }
  return agents::make_provider(settings, std::move(api_key));
}

void add_llm_flags(CLI::App& command, KeyFlagValues& values) {
  static const KeyFlag kLlmFlags[] = {
      {"--provider", "llm.provider", "LLM wire protocol: openai or anthropic"},
      {"--base-url", "llm.base_url", "endpoint up to the version, e.g. https://api.openai.com/v1"},
      {"--model", "llm.model", "model name as the endpoint knows it"},
      {"--api-key-env", "llm.api_key_env", "environment variable that holds the API key"},
      {"--temperature", "llm.temperature", "sampling temperature"},
      {"--concurrency", "llm.concurrency", "LLM requests in flight at once"},
      {"--answer-max-tokens", "llm.max_tokens", "most tokens one answer may have"},
      {"--llm-timeout", "llm.timeout_s", "time limit of one LLM request, in seconds"},
  };
  add_key_flags(command, kLlmFlags, values);
}

}  // namespace kforge::cli

// An LLM provider's settings (llm.*): plain settings whose defaults harness/config.cpp reads. They
// sit at the bottom of the layers so that the configuration table includes nothing above it;
// agents/provider.hpp includes it and defines its function.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/options/model_rule.hpp"

namespace kforge::agents {

struct ProviderSettings {
  std::string provider = "openai";  // a name from provider_names()
  std::string base_url;             // up to the version: "https://api.openai.com/v1"
  std::string model;
  std::string api_key_env;  // the variable holding the key; empty: send no key
  double temperature = 0.7;
  int64_t max_tokens = 8192;
  std::chrono::milliseconds timeout{std::chrono::seconds(600)};  // per attempt
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  // Nothing received for this long ends an attempt as a timeout (0: off). Generous, because
  // reasoning models may think for minutes before their first token.
  std::chrono::seconds idle_timeout{std::chrono::seconds(300)};
  int concurrency = 4;  // requests in flight at once through one provider
  int retries = 4;      // extra attempts after a retryable failure
  std::chrono::milliseconds backoff_initial{std::chrono::seconds(1)};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(60)};  // also caps Retry-After
  double price_input_per_mtok = 0;   // US dollars per million input tokens
  double price_output_per_mtok = 0;  // US dollars per million output tokens
  bool stream = true;
  size_t max_response_bytes = 32u << 20;
  std::optional<std::filesystem::path> cache_dir;  // no cache when empty
  // The workspace's [llm.models."PATTERN"] rows, over the built-in families
  // (agents/model_family.hpp).
  std::vector<ModelRule> model_rules;

  // From the llm.* keys of a configuration, flags already applied: pass Config::to_json() (a
  // flat object of dotted keys; llm.models.<pattern>.<field> become model_rules). Keys that are
  // absent keep the defaults above; the cache folder is the caller's to set.
  static ProviderSettings from_config_json(const nlohmann::json& values);
};

}  // namespace kforge::agents

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

}  // namespace kforge::cli

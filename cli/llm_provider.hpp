// The LLM provider a command talks to, from the [llm] keys of its configuration (flags already
// applied), with the workspace's response cache. The API key is read here, from the variable
// llm.api_key_env names, and handed to the provider; it is never stored. Used by every command
// that asks an LLM: optimize, nightly, tune --llm-start.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "agents/provider.hpp"
#include "cli/context.hpp"
#include "harness/config.hpp"
#include "harness/workspace.hpp"

namespace kforge::cli {

// An unset key variable, an unknown provider, or a missing base URL or model is an Error naming
// the key.
std::unique_ptr<agents::Provider> configured_provider(const Workspace& workspace,
                                                      const Config& config);

// The flags that set [llm] keys for one command (--provider, --base-url, --model, --api-key-env,
// --temperature, --concurrency, --answer-max-tokens, --llm-timeout); `values` must outlive
// `command`'s parsing.
void add_llm_flags(CLI::App& command, KeyFlagValues& values);

}  // namespace kforge::cli

// What each model accepts in a request, chosen by the model's name: which field carries the
// answer's token limit, whether a temperature is sent, the reasoning effort, Anthropic's extended
// thinking. Built-in rows (model_family.cpp, one table, docs/llm-models.md) cover the families
// that refuse what an ordinary chat model takes: OpenAI's reasoning models (o-series, GPT-5) answer
// 400 to `max_tokens` and to any temperature but 1; Claude Opus 4.7 refuses a temperature and a
// thinking budget. The workspace adds or overrides rows in kforge.toml:
//
//   [llm.models."gpt-5*"]
//   reasoning_effort = "high"
//   [llm.models."claude-sonnet-4-5*"]
//   thinking = "enabled"
//   thinking_budget = 16000
//
// A pattern is a glob over the whole model name (`*` any run of characters, `?` one). Every field
// is resolved on its own: the built-in rows that match, then the workspace's, each in order of
// specificity (a longer pattern wins), so a section that sets only the effort keeps the family's
// token field.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "harness/options/model_rule.hpp"

namespace kforge::agents {

// What one request to a model carries, after every matching row is applied.
struct ModelSettings {
  // The request field of the answer's token limit (OpenAI Chat Completions; Anthropic always
  // sends max_tokens): "max_tokens" or "max_completion_tokens".
  std::string token_field = "max_tokens";
  bool send_temperature = true;
  // OpenAI `reasoning_effort`, Anthropic `output_config.effort`; empty: not sent (the model's
  // own default).
  std::string reasoning_effort;
  // Anthropic extended thinking: "off", "enabled" (a fixed budget, `thinking_budget` tokens on top
  // of the answer's max tokens) or "adaptive" (the model decides; steer it with the effort).
  // A thinking request never carries a temperature.
  std::string thinking = "off";
  int64_t thinking_budget = 10000;
};

// The built-in rows, in the order they are documented.
std::span<const ModelRule> built_in_model_rules();

// Whether `name` matches the glob `pattern` (`*`, `?`; everything else literal).
bool model_pattern_matches(std::string_view pattern, std::string_view name);

// The settings for `model`: defaults, then the matching built-in rows, then the matching
// `workspace_rules`, each group from the least to the most specific pattern.
ModelSettings resolve_model_settings(std::string_view model,
                                     std::span<const ModelRule> workspace_rules);

}  // namespace kforge::agents

// One row of what a model accepts in a request ([llm.models."PATTERN"] in kforge.toml, or a
// built-in family of agents/model_family.cpp) and the allowed values of its fields: plain data at
// the bottom of the layers, so that the configuration table (harness/config.cpp) and the provider
// settings (provider_settings.hpp) name them without reaching up into agents/.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace kforge::agents {

// One row: a pattern and the fields it sets; an absent field leaves the value before it.
struct ModelRule {
  std::string pattern;
  std::optional<std::string> token_field;
  std::optional<bool> send_temperature;
  std::optional<std::string> reasoning_effort;
  std::optional<std::string> thinking;
  std::optional<int64_t> thinking_budget;
  std::string origin;  // "built-in" or where the workspace set it
};

// The allowed values of the text fields, for the configuration's checks and help.
inline constexpr std::array<std::string_view, 2> kTokenFieldNames = {"max_tokens",
                                                                     "max_completion_tokens"};
// OpenAI's levels and Anthropic's (which adds max); a model refuses a level it lacks with a 400.
// "" (not sent) is allowed too.
inline constexpr std::array<std::string_view, 7> kReasoningEffortNames = {
    "none", "minimal", "low", "medium", "high", "xhigh", "max"};
inline constexpr std::array<std::string_view, 3> kThinkingNames = {"off", "enabled", "adaptive"};

inline std::span<const std::string_view> token_field_names() {
  return kTokenFieldNames;
}
inline std::span<const std::string_view> reasoning_effort_names() {
  return kReasoningEffortNames;
}
inline std::span<const std::string_view> thinking_names() {
  return kThinkingNames;
}

// The configuration keys of a workspace row are `llm.models.<pattern>.<field>`, with these fields.
inline constexpr std::string_view kModelRulePrefix = "llm.models.";
inline constexpr std::array<std::string_view, 5> kModelRuleFields = {
    "token_field", "temperature", "reasoning_effort", "thinking", "thinking_budget"};
inline std::span<const std::string_view> model_rule_fields() {
  return kModelRuleFields;
}

}  // namespace kforge::agents

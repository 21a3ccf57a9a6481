#include "agents/model_family.hpp"

#include <algorithm>
#include <array>

namespace kforge::agents {
namespace {

ModelRule reasoning_family(std::string pattern) {
  return ModelRule{.pattern = std::move(pattern),
                   .token_field = "max_completion_tokens",
                   .send_temperature = false,
                   .origin = "built-in"};
}

// The built-in rows: the families whose servers refuse what kforge sends an ordinary chat model.
// Everything else gets ModelSettings' defaults (max_tokens, a temperature, no effort, no
// thinking), which local OpenAI-compatible servers (vLLM, SGLang, llama.cpp, Ollama) accept.
const std::vector<ModelRule>& rows() {
  static const std::vector<ModelRule> table = {
      // OpenAI reasoning models: 400 `unsupported_parameter` for max_tokens, 400
      // `unsupported_value` for a temperature other than 1.
      reasoning_family("o1*"),
      reasoning_family("o3*"),
      reasoning_family("o4*"),
      reasoning_family("gpt-5*"),
      // Claude Opus 4.7: "`temperature` is deprecated for this model" (400); it thinks only
      // adaptively, which the workspace turns on with thinking = "adaptive".
      ModelRule{.pattern = "claude-opus-4-7*", .send_temperature = false, .origin = "built-in"},
  };
  return table;
}

// Specificity of a pattern: its literal characters, then its length.
std::pair<size_t, size_t> specificity(const std::string& pattern) {
  size_t literal = static_cast<size_t>(
      std::count_if(pattern.begin(), pattern.end(), [](char c) { return c != '*' && c != '?'; }));
  return {literal, pattern.size()};
}

void apply(const ModelRule& rule, ModelSettings& settings) {
  if (rule.token_field)
    settings.token_field = *rule.token_field;
  if (rule.send_temperature)
    settings.send_temperature = *rule.send_temperature;
  if (rule.reasoning_effort)
    settings.reasoning_effort = *rule.reasoning_effort;
  if (rule.thinking)
    settings.thinking = *rule.thinking;
  if (rule.thinking_budget)
    settings.thinking_budget = *rule.thinking_budget;
}

void apply_matching(std::span<const ModelRule> rules, std::string_view model,
                    ModelSettings& settings) {
  std::vector<const ModelRule*> matching;
  for (const ModelRule& rule : rules) {
    if (model_pattern_matches(rule.pattern, model))
      matching.push_back(&rule);
  }
  std::stable_sort(matching.begin(), matching.end(), [](const ModelRule* a, const ModelRule* b) {
    return specificity(a->pattern) < specificity(b->pattern);
  });
  for (const ModelRule* rule : matching)
    apply(*rule, settings);
}

}  // namespace

std::span<const ModelRule> built_in_model_rules() {
  return rows();
}

bool model_pattern_matches(std::string_view pattern, std::string_view name) {
  // Iterative glob with one backtracking point, linear in practice.
  size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

ModelSettings resolve_model_settings(std::string_view model,
                                     std::span<const ModelRule> workspace_rules) {
  ModelSettings settings;
  apply_matching(rows(), model, settings);
  apply_matching(workspace_rules, model, settings);
  return settings;
}

}  // namespace kforge::agents

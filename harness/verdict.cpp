#include "harness/verdict.hpp"

#include <array>
#include <utility>

namespace kforge {
namespace {

constexpr std::array<std::pair<Verdict, std::string_view>, 9> kNames = {{
    {Verdict::kCompileError, "compile_error"},
    {Verdict::kPlanError, "plan_error"},
    {Verdict::kLaunchError, "launch_error"},
    {Verdict::kRuntimeError, "runtime_error"},
    {Verdict::kTimeout, "timeout"},
    {Verdict::kIncorrect, "incorrect"},
    {Verdict::kSuspicious, "suspicious"},
    {Verdict::kCorrect, "correct"},
    {Verdict::kCompiled, "compiled"},
}};

}  // namespace

std::string_view verdict_name(Verdict verdict) {
  for (const auto& [value, name] : kNames) {
    if (value == verdict)
      return name;
  }
  return "unknown";
}

std::optional<Verdict> verdict_from_name(std::string_view name) {
  for (const auto& [value, text] : kNames) {
    if (text == name)
      return value;
  }
  return std::nullopt;
}

}  // namespace kforge

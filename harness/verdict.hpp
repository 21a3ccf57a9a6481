// Every evaluation ends in exactly one verdict, stored with its evidence. A failed candidate
// is data, not an error.
#pragma once

#include <optional>
#include <string_view>

namespace kforge {

enum class Verdict {
  kCompileError,  // NVRTC rejected it, or a compile limit was hit
  kPlanError,     // the launch plan does not fit the signature or the limits
  kLaunchError,   // the driver refused a launch
  kRuntimeError,  // fault, illegal address, trap
  kTimeout,       // the watchdog ended it
  kIncorrect,     // ran, but the outputs are wrong (reason says how)
  kSuspicious,    // faster than physics allows, or behaves differently when timed
  kCorrect,       // verified on every seed and shape, and timed
  kCompiled,      // no GPU: it compiled and its plan fits; nothing ran, nothing is claimed
};

std::string_view verdict_name(Verdict verdict);  // "compile_error", ...
std::optional<Verdict> verdict_from_name(std::string_view name);

}  // namespace kforge

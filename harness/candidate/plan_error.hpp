// How a candidate that does not fit is reported. A malformed launch plan, an unknown name, an
// expression that overflows or a plan over the limits is data about the candidate (the verdict
// `plan_error`), not a broken tool, so it is not a kforge::Error: it is a PlanError, one line
// that names the file position (or plan element), the kernel, the argument and the expression.
//
// Inside harness/candidate/ the parsers throw PlanError; the entry points the rest of kforge
// calls (parse_candidate, bind_plan) catch it once and return a PlanResult, so a caller can never
// mistake a bad candidate for an infrastructure failure by forgetting a catch.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge {

// The message is made valid UTF-8 (a byte that is not becomes U+FFFD): it quotes the candidate,
// which may be any bytes, and it is stored as JSON, which must be UTF-8.
class PlanError : public std::runtime_error {
 public:
  explicit PlanError(const std::string& message)
      : std::runtime_error(strings::to_valid_utf8(message)) {}
  std::string message() const { return what(); }
};

// Either a value or the PlanError that prevented it.
template <typename T>
class PlanResult {
 public:
  PlanResult(T value) : state_(std::move(value)) {}
  PlanResult(PlanError error) : state_(std::move(error)) {}

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }

  // Asking for the value of a failed result is a programming error in kforge, not a bad
  // candidate: it throws kforge::Error carrying the plan error's text.
  const T& value() const& {
    if (!ok())
      throw Error("used the value of a failed result", error().message());
    return std::get<T>(state_);
  }
  T& value() & {
    if (!ok())
      throw Error("used the value of a failed result", error().message());
    return std::get<T>(state_);
  }
  T&& value() && {
    if (!ok())
      throw Error("used the value of a failed result", error().message());
    return std::get<T>(std::move(state_));
  }
  const PlanError& error() const {
    if (ok())
      throw Error("asked for the plan error of a result that succeeded");
    return std::get<PlanError>(state_);
  }

 private:
  std::variant<T, PlanError> state_;
};

}  // namespace kforge

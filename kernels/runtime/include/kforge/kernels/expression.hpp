// The launch plan's integer expressions, evaluated at launch time from the tensors actually
// passed: literals, names (scalars, defines), `name.shape[i]`, `name.numel`, + - * / %,
// parentheses, ceil_div(a, b), min(a, b), max(a, b); 64-bit, with overflow, division by zero and
// unknown names reported as a KernelError naming the expression.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace kforge::kernels {

struct ExpressionScope {
  // The value of a plain name (a scalar argument or a define); nullopt when unknown.
  std::function<std::optional<int64_t>(const std::string&)> value;
  // The shape of a tensor name; nullopt when it is not a tensor.
  std::function<std::optional<std::vector<int64_t>>(const std::string&)> shape;
};

int64_t evaluate_expression(const std::string& text, const ExpressionScope& scope);

}  // namespace kforge::kernels

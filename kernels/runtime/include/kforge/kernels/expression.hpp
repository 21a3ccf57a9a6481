// The launch plan's expression language, the one implementation kforge's candidate parser
// (harness/candidate/expression.hpp, which adds file positions and "did you mean") and this
// library share: integer literals; names of inputs, parameters, outputs, scratch buffers,
// integer scalars and defines; `NAME.shape[i]` (i a literal) and `NAME.numel` of tensors;
// `+ - * / %`, unary minus, parentheses; `ceil_div(a, b)`, `min(a, b)`, `max(a, b)`. Values are
// 64-bit signed integers; `/` and `%` truncate toward zero as in C (-7 / 2 is -3, -7 % 2 is -1),
// and ceil_div rounds toward positive infinity. Overflow, division or modulo by zero, an
// out-of-range shape index and a name that is not an integer are ExpressionFailures at the
// character where they happen.
//
// Names may contain dots (state_dict keys such as `conv.weight` or `layers.0.bias`); a final
// `.numel` or `.shape[i]` is always the attribute, never part of the name.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kforge::kernels {

// What a name in an expression stands for at one concrete shape.
struct NamedValue {
  enum class Kind { kTensor, kInteger, kFloat };
  Kind kind = Kind::kInteger;
  std::string role;            // "input", "parameter", "output", "scratch buffer", "define", ...
  std::vector<int64_t> shape;  // kTensor
  int64_t integer = 0;         // kInteger
  double real = 0;             // kFloat
  // False for a scalar whose value is not recorded: naming it is an error rather than a silent 0.
  bool has_value = true;
};

class ExpressionEnvironment {
 public:
  // The first definition of a name wins.
  void add(const std::string& name, NamedValue value);
  const NamedValue* find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, NamedValue, std::less<>> values_;
};

// Why an expression could not be parsed or evaluated, and where (a character offset into its
// text). `what` is complete; the other fields let a caller word two cases its own way: a name or
// function that does not exist ("did you mean" among `known`), and an unexpected character
// (shown here as printable ASCII or \xNN; the message is "unexpected '<c>'" + `suffix`).
struct ExpressionFailure {
  enum class Kind { kOther, kUnknownName, kUnknownFunction, kUnexpectedCharacter };
  Kind kind = Kind::kOther;
  size_t at = 0;
  std::string what;
  std::string unknown;             // kUnknownName, kUnknownFunction
  std::vector<std::string> known;  // kUnknownName, kUnknownFunction
  std::string suffix;              // kUnexpectedCharacter
};

class ExpressionTree {
 public:
  // Parses `text`; throws ExpressionFailure.
  static ExpressionTree parse(std::string text);
  // Parses a condition (a plan's `constraints`): the language above plus the comparisons
  // `== != < <= > >=` and the logical `&& || !`, with C's precedence and values (1 true, 0
  // false; && and || skip a right side that cannot change the result). Sizes never take them.
  static ExpressionTree parse_condition(std::string text);

  const std::string& text() const { return text_; }
  // The value at one shape; throws ExpressionFailure.
  int64_t evaluate(const ExpressionEnvironment& environment) const;
  // The name when the whole expression is a single name (`x`, `conv.weight`, `alpha`).
  std::optional<std::string> bare_name() const;
  // Every name the expression mentions, in order of appearance.
  std::vector<std::string> names() const;
  // The names it reads as values (not as NAME.shape[i] or NAME.numel), in order of appearance.
  std::vector<std::string> value_names() const;

  struct Node;

 private:
  std::string text_;
  std::shared_ptr<const Node> root_;
};

// Parses and evaluates `text` at once; a failure is a KernelError
// "<what> at column <n> (expression '<text>')".
int64_t evaluate_expression(const std::string& text, const ExpressionEnvironment& environment);
// The same for a condition (ExpressionTree::parse_condition): 1 when it holds, else 0.
int64_t evaluate_condition(const std::string& text, const ExpressionEnvironment& environment);

}  // namespace kforge::kernels

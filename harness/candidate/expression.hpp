// The launch plan's expression language (docs/candidate-format.md): integer literals;
// names of inputs, parameters, outputs, scratch buffers, integer scalar inputs and defines;
// `NAME.shape[i]` and `NAME.numel` of tensors; `+ - * / %`, unary minus, parentheses;
// `ceil_div(a, b)`, `min(a, b)`, `max(a, b)`. Values are 64-bit signed integers; `/` and `%`
// truncate toward zero as in C. Overflow, division or modulo by zero, an out-of-range shape
// index and a name that is not an integer are errors naming the expression and the position.
//
// Names may contain dots (state_dict keys such as `conv.weight` or `layers.0.bias`); a final
// `.numel` or `.shape[i]` is always the attribute, never part of the name.
//
// An expression is parsed once into a tree and evaluated against an ExpressionEnvironment (a
// signature at one concrete shape plus define values), as many times as there are shapes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/candidate/source_text.hpp"

namespace kforge {

// What a name in an expression or argument list stands for at one concrete shape.
struct NamedValue {
  enum class Kind { kTensor, kInteger, kFloat };
  Kind kind = Kind::kInteger;
  std::string role;            // "input", "parameter", "output", "scratch buffer", "define", ...
  std::vector<int64_t> shape;  // kTensor
  int64_t integer = 0;         // kInteger
  double real = 0;             // kFloat
  // False for a scalar input whose value the signature does not record: naming it is an error
  // rather than a silent 0.
  bool has_value = true;
};

class ExpressionEnvironment {
 public:
  // Later definitions of the same name are refused by the caller (plan_validation); here the
  // first one wins.
  void add(const std::string& name, NamedValue value);
  const NamedValue* find(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, NamedValue, std::less<>> values_;
};

class Expression {
 public:
  // Parses `text`. `context` names the expression's role in messages ("kernel 'k' grid[0]");
  // `origin` maps its characters to the candidate file (empty: no file). Throws PlanError
  // "<file:line:col>: launch plan: <context> \"<text>\": <what is wrong>" at the character
  // where parsing failed.
  static Expression parse(std::string text, std::string context, TextOrigin origin = {});

  const std::string& text() const { return text_; }
  const std::string& context() const { return context_; }

  // The value at one shape; throws PlanError naming the position of the failing part.
  int64_t evaluate(const ExpressionEnvironment& environment) const;
  // As evaluate, but a negative value is an error: for grid, block, shared bytes, numel.
  int64_t evaluate_size(const ExpressionEnvironment& environment) const;

  // Throws PlanError "<file:line:col of the expression>: <context> \"<text>\": <what>", for
  // checks made on the value by the caller (a grid dimension over its limit).
  [[noreturn]] void fail(const std::string& what) const;

  // The name when the whole expression is a single name (`x`, `conv.weight`, `alpha`): such an
  // argument may bind a tensor or a float scalar rather than an integer.
  std::optional<std::string> bare_name() const;
  // Every name the expression mentions, in order of appearance.
  std::vector<std::string> names() const;

  struct Node;

 private:
  std::string text_;
  std::string context_;
  TextOrigin origin_;
  std::shared_ptr<const Node> root_;
};

}  // namespace kforge

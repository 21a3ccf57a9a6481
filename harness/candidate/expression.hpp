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
// signature at one concrete shape plus define values), as many times as there are shapes. The
// parser and evaluator are the kernel library's (kforge/kernels/expression.hpp), the one
// implementation the shipped runtime uses too; this class adds the candidate's file positions,
// the expression's role in messages and "did you mean".
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/candidate/source_text.hpp"
#include "kforge/kernels/expression.hpp"
#include "kforge/kernels/located_json.hpp"

namespace kforge {

// The names an expression may use at one concrete shape: the shared model of the kernel library.
using NamedValue = kernels::NamedValue;
using ExpressionEnvironment = kernels::ExpressionEnvironment;

class Expression {
 public:
  // Parses `text`. `context` names the expression's role in messages ("kernel 'k' grid[0]");
  // `origin` maps its characters to the candidate file (empty: no file). Throws PlanError
  // "<file:line:col>: launch plan: <context> \"<text>\": <what is wrong>" at the character
  // where parsing failed.
  static Expression parse(std::string text, std::string context, TextOrigin origin = {});
  // As parse, for a condition: a plan's constraint, with comparisons and logical operators
  // (kernels::ExpressionTree::parse_condition); its value is 1 (holds) or 0.
  static Expression parse_condition(std::string text, std::string context, TextOrigin origin = {});
  // An expression the kernel library's plan reader (kforge/kernels/plan_reader.hpp) has parsed;
  // `source` is the file its offsets point into (null: none).
  static Expression from_plan(const kernels::PlanExpression& parsed,
                              const std::shared_ptr<const SourceText>& source);
  // Throws the PlanError, as parse words it, of an expression the plan reader could not parse.
  [[noreturn]] static void refuse(const kernels::PlanExpression& parsed,
                                  const std::shared_ptr<const SourceText>& source,
                                  const kernels::ExpressionFailure& failure);

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
  // The names it reads as values, not as NAME.shape[i] or NAME.numel.
  std::vector<std::string> value_names() const;

 private:
  static Expression parsed(std::string text, std::string context, TextOrigin origin,
                           bool condition);
  [[noreturn]] void fail_at(const kernels::ExpressionFailure& failure) const;

  std::string text_;
  std::string context_;
  TextOrigin origin_;
  kernels::ExpressionTree tree_;
};

}  // namespace kforge

#include "harness/candidate/expression.hpp"

#include "harness/candidate/plan_error.hpp"
#include "harness/util/strings.hpp"

namespace kforge {

using kernels::ExpressionFailure;

Expression Expression::parsed(std::string text, std::string context, TextOrigin origin,
                              bool condition) {
  Expression expression;
  expression.text_ = text;
  expression.context_ = std::move(context);
  expression.origin_ = std::move(origin);
  try {
    expression.tree_ = condition ? kernels::ExpressionTree::parse_condition(std::move(text))
                                 : kernels::ExpressionTree::parse(std::move(text));
  } catch (const ExpressionFailure& failure) {
    expression.fail_at(failure);
  }
  return expression;
}

Expression Expression::parse(std::string text, std::string context, TextOrigin origin) {
  return parsed(std::move(text), std::move(context), std::move(origin), false);
}

Expression Expression::parse_condition(std::string text, std::string context, TextOrigin origin) {
  return parsed(std::move(text), std::move(context), std::move(origin), true);
}

namespace {

// Where each character of a plan expression came from; no file when the reader had none.
TextOrigin origin_of(const kernels::PlanExpression& parsed,
                     const std::shared_ptr<const SourceText>& source) {
  TextOrigin origin;
  if (source && !parsed.offsets.empty()) {
    origin.source = source;
    origin.offsets = parsed.offsets;
  }
  return origin;
}

}  // namespace

Expression Expression::from_plan(const kernels::PlanExpression& parsed,
                                 const std::shared_ptr<const SourceText>& source) {
  Expression expression;
  expression.text_ = parsed.text;
  expression.context_ = parsed.context;
  expression.origin_ = origin_of(parsed, source);
  expression.tree_ = parsed.tree;
  return expression;
}

void Expression::refuse(const kernels::PlanExpression& parsed,
                        const std::shared_ptr<const SourceText>& source,
                        const ExpressionFailure& failure) {
  Expression expression;
  expression.text_ = parsed.text;
  expression.context_ = parsed.context;
  expression.origin_ = origin_of(parsed, source);
  expression.fail_at(failure);
}

int64_t Expression::evaluate(const ExpressionEnvironment& environment) const {
  try {
    return tree_.evaluate(environment);
  } catch (const ExpressionFailure& failure) {
    fail_at(failure);
  }
}

int64_t Expression::evaluate_size(const ExpressionEnvironment& environment) const {
  int64_t result = evaluate(environment);
  if (result < 0)
    fail("is " + std::to_string(result) + ", and a size cannot be negative");
  return result;
}

void Expression::fail(const std::string& what) const {
  fail_at({ExpressionFailure::Kind::kOther, 0, what, {}, {}, {}});
}

void Expression::fail_at(const ExpressionFailure& failure) const {
  std::string what = failure.what;
  switch (failure.kind) {
    case ExpressionFailure::Kind::kUnknownName:
      what = strings::unknown_name_message("name", failure.unknown, failure.known);
      break;
    case ExpressionFailure::Kind::kUnknownFunction:
      what = strings::unknown_name_message("function", failure.unknown, failure.known);
      break;
    case ExpressionFailure::Kind::kUnexpectedCharacter:
      what = "unexpected '" + strings::character_at(text_, failure.at) + "'" + failure.suffix;
      break;
    case ExpressionFailure::Kind::kOther:
      break;
  }
  std::string column;
  if (!origin_.source && failure.at > 0)
    column = " at column " + std::to_string(failure.at + 1);
  throw PlanError(origin_.where(failure.at) + ": " + context_ + " \"" + text_ + "\"" + column +
                  ": " + what);
}

std::optional<std::string> Expression::bare_name() const {
  return tree_.bare_name();
}

std::vector<std::string> Expression::names() const {
  return tree_.names();
}

std::vector<std::string> Expression::value_names() const {
  return tree_.value_names();
}

}  // namespace kforge

#include "harness/candidate/expression.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "harness/candidate/plan_error.hpp"

namespace kforge {
namespace {

ExpressionEnvironment environment() {
  ExpressionEnvironment env;
  env.add("x", {NamedValue::Kind::kTensor, "input", {16, 1000}, 0, 0});
  env.add("conv.weight", {NamedValue::Kind::kTensor, "parameter", {64, 3, 3, 3}, 0, 0});
  env.add("layers.0.bias", {NamedValue::Kind::kTensor, "parameter", {64}, 0, 0});
  env.add("huge", {NamedValue::Kind::kTensor, "input", {int64_t{1} << 40, int64_t{1} << 40}, 0, 0});
  env.add("BLOCK", {NamedValue::Kind::kInteger, "define", {}, 256, 0});
  env.add("alpha", {NamedValue::Kind::kFloat, "scalar input", {}, 0, 0.5});
  env.add("zero", {NamedValue::Kind::kInteger, "define", {}, 0, 0});
  return env;
}

int64_t value_of(const std::string& text) {
  return Expression::parse(text, "test").evaluate(environment());
}

// The PlanError message for parsing, or parsing and evaluating, `text`.
std::string error_of(const std::string& text, bool size = false) {
  try {
    Expression expression = Expression::parse(text, "kernel 'k' grid[0]");
    if (size)
      expression.evaluate_size(environment());
    else
      expression.evaluate(environment());
  } catch (const PlanError& error) {
    return error.what();
  }
  ADD_FAILURE() << "no error for " << text;
  return "";
}

TEST(CandidateExpression, SyntaxErrorsNameTheExpressionAndColumn) {
  EXPECT_EQ(error_of(""), "launch plan: kernel 'k' grid[0] \"\": empty expression");
  EXPECT_EQ(error_of("1 +"),
            "launch plan: kernel 'k' grid[0] \"1 +\" at column 4: expression ends where a value "
            "was expected");
  EXPECT_EQ(error_of("(1 + 2"), "launch plan: kernel 'k' grid[0] \"(1 + 2\": '(' is not closed");
  EXPECT_EQ(error_of("1 + 2)"),
            "launch plan: kernel 'k' grid[0] \"1 + 2)\" at column 6: ')' "
            "without a matching '('");
  EXPECT_EQ(error_of("1.5"),
            "launch plan: kernel 'k' grid[0] \"1.5\": only decimal integer "
            "literals are allowed");
  EXPECT_EQ(error_of("99999999999999999999"),
            "launch plan: kernel 'k' grid[0] \"99999999999999999999\": integer literal "
            "99999999999999999999 does not fit in 64 bits");
  EXPECT_EQ(error_of("x.shape"),
            "launch plan: kernel 'k' grid[0] \"x.shape\" at column 3: "
            "'.shape' needs an index: x.shape[i]");
  EXPECT_EQ(error_of("x.shape[i]"),
            "launch plan: kernel 'k' grid[0] \"x.shape[i]\" at column 9: "
            "shape index must be an integer literal");
  EXPECT_EQ(error_of("x.shape[-1]"),
            "launch plan: kernel 'k' grid[0] \"x.shape[-1]\" at column 9: shape index must be a "
            "non-negative integer literal");
  EXPECT_EQ(error_of("cel_div(1, 2)"),
            "launch plan: kernel 'k' grid[0] \"cel_div(1, 2)\": unknown function 'cel_div'; did "
            "you mean 'ceil_div'? (allowed: ceil_div, min, max)");
  EXPECT_EQ(error_of("min(1)"),
            "launch plan: kernel 'k' grid[0] \"min(1)\": min takes 2 "
            "arguments, not 1");
  EXPECT_EQ(error_of("max(1, 2, 3)"),
            "launch plan: kernel 'k' grid[0] \"max(1, 2, 3)\": max "
            "takes 2 arguments, not 3");
  EXPECT_EQ(error_of("+3"),
            "launch plan: kernel 'k' grid[0] \"+3\": unary '+' is not part of "
            "the language");
  EXPECT_EQ(error_of("2 ** 3"),
            "launch plan: kernel 'k' grid[0] \"2 ** 3\" at column 4: "
            "unexpected '*' where a value was expected");
  EXPECT_NE(error_of(std::string(200, '(') + "1" + std::string(200, ')')).find("nested more than"),
            std::string::npos);
}

TEST(CandidateExpression, EvaluationErrorsNameThePart) {
  EXPECT_EQ(error_of("x.shape[2]"),
            "launch plan: kernel 'k' grid[0] \"x.shape[2]\" at column 9: shape index 2 is out of "
            "range: 'x' has 2 dimensions");
  EXPECT_EQ(error_of("10 / (BLOCK - 256)"),
            "launch plan: kernel 'k' grid[0] \"10 / (BLOCK - 256)\" at column 4: division by "
            "zero: '(BLOCK - 256)' is 0");
  EXPECT_EQ(error_of("10 % zero"),
            "launch plan: kernel 'k' grid[0] \"10 % zero\" at column 4: "
            "modulo by zero: 'zero' is 0");
  EXPECT_EQ(error_of("ceil_div(x.numel, zero)"),
            "launch plan: kernel 'k' grid[0] \"ceil_div(x.numel, zero)\": ceil_div by zero: "
            "'zero' is 0");
  EXPECT_EQ(error_of("9223372036854775807 + 1"),
            "launch plan: kernel 'k' grid[0] \"9223372036854775807 + 1\" at column 21: "
            "'9223372036854775807 + 1' overflows 64-bit integers (9223372036854775807 + 1)");
  EXPECT_NE(error_of("x.numel * 9223372036854775807").find("overflows 64-bit integers"),
            std::string::npos);
  EXPECT_NE(error_of("-9223372036854775807 - 2").find("overflows"), std::string::npos);
  EXPECT_NE(error_of("(-9223372036854775807 - 1) / -1").find("overflows"), std::string::npos);
  EXPECT_EQ(error_of("huge.numel"),
            "launch plan: kernel 'k' grid[0] \"huge.numel\": "
            "'huge'.numel overflows 64-bit integers");
  EXPECT_EQ(error_of("BLOCKS"),
            "launch plan: kernel 'k' grid[0] \"BLOCKS\": unknown name "
            "'BLOCKS'; did you mean 'BLOCK'? (allowed: BLOCK, alpha, "
            "conv.weight, huge, layers.0.bias, x, zero)");
  EXPECT_EQ(error_of("x + 1"),
            "launch plan: kernel 'k' grid[0] \"x + 1\": 'x' is a tensor "
            "(input); use x.numel or x.shape[i] for its size");
  EXPECT_EQ(error_of("alpha * 2"),
            "launch plan: kernel 'k' grid[0] \"alpha * 2\": 'alpha' is a "
            "floating-point scalar input, and expressions are integers");
  EXPECT_EQ(error_of("BLOCK.shape[0]"),
            "launch plan: kernel 'k' grid[0] \"BLOCK.shape[0]\": 'BLOCK' is a define, not a "
            "tensor, so it has no .shape");
  EXPECT_EQ(error_of("BLOCK - 300", true),
            "launch plan: kernel 'k' grid[0] \"BLOCK - 300\": is "
            "-44, and a size cannot be negative");
}

TEST(CandidateExpression, ErrorsPointIntoTheFile) {
  auto source = std::make_shared<const SourceText>("kernel.cu", "line one\n  \"x.shape[3]\"\n");
  TextOrigin origin{source, {}};
  for (size_t i = 0; i <= 10; ++i)
    origin.offsets.push_back(12 + i);  // the expression starts after the quote on line 2
  Expression expression = Expression::parse("x.shape[3]", "kernel 'k' block[1]", origin);
  try {
    expression.evaluate(environment());
    FAIL();
  } catch (const PlanError& error) {
    EXPECT_EQ(std::string(error.what()),
              "kernel.cu:2:12: launch plan: kernel 'k' block[1] \"x.shape[3]\": shape index 3 is "
              "out of range: 'x' has 2 dimensions");
  }
}

TEST(CandidateExpression, EvaluatesTheLanguage) {
  EXPECT_EQ(value_of("42"), 42);
  EXPECT_EQ(value_of("1 + 2 * 3"), 7);
  EXPECT_EQ(value_of("(1 + 2) * 3"), 9);
  EXPECT_EQ(value_of("10 - 4 - 3"), 3);
  EXPECT_EQ(value_of("100 / 10 / 5"), 2);
  EXPECT_EQ(value_of("-7 / 2"), -3);  // truncation toward zero, as in C
  EXPECT_EQ(value_of("-7 % 2"), -1);
  EXPECT_EQ(value_of("--5"), 5);
  EXPECT_EQ(value_of("-(2 + 3) * 2"), -10);
  EXPECT_EQ(value_of("x.shape[0]"), 16);
  EXPECT_EQ(value_of("x.shape[ 1 ]"), 1000);
  EXPECT_EQ(value_of("x.numel"), 16000);
  EXPECT_EQ(value_of("conv.weight.shape[1] * conv.weight.numel"), 3 * 1728);
  EXPECT_EQ(value_of("layers.0.bias.numel"), 64);
  EXPECT_EQ(value_of("ceil_div(x.shape[1], BLOCK)"), 4);
  EXPECT_EQ(value_of("ceil_div(1024, BLOCK)"), 4);
  EXPECT_EQ(value_of("ceil_div(-7, 2)"), -3);
  EXPECT_EQ(value_of("ceil_div(7, -2)"), -3);
  EXPECT_EQ(value_of("ceil_div(-7, -2)"), 4);
  EXPECT_EQ(value_of("min(x.shape[0], 8) + max(BLOCK, 1024)"), 8 + 1024);
  EXPECT_EQ(value_of("min(max(1, 2), ceil_div(9, 2))"), 2);
  EXPECT_EQ(value_of("  BLOCK*2  "), 512);
  EXPECT_EQ(value_of("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(value_of("-9223372036854775807 - 1"), INT64_MIN);
}

TEST(CandidateExpression, ReportsNamesAndBareNames) {
  Expression bare = Expression::parse("conv.weight", "test");
  EXPECT_EQ(bare.bare_name(), "conv.weight");
  EXPECT_EQ(Expression::parse("(x)", "test").bare_name(), "x");
  EXPECT_FALSE(Expression::parse("x.numel", "test").bare_name());
  EXPECT_EQ(Expression::parse("ceil_div(x.shape[0], BLOCK) + n", "test").names(),
            (std::vector<std::string>{"x", "BLOCK", "n"}));
}

// Conditions (a plan's constraints): comparisons and logical operators with C's precedence and
// values, && and || skipping a side that cannot matter; sizes never take them.
TEST(CandidateExpression, ConditionsCompareAndCombineAsC) {
  auto holds = [](const std::string& text) {
    return Expression::parse_condition(text, "constraint 1").evaluate(environment());
  };
  EXPECT_EQ(holds("BLOCK * 4 <= 1024"), 1);
  EXPECT_EQ(holds("BLOCK * 8 <= 1024"), 0);
  EXPECT_EQ(holds("x.shape[1] % 8 == 0"), 1);
  EXPECT_EQ(holds("x.shape[1] % 16 != 0"), 1);
  EXPECT_EQ(holds("BLOCK > 255 && BLOCK < 257"), 1);
  EXPECT_EQ(holds("BLOCK >= 512 || x.numel > 10000"), 1);
  EXPECT_EQ(holds("!(BLOCK == 256)"), 0);
  EXPECT_EQ(holds("!zero"), 1);
  // && binds tighter than ||, comparisons tighter than both, arithmetic tighter still.
  EXPECT_EQ(holds("1 || 0 && 0"), 1);
  EXPECT_EQ(holds("(1 || 0) && 0"), 0);
  EXPECT_EQ(holds("1 + 1 == 2"), 1);
  EXPECT_EQ(holds("1 < 2 == 1"), 1);  // (1 < 2) == 1, as in C
  EXPECT_EQ(holds("min(BLOCK > 1, 5)"), 1);
  // The right side is not evaluated when the left decides: no division by zero here.
  EXPECT_EQ(holds("zero != 0 && BLOCK / zero > 1"), 0);
  EXPECT_EQ(holds("zero == 0 || BLOCK / zero > 1"), 1);
  EXPECT_THROW(holds("zero == 0 && BLOCK / zero > 1"), PlanError);
  auto error = [](const std::string& text) {
    try {
      Expression::parse_condition(text, "constraint 1");
    } catch (const PlanError& failure) {
      return std::string(failure.what());
    }
    ADD_FAILURE() << "no error for " << text;
    return std::string();
  };
  EXPECT_EQ(
      error("BLOCK = 256"),
      "launch plan: constraint 1 \"BLOCK = 256\" at column 7: '=' is not an operator; write '=='");
  EXPECT_EQ(
      error("BLOCK & 1"),
      "launch plan: constraint 1 \"BLOCK & 1\" at column 7: '&' is not an operator; write '&&'");
  EXPECT_EQ(
      error("BLOCK | 1"),
      "launch plan: constraint 1 \"BLOCK | 1\" at column 7: '|' is not an operator; write '||'");
  EXPECT_EQ(error("BLOCK <"),
            "launch plan: constraint 1 \"BLOCK <\" at column 8: expression ends where a "
            "value was expected");
  // A size is no condition: the arithmetic language is unchanged.
  EXPECT_EQ(
      error_of("BLOCK < 4"),
      "launch plan: kernel 'k' grid[0] \"BLOCK < 4\" at column 7: unexpected '<' after a complete "
      "expression");
  EXPECT_EQ(
      error_of("!BLOCK"),
      "launch plan: kernel 'k' grid[0] \"!BLOCK\": unexpected '!' where a value was expected");
}

}  // namespace
}  // namespace kforge

// The KernelBench module's Python evaluates launch-plan expressions exactly as kforge does: one
// table of expressions (negative division and modulo, ceil_div, min/max, shapes, dotted names,
// division by zero, 64-bit overflow) through the kernel library's evaluator, kforge's candidate
// parser, and the generated Python run by a real python3 with torch; the three must agree.
// Regression: the Python used to divide with floor semantics (-7 / 2 == -4) where C truncates.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "datasets/export/kernelbench_module.hpp"
#include "harness/candidate/expression.hpp"
#include "harness/candidate/plan_error.hpp"
#include "harness/util/subprocess.hpp"
#include "kforge/kernels/error.hpp"
#include "kforge/kernels/expression.hpp"
#include "tests/support/export_store.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::dataset {
namespace {

constexpr const char* kPython = "/usr/bin/python3";

const std::vector<std::string> kTable = {
    "7 / 2",
    "-7 / 2",
    "7 / -2",
    "-7 / -2",
    "7 % 3",
    "-7 % 3",
    "7 % -3",
    "-7 % -3",
    "a / b",
    "a % b",
    "-a / b",
    "(a - 1) / 4 * 4",
    "a - a / 4 * 4",
    "ceil_div(a, b)",
    "ceil_div(7, -2)",
    "ceil_div(-7, -2)",
    "ceil_div(x.numel, 256)",
    "x.shape[1] / -3",
    "-x.shape[1] % 7",
    "min(a, b) % 5",
    "max(-x.shape[0], a) / 2",
    "conv.weight.shape[0] - 100 / -7 * BLOCK",
    "1 / 0",
    "a % (b - 2)",
    "9223372036854775807 + 1",
    "-9223372036854775807 - 1",
};

kernels::ExpressionEnvironment environment() {
  using Kind = kernels::NamedValue::Kind;
  kernels::ExpressionEnvironment names;
  names.add("a", {Kind::kInteger, "integer scalar input", {}, -7, 0, true});
  names.add("b", {Kind::kInteger, "integer scalar input", {}, 2, 0, true});
  names.add("BLOCK", {Kind::kInteger, "define", {}, 128, 0, true});
  names.add("x", {Kind::kTensor, "input", {5, 1000}, 0, 0, true});
  names.add("conv.weight", {Kind::kTensor, "parameter", {64, 3}, 0, 0, true});
  return names;
}

// Each expression's value, or "error".
nlohmann::json library_values() {
  nlohmann::json values = nlohmann::json::array();
  for (const std::string& text : kTable) {
    try {
      values.push_back(kernels::evaluate_expression(text, environment()));
    } catch (const kernels::KernelError&) {
      values.push_back("error");
    }
  }
  return values;
}

nlohmann::json candidate_parser_values() {
  nlohmann::json values = nlohmann::json::array();
  for (const std::string& text : kTable) {
    try {
      values.push_back(Expression::parse(text, "table").evaluate(environment()));
    } catch (const PlanError&) {
      values.push_back("error");
    }
  }
  return values;
}

nlohmann::json python_values() {
  CandidateRow row;
  row.candidate_id = 7;
  row.task_name = "kb1/19_ReLU";
  row.task_source = testing::relu_task_source();
  row.source = testing::relu_candidate("out[i] = x[i] > 0.f ? x[i] : 0.f;");
  row.plan = testing::kReluPlan;
  testing::TemporaryDirectory dir;
  testing::write_text(dir / "candidate_7.py", kernelbench_module(row));
  testing::write_text(dir / "table.json", nlohmann::json(kTable).dump());
  testing::write_text(
      dir / "check.py",
      "import json, sys, torch\n"
      "sys.path.insert(0, sys.argv[1])\n"
      "import candidate_7 as m\n"
      "names = {'a': -7, 'b': 2, 'BLOCK': 128,\n"
      "         'x': m._KforgeSizes(torch.empty(5, 1000)),\n"
      "         m._kforge_mangle('conv.weight'): m._KforgeSizes(torch.empty(64, 3))}\n"
      "values = []\n"
      "for text in json.load(open(sys.argv[1] + '/table.json')):\n"
      "    try:\n"
      "        values.append(m._kforge_evaluate(text, names))\n"
      "    except (ZeroDivisionError, OverflowError):\n"
      "        values.append('error')\n"
      "print(json.dumps(values))\n");
  ProcessSpec run;
  run.program = kPython;
  run.arguments = {(dir / "check.py").string(), dir.path().string()};
  ProcessResult result = run_process(run);
  EXPECT_TRUE(result.succeeded()) << result.standard_error;
  return nlohmann::json::parse(result.standard_output);
}

TEST(ExportKernelBenchExpressions, PythonAgreesWithKforgeOnTheTable) {
  const nlohmann::json library = library_values();
  const nlohmann::json candidate = candidate_parser_values();
  const nlohmann::json python = python_values();
  ASSERT_EQ(library.size(), kTable.size());
  ASSERT_EQ(python.size(), kTable.size());
  for (size_t i = 0; i < kTable.size(); ++i) {
    EXPECT_EQ(candidate[i], library[i]) << kTable[i];
    EXPECT_EQ(python[i], library[i]) << kTable[i];
  }
  // The semantics themselves: C's truncation, and a ceil_div that rounds up.
  EXPECT_EQ(library[1], -3);   // -7 / 2
  EXPECT_EQ(library[5], -1);   // -7 % 3
  EXPECT_EQ(library[6], 1);    // 7 % -3
  EXPECT_EQ(library[13], -3);  // ceil_div(-7, 2)
  EXPECT_EQ(library[15], 4);   // ceil_div(-7, -2)
  EXPECT_EQ(library[22], "error");
  EXPECT_EQ(library[24], "error");
}

}  // namespace
}  // namespace kforge::dataset

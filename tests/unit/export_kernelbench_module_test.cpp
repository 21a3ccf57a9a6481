// The generated KernelBench module is valid Python, carries the plan's launches, and evaluates
// the launch plan correctly with the real torch (on CPU: compiling and launching needs a GPU
// and cupy, which this test does not claim to exercise).
#include "datasets/export/kernelbench_module.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/util/subprocess.hpp"
#include "tests/support/export_store.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::dataset {
namespace {

constexpr const char* kPython = "/usr/bin/python3";

CandidateRow relu_row() {
  CandidateRow row;
  row.candidate_id = 42;
  row.task_name = "kb1/19_ReLU";
  row.task_source = testing::relu_task_source();
  row.task_signature =
      R"({"inputs": [{"name": "x", "kind": "tensor", "dtype": "float32", "shape": [16, 4096]}],
          "parameters": [], "outputs": [{"name": "out", "dtype": "float32", "shape": [16, 4096]}],
          "output_structure": "tensor"})";
  row.source = testing::relu_candidate("out[i] = x[i] > 0.f ? x[i] : 0.f; // \"quoted\" '''");
  row.plan = testing::kReluPlan;
  row.defines = R"({"BLOCK": 128})";
  row.verdict = "correct";
  row.gpu = "NVIDIA H100";
  return row;
}

TEST(ExportKernelBenchModule, ReadsParameterKindsFromTheDeclaration) {
  std::string source =
      "// extern \"C\" __global__ void k(double wrong)\n"
      "extern \"C\" __global__ void k(const float* __restrict__ x, float* out, long n, int m,\n"
      "    float alpha, unsigned long long count, const __half* h, short s) {}";
  EXPECT_EQ(kernel_parameter_kinds(source, "k"),
            (std::vector<std::string>{"pointer", "pointer", "int64", "int32", "float32", "uint64",
                                      "pointer", "unknown:short"}));
  EXPECT_TRUE(kernel_parameter_kinds(source, "missing").empty());
  EXPECT_TRUE(kernel_parameter_kinds(source, "k(").empty());  // not an identifier: not searched
}

TEST(ExportKernelBenchModule, IsValidPythonAndEvaluatesThePlan) {
  testing::TemporaryDirectory dir;
  std::string module = kernelbench_module(relu_row());
  EXPECT_NE(module.find("class ModelNew(Model):"), std::string::npos);
  EXPECT_NE(module.find("relu_kernel"), std::string::npos);
  testing::write_text(dir / "candidate_42.py", module);

  ProcessSpec compile;
  compile.program = kPython;
  compile.arguments = {"-m", "py_compile", (dir / "candidate_42.py").string()};
  ProcessResult compiled = run_process(compile);
  ASSERT_TRUE(compiled.succeeded()) << compiled.standard_error;

  testing::write_text(dir / "check.py",
                      "import json, sys\nsys.path.insert(0, sys.argv[1])\n"
                      "import candidate_42 as m\n"
                      "model = m.ModelNew(*m.get_init_inputs())\n"
                      "launches, outputs = m.kforge_launch_plan(model, *m.get_inputs())\n"
                      "print(json.dumps([{'name': l['name'], 'grid': l['grid'], 'block': "
                      "l['block'], 'shared': l['shared_bytes'], 'args': [[k, v if k != "
                      "'pointer' else list(v.shape)] for k, v in l['arguments']]} for l in "
                      "launches] + [list(outputs[0].shape)]))\n");
  ProcessSpec run;
  run.program = kPython;
  run.arguments = {(dir / "check.py").string(), dir.path().string()};
  ProcessResult result = run_process(run);
  ASSERT_TRUE(result.succeeded()) << result.standard_error;
  nlohmann::json launches = nlohmann::json::parse(result.standard_output);
  ASSERT_EQ(launches.size(), 2u);
  // 16 x 4096 elements, BLOCK = 128 from the candidate's defines (not the plan's default 256).
  EXPECT_EQ(launches[0]["name"], "relu_kernel");
  EXPECT_EQ(launches[0]["grid"], nlohmann::json::array({512, 1, 1}));
  EXPECT_EQ(launches[0]["block"], nlohmann::json::array({128, 1, 1}));
  EXPECT_EQ(launches[0]["shared"], 0);
  EXPECT_EQ(launches[0]["args"],
            nlohmann::json::parse(R"([["pointer", [16, 4096]], ["pointer", [16, 4096]],
                                      ["int64", 65536]])"));
  EXPECT_EQ(launches[1], nlohmann::json::array({16, 4096}));
}

}  // namespace
}  // namespace kforge::dataset

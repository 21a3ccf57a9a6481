// Task programs and candidate files for the tests of the export passes that need no store (the
// tests that export a store build it through the evaluator: tests/support/evaluated_store.hpp).
#pragma once

#include <string>

namespace kforge::testing {

// The launch plan of relu_candidate, as the store keeps a candidate's plan.
inline constexpr const char* kReluPlan =
    R"json({"kernels": [{"name": "relu_kernel", "grid": ["ceil_div(x.numel, BLOCK)"], "block": ["BLOCK"], "shared_bytes": "0", "args": ["x", "out", "x.numel"]}], "scratch": [], "defines": {"BLOCK": {"default": 256, "values": [128, 256]}}})json";

// A KernelBench-style task program.
inline std::string relu_task_source(const std::string& size = "4096") {
  return "import torch\nimport torch.nn as nn\n\n\nclass Model(nn.Module):\n"
         "    def __init__(self):\n        super().__init__()\n\n"
         "    def forward(self, x):\n        return torch.relu(x)\n\n\n"
         "batch_size = 16\ndim = " +
         size +
         "\n\n\n"
         "def get_inputs():\n    return [torch.randn(batch_size, dim)]\n\n\n"
         "def get_init_inputs():\n    return []\n";
}

// A candidate file whose kernel body varies with `variant`.
inline std::string relu_candidate(const std::string& variant) {
  return "/* kforge:launch\n{\"kernels\": [{\"name\": \"relu_kernel\", \"grid\": "
         "[\"ceil_div(x.numel, BLOCK)\"], \"block\": [\"BLOCK\"], \"shared_bytes\": \"0\", "
         "\"args\": [\"x\", \"out\", \"x.numel\"]}], \"scratch\": [], \"defines\": {\"BLOCK\": "
         "{\"default\": 256, \"values\": [128, 256]}}}\n*/\n"
         "extern \"C\" __global__ void relu_kernel(const float* __restrict__ x, float* out, "
         "long n) {\n  long i = blockIdx.x * (long)blockDim.x + threadIdx.x;\n"
         "  if (i < n) {\n    " +
         variant + "\n  }\n}\n";
}

}  // namespace kforge::testing

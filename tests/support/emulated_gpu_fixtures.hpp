// What the tests of the run stage hand to the emulated GPU worker
// (tests/support/emulated_gpu_worker.py): a task small enough that a verification costs little,
// and candidates whose one kernel's name picks the worker's behaviour.
#pragma once

#include <string>

namespace kforge::testing {

// rows and cols scale down to check shapes (one of them off multiples of 32).
inline constexpr const char* kTinyReluTask = R"py(import torch
import torch.nn as nn

rows = 64
cols = 100


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.relu(x)


def get_inputs():
    return [torch.randn(rows, cols)]


def get_init_inputs():
    return []
)py";

// A candidate for kTinyReluTask whose one kernel is called `name`: the emulated worker's
// behaviour. The device code is an honest ReLU either way, so that NVRTC compiles and binds it
// for real.
inline std::string emulated_candidate(const std::string& name) {
  return "/* kforge:launch\n"
         "{\"kernels\": [{\"name\": \"" +
         name +
         "\", \"grid\": [\"ceil_div(x.numel, 128)\"], \"block\": [\"128\"],\n"
         "  \"shared_bytes\": \"0\", \"args\": [\"x\", \"out\", \"x.numel\"]}],\n"
         " \"scratch\": [], \"defines\": {}}\n*/\n"
         "extern \"C\" __global__ void " +
         name +
         "(const float* x, float* out, long long n) {\n"
         "  long long i = (long long)blockIdx.x * 128 + threadIdx.x;\n"
         "  if (i < n) out[i] = x[i] > 0.0f ? x[i] : 0.0f;\n}\n";
}

// A candidate for kTinyReluTask with a define space: a ReLU whose threads each do ITEMS elements,
// BLOCK threads a block (the emulated worker's `tiled_relu` times it by both): 6 x 5 = 30 points,
// of which BLOCK * ITEMS <= 4096 leaves 27. `marker` changes the source (and so its hash, the
// cache's key) without changing the kernel.
inline std::string tiled_candidate(const std::string& constraints, const std::string& marker = "") {
  return "// " + marker +
         "\n/* kforge:launch\n"
         "{\"kernels\": [{\"name\": \"tiled_relu\", \"grid\": [\"ceil_div(x.numel, BLOCK * "
         "ITEMS)\"],\n"
         "  \"block\": [\"BLOCK\"], \"shared_bytes\": \"0\", \"args\": [\"x\", \"out\", "
         "\"x.numel\"]}],\n"
         " \"scratch\": [],\n"
         " \"defines\": {\"BLOCK\": {\"default\": 128, \"values\": [32, 64, 128, 256, 512, "
         "1024]},\n"
         "             \"ITEMS\": {\"default\": 1, \"values\": [1, 2, 4, 8, 16]}},\n"
         " \"constraints\": " +
         constraints +
         "}\n*/\n"
         "extern \"C\" __global__ void tiled_relu(const float* x, float* out, long long n) {\n"
         "  long long base = (long long)blockIdx.x * BLOCK * ITEMS + threadIdx.x;\n"
         "  for (int k = 0; k < ITEMS; ++k) {\n"
         "    long long i = base + (long long)k * BLOCK;\n"
         "    if (i < n) out[i] = x[i] > 0.0f ? x[i] : 0.0f;\n"
         "  }\n"
         "}\n";
}

}  // namespace kforge::testing

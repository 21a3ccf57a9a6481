// Fixture for tests/unit/candidate_ptx_entries_test.cpp and candidate_kernel_declarations_test.cpp.
// parameters.ptx was generated from this file with:
//   /usr/local/cuda/bin/nvcc -ptx -arch=sm_90 parameters.cu -o parameters.ptx
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cstdint>

struct Pair {
  float a;
  double b;
};

extern "C" __global__ void __launch_bounds__(256)
    scale_rows(const float* __restrict__ x, float* out, long cols) {
  long row = blockIdx.x;
  for (long c = threadIdx.x; c < cols; c += blockDim.x)
    out[row * cols + c] = 2.0f * x[row * cols + c];
}

extern "C" __global__ void every_type(int a, unsigned b, long long c, size_t d, short e,
                                      char f, bool g, __half h, __nv_bfloat16 i, double j,
                                      float k, Pair p, float4 v, int8_t q) {}

extern "C" {
__global__ void no_parameters() {}
}

__global__ void mangled(float* x) {}

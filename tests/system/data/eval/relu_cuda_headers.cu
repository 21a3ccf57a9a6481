/* kforge:launch
{
  "kernels": [
    {"name": "relu", "grid": ["ceil_div(x.numel, BLOCK)"], "block": ["BLOCK"],
     "shared_bytes": "0", "args": ["x", "out", "x.numel"]}
  ],
  "defines": {"BLOCK": {"default": 256, "values": [128, 256]}}
}
*/
// A candidate that needs the CUDA headers NVRTC does not carry inside itself: the fp16 and
// bf16 headers (from the toolkit's include folder, or pip's nvidia/cu13/include) and CCCL.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda/std/cstdint>

extern "C" __global__ void relu(const float* x, float* out, long long n) {
  cuda::std::int64_t i = (cuda::std::int64_t)blockIdx.x * BLOCK + threadIdx.x;
  if (i < n) {
    const float zero = __half2float(__float2half(0.0f)) + __bfloat162float(__float2bfloat16(0.0f));
    out[i] = x[i] > zero ? x[i] : zero;
  }
}

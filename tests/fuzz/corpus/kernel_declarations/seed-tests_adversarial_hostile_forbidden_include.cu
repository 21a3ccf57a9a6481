// Hostile: tries to read a host file into the compile (its contents would land in the compiler
// log, which is stored and shown to agents). Includes are limited to CUDA and CCCL headers.
// Expected: compile_error (forbidden_include).
/* kforge:launch
{
  "kernels": [
    {"name": "relu_leak", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
#include "/etc/passwd"

extern "C" __global__ void relu_leak(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = fmaxf(x[i], 0.0f);
}

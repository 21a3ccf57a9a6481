// Hostile: a failing device-side assert (NVRTC provides `assert` without an include). The
// assertion message goes to the worker's stderr and the context is lost. Expected:
// runtime_error.
/* kforge:launch
{
  "kernels": [
    {"name": "relu_assert", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void relu_assert(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = fmaxf(x[i], 0.0f);
  assert(i != 0);
}

// Hostile: compiled with __launch_bounds__(128) and launched with 1024 threads per block: within
// the plan limits, but more than the compiled kernel accepts, so the driver would refuse the
// launch. Expected: plan_error (the bind stage reads the PTX's .maxntid).
/* kforge:launch
{
  "kernels": [
    {"name": "relu_bounded", "grid": ["ceil_div(x.numel, 1024)"], "block": [1024],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void __launch_bounds__(128) relu_bounded(const float* x, float* out,
                                                               long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = fmaxf(x[i], 0.0f);
}

// Hostile: an honest relu whose last thread also writes one element past the end of out. The
// address is inside the allocation's rounding, so no fault: only a guard zone after the output,
// checked after the launch, sees it. Expected: incorrect (out_of_bounds_write).
/* kforge:launch
{
  "kernels": [
    {"name": "relu_one_past", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void relu_one_past(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = fmaxf(x[i], 0.0f);
  if (i == n - 1)
    out[n] = 0.0f;
}

// Hostile: behaviour switched on %clock64, the SM's cycle counter: a warp that reads an odd
// 1024-cycle window copies x instead of applying relu. Time-dependent output, different at
// every launch. Expected: incorrect (mismatch, or non_deterministic where one repeat happens
// to be right).
/* kforge:launch
{
  "kernels": [
    {"name": "relu_by_clock", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void relu_by_clock(const float* x, float* out, long long n) {
  unsigned long long cycles;
  asm volatile("mov.u64 %0, %%clock64;" : "=l"(cycles));
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = ((cycles >> 10) & 1) ? x[i] : fmaxf(x[i], 0.0f);
}

// Hostile: behaviour switched on %smid, the SM a block happens to run on: blocks on
// even-numbered SMs apply relu, blocks on odd ones copy x (right only for non-negative
// elements). Which blocks land where changes from launch to launch. Expected: incorrect
// (mismatch, or non_deterministic where one repeat happens to be right).
/* kforge:launch
{
  "kernels": [
    {"name": "relu_by_sm", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void relu_by_sm(const float* x, float* out, long long n) {
  unsigned sm;
  asm volatile("mov.u32 %0, %%smid;" : "=r"(sm));
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = (sm & 1) ? x[i] : fmaxf(x[i], 0.0f);
}

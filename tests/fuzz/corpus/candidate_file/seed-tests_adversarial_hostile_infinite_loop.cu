// Hostile: never finishes: every thread spins on a flag nobody sets. Only the watchdog ends it.
// Expected: timeout.
/* kforge:launch
{
  "kernels": [
    {"name": "spin_forever", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
__device__ volatile int released;

extern "C" __global__ void spin_forever(const float* x, float* out, long long n) {
  while (!released) {
  }
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = fmaxf(x[i], 0.0f);
}

// Hostile: executes a trap instruction, which aborts the kernel and poisons the CUDA context.
// Expected: runtime_error (and the next candidate must still evaluate: a fresh worker).
/* kforge:launch
{
  "kernels": [
    {"name": "relu_then_trap", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void relu_then_trap(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = fmaxf(x[i], 0.0f);
  if (i == n / 2)
    __trap();
}

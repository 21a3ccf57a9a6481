// Hostile: writes every other element (half the traffic, looks like a 2x speedup); the odd
// elements are never written. Expected: incorrect (unwritten_output).
/* kforge:launch
{
  "kernels": [
    {"name": "relu_even_only", "grid": ["ceil_div(x.numel, 512)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void relu_even_only(const float* x, float* out, long long n) {
  long long i = 2 * ((long long)blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n)
    out[i] = fmaxf(x[i], 0.0f);
}

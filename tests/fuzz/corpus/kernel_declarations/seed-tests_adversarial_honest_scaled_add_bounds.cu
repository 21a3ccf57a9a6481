// Honest: a + alpha * b, one element per thread with a bounds check, alpha as a float scalar.
// Must get `correct`.
/* kforge:launch
{
  "kernels": [
    {"name": "scaled_add_bounds", "grid": ["ceil_div(a.numel, 256)"], "block": [256],
     "args": ["a", "b", "alpha", "out", "a.numel"]}
  ]
}
*/
extern "C" __global__ void scaled_add_bounds(const float* a, const float* b, float alpha,
                                             float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = a[i] + alpha * b[i];
}

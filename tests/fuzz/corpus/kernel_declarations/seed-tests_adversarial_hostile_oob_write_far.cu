// Hostile: computes relu, and thread 0 also writes 256 GiB past the end of out (an index
// computed from a wrong stride): an illegal address. Expected: runtime_error.
/* kforge:launch
{
  "kernels": [
    {"name": "relu_wild_store", "grid": ["ceil_div(x.numel, 256)"], "block": [256],
     "args": ["x", "out", "x.numel"]}
  ]
}
*/
extern "C" __global__ void relu_wild_store(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    out[i] = fmaxf(x[i], 0.0f);
  if (i == 0)
    out[n + (1LL << 36)] = 1.0f;
}
